-- Deployments: the durable queue. Queue fields are columns (claimed with a
-- lease); everything else is the document in `body`.
CREATE TABLE deployments (
    id BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment_id BLOB NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    lease_owner TEXT,
    lease_expires_at TEXT,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX deployments_queue ON deployments (status, created_at);
CREATE INDEX deployments_history ON deployments (environment_id, created_at);
-- At most one deployment runs per environment, whatever the number of workers.
CREATE UNIQUE INDEX deployments_one_running ON deployments (environment_id) WHERE status = 'RUNNING';

CREATE TABLE deployment_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id BLOB NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    environment_id BLOB NOT NULL,
    service_id BLOB,
    at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX deployment_logs_deployment ON deployment_logs (deployment_id, id);
CREATE INDEX deployment_logs_environment ON deployment_logs (environment_id, id);

-- Releases and stages use the shared resource shape.
CREATE TABLE releases (
    id BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id BLOB NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id BLOB,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (parent_id, name)
);
CREATE INDEX releases_listing ON releases (parent_id, created_at, id);

CREATE TABLE deployment_stages (
    id BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id BLOB NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id BLOB,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (parent_id, name)
);
CREATE INDEX deployment_stages_listing ON deployment_stages (parent_id, created_at, id);

-- What runs: one row per deployed service.
CREATE TABLE service_states (
    service_id BLOB PRIMARY KEY NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment_id BLOB NOT NULL,
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX service_states_environment ON service_states (environment_id);

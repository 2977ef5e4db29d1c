-- Deployments: the durable queue. Queue fields are columns (claimed with a
-- lease); everything else is the document in `body`.
CREATE TABLE deployments (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment_id UUID NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    lease_owner TEXT,
    lease_expires_at TIMESTAMPTZ,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX deployments_queue ON deployments (status, created_at);
CREATE INDEX deployments_history ON deployments (environment_id, created_at);
-- At most one deployment runs per environment, whatever the number of workers.
CREATE UNIQUE INDEX deployments_one_running ON deployments (environment_id) WHERE status = 'RUNNING';

CREATE TABLE deployment_logs (
    id BIGSERIAL PRIMARY KEY,
    deployment_id UUID NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    environment_id UUID NOT NULL,
    service_id UUID,
    at TIMESTAMPTZ NOT NULL,
    body JSONB NOT NULL
);
CREATE INDEX deployment_logs_deployment ON deployment_logs (deployment_id, id);
CREATE INDEX deployment_logs_environment ON deployment_logs (environment_id, id);

-- Releases and stages use the shared resource shape.
CREATE TABLE releases (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id UUID NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id UUID,
    name TEXT NOT NULL,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (parent_id, name)
);
CREATE INDEX releases_listing ON releases (parent_id, created_at, id);

CREATE TABLE deployment_stages (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id UUID NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id UUID,
    name TEXT NOT NULL,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (parent_id, name)
);
CREATE INDEX deployment_stages_listing ON deployment_stages (parent_id, created_at, id);

-- What runs: one row per deployed service.
CREATE TABLE service_states (
    service_id UUID PRIMARY KEY NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment_id UUID NOT NULL,
    body JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX service_states_environment ON service_states (environment_id);

-- Database servers registered with a cluster, for MANAGED databases. The
-- admin URL in the body is sealed before it gets here.
CREATE TABLE database_servers (
    id BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id BLOB NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id BLOB,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (parent_id, name)
);
CREATE INDEX database_servers_listing ON database_servers (parent_id, created_at, id);

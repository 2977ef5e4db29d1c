-- Database servers registered with a cluster, for MANAGED databases. The
-- admin URL in the body is sealed before it gets here.
CREATE TABLE database_servers (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id UUID NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id UUID,
    name TEXT NOT NULL,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (parent_id, name)
);
CREATE INDEX database_servers_listing ON database_servers (parent_id, created_at, id);

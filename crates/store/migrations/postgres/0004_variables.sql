-- Variables and database credentials use the shared resource shape. A
-- variable's parent is its project, environment or service; its name is its
-- key, unique under the parent. Secret values are sealed before they get here.
CREATE TABLE variables (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id UUID NOT NULL,
    kind TEXT NOT NULL DEFAULT '',
    uses_id UUID,
    name TEXT NOT NULL,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (parent_id, name)
);
CREATE INDEX variables_listing ON variables (parent_id, created_at, id);
CREATE INDEX variables_uses ON variables (uses_id);

-- Generated credentials of databases (the password sealed).
CREATE TABLE database_credentials (
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

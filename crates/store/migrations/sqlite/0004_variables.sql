-- Variables and database credentials use the shared resource shape. A
-- variable's parent is its project, environment or service; its name is its
-- key, unique under the parent. Secret values are sealed before they get here.
CREATE TABLE variables (
    id BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id BLOB NOT NULL,
    kind TEXT NOT NULL DEFAULT '',
    uses_id BLOB,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (parent_id, name)
);
CREATE INDEX variables_listing ON variables (parent_id, created_at, id);
CREATE INDEX variables_uses ON variables (uses_id);

-- Generated credentials of databases (the password sealed).
CREATE TABLE database_credentials (
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

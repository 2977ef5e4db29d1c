-- Resources: typed columns for keys and constraints, the document in `body`.
CREATE TABLE organizations (
    id UUID PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE clusters (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id UUID,
    name TEXT NOT NULL,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (parent_id, name)
);

CREATE TABLE container_registries (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id UUID,
    name TEXT NOT NULL,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (parent_id, name)
);

CREATE TABLE projects (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id UUID,
    name TEXT NOT NULL,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (parent_id, name)
);

CREATE TABLE environments (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id UUID REFERENCES clusters(id),
    name TEXT NOT NULL,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (parent_id, name)
);
CREATE INDEX environments_organization ON environments (organization_id);
CREATE INDEX environments_uses ON environments (uses_id);

CREATE TABLE services (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id UUID NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id UUID REFERENCES container_registries(id),
    name TEXT NOT NULL,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (parent_id, name)
);
CREATE INDEX services_organization ON services (organization_id);
CREATE INDEX services_uses ON services (uses_id);

CREATE TABLE api_tokens (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX api_tokens_organization ON api_tokens (organization_id);

-- Custom domains of services. The name is the domain itself, unique across
-- the whole installation: two services, even of different organizations,
-- cannot answer for one host. Dropped with their service.
CREATE TABLE custom_domains (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id UUID NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id UUID,
    name TEXT NOT NULL UNIQUE,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX custom_domains_listing ON custom_domains (parent_id, created_at, id);

-- The Terraform state of each Terraform service Slipway keeps the state of (sealed).
CREATE TABLE terraform_states (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id UUID NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id UUID,
    name TEXT NOT NULL,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- The run holding a Terraform service's state; the primary key makes taking it atomic.
CREATE TABLE terraform_locks (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id UUID NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id UUID,
    name TEXT NOT NULL,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- TLS certificates of the edge proxy by name: a host name, `@local-ca` (Slipway's
-- local CA) or `@acme-account` (the ACME account's credentials). The private
-- key in the body is sealed before it gets here.
CREATE TABLE certificates (
    id UUID PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    body JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

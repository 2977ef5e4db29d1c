-- Runs of jobs (lifecycle events, cron runs): the history, newest last.
CREATE TABLE job_runs (
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
CREATE INDEX job_runs_listing ON job_runs (parent_id, created_at, id);

-- What a job's last run published: one row per job.
CREATE TABLE job_outputs (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id UUID NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id UUID,
    name TEXT NOT NULL,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX job_outputs_listing ON job_outputs (parent_id, created_at, id);

-- Where each cron job's schedule stands (its next run): one row per cron job. `kind` is `armed`
-- while the schedule runs, empty while the job is stopped.
CREATE TABLE cron_states (
    id UUID PRIMARY KEY NOT NULL,
    organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id UUID NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id UUID,
    name TEXT NOT NULL,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX cron_states_armed ON cron_states (organization_id, kind);

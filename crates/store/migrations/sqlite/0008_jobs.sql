-- Runs of jobs (lifecycle events, cron runs): the history, newest last.
CREATE TABLE job_runs (
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
CREATE INDEX job_runs_listing ON job_runs (parent_id, created_at, id);

-- What a job's last run published: one row per job.
CREATE TABLE job_outputs (
    id BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id BLOB NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id BLOB,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX job_outputs_listing ON job_outputs (parent_id, created_at, id);

-- Where each cron job's schedule stands (its next run): one row per cron job. `kind` is `armed`
-- while the schedule runs, empty while the job is stopped.
CREATE TABLE cron_states (
    id BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    parent_id BLOB NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    uses_id BLOB,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX cron_states_armed ON cron_states (organization_id, kind);

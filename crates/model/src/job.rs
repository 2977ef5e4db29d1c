//! What jobs leave behind: their runs (a history with exit codes and logs) and the output variables a
//! run publishes for the services of later stages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::variable::StoredValue;
use crate::{Timestamp, short_id};

/// Where a job writes its output, inside its instance.
pub const OUTPUT_DIR: &str = "/qovery-output";
/// The output file: `{"KEY": {"value": "...", "sensitive": true|false}}`.
pub const OUTPUT_FILE: &str = "/qovery-output/qovery-output.json";
/// Largest output file accepted, in bytes.
pub const MAX_OUTPUT_LEN: usize = 256 * 1024;
/// Runs a job's history keeps (the newest).
pub const RUNS_KEPT: u32 = 200;
/// Log lines a run keeps in its history (the last ones).
pub const RUN_LOG_LINES: usize = 500;

/// Why a job ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum JobTrigger {
    /// The environment (or the job) was deployed: a lifecycle job's `on_start`.
    Start,
    /// Stopped: `on_stop`.
    Stop,
    /// Deleted: `on_delete`.
    Delete,
    /// Its cron schedule came due.
    Schedule,
    /// Asked to run now (`deployJob?forceEvent=CRON`).
    Forced,
}

/// How a run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum JobRunStatus {
    Running,
    Succeeded,
    Failed,
    /// Not run: its schedule came due while the previous run was still running, and the job forbids
    /// overlapping runs.
    Skipped,
}

/// One run of a job: from the start of its first attempt to the end of its last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRun {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub environment_id: Uuid,
    pub service_id: Uuid,
    pub trigger: JobTrigger,
    /// The release (image and variables) it ran.
    pub release_id: Uuid,
    /// The deployment it ran in (lifecycle events).
    #[serde(default)]
    pub deployment_id: Option<Uuid>,
    /// For scheduled runs: the time the schedule named.
    #[serde(default)]
    pub scheduled_for: Option<Timestamp>,
    pub status: JobRunStatus,
    /// Attempts made: 1, plus one per restart after a failure.
    pub attempts: u32,
    /// The exit code of the last attempt, once it exited.
    #[serde(default)]
    pub exit_code: Option<i64>,
    /// Why it failed, when it did.
    #[serde(default)]
    pub message: Option<String>,
    pub started_at: Timestamp,
    #[serde(default)]
    pub finished_at: Option<Timestamp>,
    /// The engine's instance of the current attempt, while it runs.
    #[serde(default)]
    pub instance: Option<String>,
    /// The last [`RUN_LOG_LINES`] lines it printed, secrets masked.
    #[serde(default)]
    pub logs: Vec<String>,
    /// The engine (server process) running it, and when it last said so: a run whose engine went
    /// silent is taken over by another one (or by the same server, restarted).
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub heartbeat_at: Option<Timestamp>,
}

/// Where a cron job's schedule stands: one record per cron job, kept by the scheduler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CronState {
    /// The same as the job's id.
    pub id: Uuid,
    pub organization_id: Uuid,
    pub environment_id: Uuid,
    pub service_id: Uuid,
    /// The release its runs run: the one last deployed.
    pub release_id: Uuid,
    /// When it runs next; `None` while the job is stopped (its schedule suspended).
    #[serde(default)]
    pub next_run_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

impl JobRun {
    /// The `kind` the store files a running run under, to find the runs a stopped server left.
    pub const RUNNING: &'static str = "running";
}

impl CronState {
    /// The `kind` the store files an armed schedule under, to list the armed ones.
    pub const ARMED: &'static str = "armed";
}

/// The id of the run a schedule makes for its occurrence `due`: the same for every scheduler that
/// sees it due, so that an occurrence is run once however many servers (or restarts) see it.
pub fn scheduled_run_id(job_id: Uuid, due: Timestamp) -> Uuid {
    Uuid::new_v5(&job_id, due.to_rfc3339_opts(chrono::SecondsFormat::Micros, true).as_bytes())
}

/// The first occurrence of the cron expression `expression` in time zone `timezone` strictly after
/// `after`. Five fields, or six with a leading seconds field.
pub fn next_run(expression: &str, timezone: &str, after: Timestamp) -> Result<Timestamp, String> {
    let tz: chrono_tz::Tz = timezone.parse().map_err(|_| format!("unknown time zone `{timezone}`"))?;
    let cron = croner::parser::CronParser::builder()
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(expression)
        .map_err(|e| format!("invalid cron expression `{expression}`: {e}"))?;
    let local = after.with_timezone(&tz);
    cron.find_next_occurrence(&local, false)
        .map(|next| next.with_timezone(&chrono::Utc))
        .map_err(|e| format!("`{expression}` has no occurrence after {after}: {e}"))
}

/// How many occurrences of `expression` fall in `(from, to)`, counted up to `cap`: the runs a
/// schedule missed while no scheduler ran.
pub fn occurrences_between(expression: &str, timezone: &str, from: Timestamp, to: Timestamp, cap: usize) -> usize {
    let mut count = 0;
    let mut at = from;
    while count < cap {
        match next_run(expression, timezone, at) {
            Ok(next) if next < to => {
                count += 1;
                at = next;
            }
            _ => break,
        }
    }
    count
}

/// One value a job published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputValue {
    /// The key as the job wrote it.
    pub key: String,
    /// Sealed when sensitive.
    pub value: StoredValue,
    pub sensitive: bool,
}

/// What a service's last successful run published: a job's output file, a Terraform service's
/// outputs. One record per service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobOutput {
    /// The same as the job's id: a job has one output.
    pub id: Uuid,
    pub organization_id: Uuid,
    pub environment_id: Uuid,
    pub service_id: Uuid,
    /// The run that wrote it.
    pub run_id: Uuid,
    pub values: Vec<OutputValue>,
    pub updated_at: Timestamp,
}

/// The name of the variable a job's output `key` becomes: `QOVERY_OUTPUT_JOB_Z<ID8>_<KEY>`.
pub fn output_variable(job_id: Uuid, key: &str) -> String {
    format!("QOVERY_OUTPUT_JOB_{}_{key}", short_id(job_id))
}

/// One entry of the output file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    value: serde_json::Value,
    #[serde(default)]
    sensitive: bool,
}

/// Reads a job's output file: a JSON object of `KEY: {"value": ..., "sensitive": bool}`. Keys must be
/// environment variable names; values strings, numbers or booleans. Returns `(key, value, sensitive)`
/// by key, or what is wrong with the file, for the user.
pub fn parse_output(bytes: &[u8]) -> Result<Vec<(String, String, bool)>, String> {
    if bytes.len() > MAX_OUTPUT_LEN {
        return Err(format!("{OUTPUT_FILE} is {} bytes; at most {MAX_OUTPUT_LEN} are read", bytes.len()));
    }
    let entries: BTreeMap<String, serde_json::Value> = serde_json::from_slice(bytes).map_err(|e| {
        format!("{OUTPUT_FILE} is not a JSON object of `\"KEY\": {{\"value\": \"...\", \"sensitive\": false}}`: {e}")
    })?;
    let mut out = Vec::with_capacity(entries.len());
    for (key, entry) in entries {
        if !crate::variable::is_env_name(&key) || key.len() > 200 {
            return Err(format!(
                "{OUTPUT_FILE}: `{key}` is not a variable name (letters, digits and `_`, not starting with a digit)"
            ));
        }
        let written: Written = serde_json::from_value(entry).map_err(|e| {
            format!("{OUTPUT_FILE}: `{key}` must be {{\"value\": \"...\", \"sensitive\": true|false}}: {e}")
        })?;
        let value = match written.value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            other => {
                return Err(format!(
                    "{OUTPUT_FILE}: the value of `{key}` must be a string, a number or a boolean, got {other}"
                ));
            }
        };
        out.push((key, value, written.sensitive));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_files_give_keys_values_and_sensitivity() {
        let parsed = parse_output(
            br#"{"DB_SEEDED": {"value": "yes", "sensitive": false}, "TOKEN": {"value": "s3cr3t", "sensitive": true},
                "COUNT": {"value": 3}}"#,
        )
        .unwrap();
        assert_eq!(
            parsed,
            vec![
                ("COUNT".to_owned(), "3".to_owned(), false),
                ("DB_SEEDED".to_owned(), "yes".to_owned(), false),
                ("TOKEN".to_owned(), "s3cr3t".to_owned(), true),
            ]
        );
    }

    #[test]
    fn invalid_output_files_say_what_is_wrong() {
        assert!(parse_output(b"not json").unwrap_err().contains("not a JSON object"));
        assert!(parse_output(br#"{"1BAD": {"value": "x"}}"#).unwrap_err().contains("`1BAD` is not a variable name"));
        assert!(parse_output(br#"{"K": "plain"}"#).unwrap_err().contains("`K` must be"));
        assert!(parse_output(br#"{"K": {"value": [1]}}"#).unwrap_err().contains("must be a string"));
        assert!(parse_output(br#"{"K": {"value": "x", "secret": true}}"#).unwrap_err().contains("`K` must be"));
        let big = vec![b' '; MAX_OUTPUT_LEN + 1];
        assert!(parse_output(&big).unwrap_err().contains("at most"));
    }

    fn at(text: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&chrono::Utc)
    }

    #[test]
    fn next_runs_follow_the_expression_in_its_time_zone() {
        let after = at("2026-03-01T10:00:30Z");
        assert_eq!(next_run("*/5 * * * *", "Etc/UTC", after).unwrap(), at("2026-03-01T10:05:00Z"));
        // A leading seconds field.
        assert_eq!(next_run("*/10 * * * * *", "Etc/UTC", after).unwrap(), at("2026-03-01T10:00:40Z"));
        // 09:00 in Paris is 08:00 UTC in winter.
        assert_eq!(next_run("0 9 * * *", "Europe/Paris", after).unwrap(), at("2026-03-02T08:00:00Z"));
        // Strictly after: an occurrence at `after` itself is not the next one.
        assert_eq!(next_run("0 * * * *", "Etc/UTC", at("2026-03-01T10:00:00Z")).unwrap(), at("2026-03-01T11:00:00Z"));
        assert!(next_run("0 9 * * *", "Mars/Olympus", after).is_err());
        assert!(next_run("61 * * * *", "Etc/UTC", after).is_err());
    }

    #[test]
    fn missed_occurrences_are_counted() {
        let (from, to) = (at("2026-03-01T10:00:00Z"), at("2026-03-01T10:10:00Z"));
        assert_eq!(occurrences_between("* * * * *", "Etc/UTC", from, to, 100), 9);
        assert_eq!(occurrences_between("* * * * *", "Etc/UTC", from, to, 3), 3);
        assert_eq!(occurrences_between("0 0 1 1 *", "Etc/UTC", from, to, 100), 0);
    }

    #[test]
    fn a_scheduled_run_id_names_one_occurrence_of_one_job() {
        let (job, other) = (crate::new_id(), crate::new_id());
        let due = at("2026-03-01T10:05:00Z");
        assert_eq!(scheduled_run_id(job, due), scheduled_run_id(job, due));
        assert_ne!(scheduled_run_id(job, due), scheduled_run_id(other, due));
        assert_ne!(scheduled_run_id(job, due), scheduled_run_id(job, at("2026-03-01T10:10:00Z")));
    }

    #[test]
    fn output_variables_are_named_after_the_job() {
        let id: Uuid = "909e13c8-1234-4abc-8def-0123456789ab".parse().unwrap();
        assert_eq!(output_variable(id, "DB_SEEDED"), "QOVERY_OUTPUT_JOB_Z909E13C8_DB_SEEDED");
    }
}

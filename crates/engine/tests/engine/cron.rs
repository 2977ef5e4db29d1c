//! Cron jobs on the real engine: they run on their schedule (seconds field included), keep a history
//! with exit codes and log lines, run at once when forced, skip an occurrence that would overlap the
//! run still going, and stop suspends the schedule.

use std::time::Duration;

use serde_json::json;
use slipway_model::deployment::{DeploymentAction, DeploymentStatus};
use slipway_model::job::{CronState, JobRun, JobRunStatus, JobTrigger};
use slipway_model::{Service, ServiceType};
use slipway_store::Filter;

use crate::support::{Harness, eventually, local_registry};

/// A cron job from the PostgreSQL image Slipway builds (for its shell) running `sh -c SCRIPT` on
/// `schedule`.
async fn cron_job(h: &Harness, name: &str, schedule: &str, script: &str) -> Service {
    h.add_service(
        ServiceType::Job,
        json!({
            "name": name, "cpu": 100, "memory": 64, "max_duration_seconds": 60,
            "source": {"image": {"image_name": "localhost/slipway/postgresql", "tag": "15", "registry_id": local_registry(h).await}},
            "schedule": {"cronjob": {"scheduled_at": schedule, "timezone": "Europe/Paris", "entrypoint": "/bin/sh", "arguments": ["-c", script]}},
        }),
    )
    .await
}

async fn runs_of(h: &Harness, job: &Service) -> Vec<JobRun> {
    let mut runs: Vec<JobRun> = h.store.list(h.org, Filter::parent(job.id)).await.unwrap();
    runs.sort_by_key(|r| r.started_at);
    runs
}

#[tokio::test]
async fn a_cron_job_runs_on_schedule_keeps_a_history_runs_when_forced_and_stop_suspends_it() {
    let h = Harness::new().await;
    let job = cron_job(&h, "tick", "*/2 * * * * *", "echo \"tick from $QOVERY_JOB_ID\"").await;
    let d = h.deploy(vec![]).await;
    assert_eq!(d.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&d).await);
    assert!(h.log_of(&d).await.iter().any(|l| l.message.contains("next run at")));

    // Two scheduled runs, each of its own occurrence (an even second), started when due.
    eventually("two scheduled runs succeed", Duration::from_secs(60), || async {
        let done = runs_of(&h, &job).await.into_iter().filter(|r| r.status == JobRunStatus::Succeeded).count();
        done >= 2
    })
    .await;
    let runs = runs_of(&h, &job).await;
    let scheduled: Vec<&JobRun> =
        runs.iter().filter(|r| r.trigger == JobTrigger::Schedule && r.status == JobRunStatus::Succeeded).collect();
    let mut due: Vec<_> = scheduled.iter().map(|r| r.scheduled_for.expect("a due time")).collect();
    due.dedup();
    assert_eq!(due.len(), scheduled.len(), "one run per occurrence: {runs:#?}");
    for run in &scheduled {
        let due = run.scheduled_for.unwrap();
        assert_eq!(due.timestamp() % 2, 0, "due on an even second: {due}");
        assert!(run.started_at >= due, "not started before it was due: {run:?}");
        assert!(run.started_at - due < chrono::Duration::seconds(10), "started when due: {run:?}");
        assert_eq!(run.exit_code, Some(0));
        assert_eq!(run.logs, [format!("tick from {}", job.id)]);
    }

    // Forced: runs now, recorded as forced.
    let forced = h.engine.force_run(&job).await.expect("a forced run");
    assert_eq!(forced.trigger, JobTrigger::Forced);
    eventually("the forced run succeeds", Duration::from_secs(30), || async {
        h.store.get::<JobRun>(h.org, forced.id).await.is_ok_and(|run| run.status == JobRunStatus::Succeeded)
    })
    .await;

    // Stopped: the schedule is suspended, and nothing runs any more.
    let stop = h.submit(DeploymentAction::Stop, vec![(job.id, None)]).await;
    assert_eq!(h.finish(&stop).await.status, DeploymentStatus::Succeeded);
    let state: CronState = h.store.get(h.org, job.id).await.unwrap();
    assert_eq!(state.next_run_at, None);
    eventually("no run is left running", Duration::from_secs(30), || async {
        runs_of(&h, &job).await.iter().all(|r| r.status != JobRunStatus::Running)
    })
    .await;
    let before = runs_of(&h, &job).await.len();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(runs_of(&h, &job).await.len(), before, "a stopped cron job does not run");
    let by_hand = h.engine.force_run(&job).await;
    assert!(by_hand.is_ok(), "a stopped job can still be run by hand: {by_hand:?}");

    // Deployed again: the schedule is back on.
    assert_eq!(h.deploy(vec![(job.id, None)]).await.status, DeploymentStatus::Succeeded);
    let state: CronState = h.store.get(h.org, job.id).await.unwrap();
    assert!(state.next_run_at.is_some());
}

#[tokio::test]
async fn an_occurrence_due_while_the_last_run_still_runs_is_skipped_and_failures_are_recorded() {
    let h = Harness::new().await;
    let job = cron_job(&h, "slow", "*/2 * * * * *", "echo working; sleep 5; echo giving up >&2; exit 4").await;
    assert_eq!(h.deploy(vec![]).await.status, DeploymentStatus::Succeeded);
    eventually("a run fails and an occurrence is skipped", Duration::from_secs(60), || async {
        let runs = runs_of(&h, &job).await;
        let failed = runs.iter().any(|r| r.status == JobRunStatus::Failed);
        let skipped = runs.iter().any(|r| r.status == JobRunStatus::Skipped);
        failed && skipped
    })
    .await;
    let runs = runs_of(&h, &job).await;
    let failed = runs.iter().find(|r| r.status == JobRunStatus::Failed).unwrap();
    assert_eq!(failed.exit_code, Some(4));
    assert_eq!(failed.logs, ["working", "giving up"]);
    assert!(failed.message.as_deref().unwrap_or_default().contains("exited with code 4"), "{failed:?}");
    let skipped = runs.iter().find(|r| r.status == JobRunStatus::Skipped).unwrap();
    let waited_on = runs.iter().find(|r| skipped.message.as_deref().unwrap_or_default().contains(&r.id.to_string()));
    assert!(waited_on.is_some(), "a skipped run names the run it waited on: {skipped:?}");
    // Never two at once.
    let mut spans: Vec<_> = runs
        .iter()
        .filter(|r| r.status != JobRunStatus::Skipped)
        .map(|r| (r.started_at, r.finished_at.unwrap_or_else(slipway_model::now)))
        .collect();
    spans.sort();
    assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "runs overlapped: {spans:?}");
    // Forcing a run while one runs is refused for a job that forbids overlaps.
    eventually("a run is in progress", Duration::from_secs(10), || async {
        runs_of(&h, &job).await.iter().any(|r| r.status == JobRunStatus::Running)
    })
    .await;
    let busy = h.engine.force_run(&job).await;
    assert!(matches!(busy, Err(slipway_engine::EngineError::Busy(_))), "{busy:?}");
}

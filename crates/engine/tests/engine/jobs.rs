//! Lifecycle jobs on the real engine: they run to completion in their stage, their output becomes
//! variables of the services of later stages, a failing one fails and rolls back the deployment, and
//! stop and delete run their events.

use serde_json::{Value, json};
use slipway_model::deployment::{DeploymentAction, DeploymentStatus, StepStatus};
use slipway_model::job::{JobOutput, JobRun, JobRunStatus, JobTrigger};
use slipway_model::{Service, ServiceType, short_id};
use slipway_store::Filter;

use crate::support::{Harness, client_app, database, local_registry, sh};

/// The image the jobs run: the PostgreSQL image Slipway builds, for its shell and `psql`.
const IMAGE: &str = "localhost/slipway/postgresql";
const TAG: &str = "15";

/// A lifecycle job from [`IMAGE`] whose events run `sh -c SCRIPT`.
async fn lifecycle_job(h: &Harness, name: &str, events: &[(&str, &str)], max_nb_restart: u32) -> Service {
    let mut schedule = serde_json::Map::new();
    for (event, script) in events {
        schedule.insert((*event).to_owned(), json!({"entrypoint": "/bin/sh", "arguments": ["-c", script]}));
    }
    h.add_service(
        ServiceType::Job,
        json!({
            "name": name, "cpu": 100, "memory": 128, "max_nb_restart": max_nb_restart, "max_duration_seconds": 120,
            "source": {"image": {"image_name": IMAGE, "tag": TAG, "registry_id": local_registry(h).await}},
            "schedule": Value::Object(schedule),
        }),
    )
    .await
}

async fn runs_of(h: &Harness, job: &Service) -> Vec<JobRun> {
    h.store.list(h.org, Filter::parent(job.id)).await.unwrap()
}

#[tokio::test]
async fn a_lifecycle_job_seeds_postgresql_before_the_app_stage_and_its_output_reaches_the_app() {
    let h = Harness::new().await;
    let pg = h.add_service(ServiceType::Database, database("pg", "POSTGRESQL", "15")).await;
    let url = format!("$QOVERY_POSTGRESQL_{}_DATABASE_URL_INTERNAL", short_id(pg.id));
    let seed = format!(
        r#"set -e
        for i in $(seq 60); do psql "{url}" -Atc 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done
        psql "{url}" -v ON_ERROR_STOP=1 -Atc "CREATE TABLE IF NOT EXISTS seeds (v text); INSERT INTO seeds VALUES ('seeded')"
        echo "seeded $(psql "{url}" -Atc 'SELECT count(*) FROM seeds') row(s)"
        printf '{{"SEEDED": {{"value": "yes", "sensitive": false}}, "API_TOKEN": {{"value": "tok-8d1f3a", "sensitive": true}}}}' \
            > /qovery-output/qovery-output.json"#
    );
    let job = lifecycle_job(&h, "seed", &[("on_start", &seed)], 0).await;
    let app = client_app(&h, "app", &format!("{IMAGE}:{TAG}")).await;

    let d = h.deploy(vec![]).await;
    assert_eq!(d.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&d).await);
    // The job ran in its stage, between the database's and the app's.
    let stage_of = |id| d.steps.iter().find(|s| s.service_id == id).unwrap().stage.clone();
    assert_eq!(
        [stage_of(pg.id), stage_of(job.id), stage_of(app.id)],
        ["DATABASE DEFAULT", "JOB DEFAULT", "CONTAINER DEFAULT"].map(str::to_owned)
    );

    // Its output reached the app, the sensitive value too; the seeded row is there.
    let z = short_id(job.id);
    let seen = sh(&h, &app, &format!("echo \"$QOVERY_OUTPUT_JOB_{z}_SEEDED:$QOVERY_OUTPUT_JOB_{z}_API_TOKEN\"")).await;
    assert_eq!(seen.trim(), "yes:tok-8d1f3a");
    let rows = sh(&h, &app, &format!(r#"psql "{url}" -Atc 'SELECT v FROM seeds'"#)).await;
    assert_eq!(rows.trim(), "seeded");

    // The run is in the job's history, with its exit code and output lines.
    let runs = runs_of(&h, &job).await;
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let run = &runs[0];
    assert_eq!(
        (run.trigger, run.status, run.exit_code, run.attempts),
        (JobTrigger::Start, JobRunStatus::Succeeded, Some(0), 1)
    );
    assert_eq!(run.deployment_id, Some(d.id));
    assert!(run.logs.iter().any(|l| l == "seeded 1 row(s)"), "{:?}", run.logs);
    // The sensitive value is sealed in the store and masked in the deployment's log.
    let outputs: Vec<JobOutput> = h.store.list(h.org, Filter::parent(job.id)).await.unwrap();
    let token = outputs[0].values.iter().find(|v| v.key == "API_TOKEN").unwrap();
    assert!(token.sensitive && !format!("{:?}", token.value).contains("tok-8d1f3a"));
    let log = h.log_of(&d).await;
    assert!(log.iter().any(|l| l.message.contains("seeded 1 row(s)")), "the job's output streams into the log");
    assert!(!log.iter().any(|l| l.message.contains("tok-8d1f3a")), "a sensitive output is masked");
    // The job's instance is gone once it ran.
    assert!(h.instances_of(&job).await.is_empty());
}

#[tokio::test]
async fn a_failing_lifecycle_job_is_restarted_then_fails_the_deployment_before_later_stages_switch() {
    let h = Harness::new().await;
    let web = client_app(&h, "web", &format!("{IMAGE}:{TAG}")).await;
    let job = lifecycle_job(&h, "migrate", &[("on_start", "echo migrating")], 1).await;
    let first = h.deploy(vec![]).await;
    assert_eq!(first.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&first).await);
    let before = h.store.service_states(h.org, Some(h.env.id)).await.unwrap();
    let web_release = before.iter().find(|s| s.service_id == web.id).unwrap().current_release;

    // The job now fails, and the environment's container changes: a deploy of both must not switch
    // the container (its stage comes after the job's) and must say why it failed.
    h.edit_service(&job, json!({"schedule": {"on_start": {"entrypoint": "/bin/sh", "arguments": ["-c", "echo cannot migrate >&2; exit 3"]}}})).await;
    h.edit_service(&web, json!({"memory": 96})).await;
    let second = h.deploy(vec![]).await;
    assert_eq!(second.status, DeploymentStatus::Failed);
    let error = second.error.clone().unwrap_or_default();
    assert!(error.contains("exited with code 3") && error.contains("cannot migrate"), "{error}");
    let step = |id| second.steps.iter().find(|s| s.service_id == id).unwrap().status;
    assert_eq!(step(job.id), StepStatus::Failed);
    assert_ne!(step(web.id), StepStatus::Done);
    let after = h.store.service_states(h.org, Some(h.env.id)).await.unwrap();
    assert_eq!(after.iter().find(|s| s.service_id == web.id).unwrap().current_release, web_release);

    // Restarted once (max_nb_restart: 1), then failed; both attempts are in the history.
    let runs = runs_of(&h, &job).await;
    let failed = runs.iter().find(|r| r.status == JobRunStatus::Failed).expect("a failed run");
    assert_eq!((failed.attempts, failed.exit_code), (2, Some(3)));
    assert!(failed.logs.iter().any(|l| l == "cannot migrate"), "{:?}", failed.logs);
}

#[tokio::test]
async fn a_database_switched_before_a_failing_job_is_rolled_back() {
    let h = Harness::new().await;
    let pg = h.add_service(ServiceType::Database, database("pg", "POSTGRESQL", "15")).await;
    let job = lifecycle_job(&h, "check", &[("on_start", "true")], 0).await;
    let first = h.deploy(vec![]).await;
    assert_eq!(first.status, DeploymentStatus::Succeeded, "{:#?}", h.log_of(&first).await);
    let states = h.store.service_states(h.org, Some(h.env.id)).await.unwrap();
    let pg_release = states.iter().find(|s| s.service_id == pg.id).unwrap().current_release;

    h.edit_service(&pg, json!({"memory": 320})).await;
    h.edit_service(&job, json!({"schedule": {"on_start": {"entrypoint": "/bin/sh", "arguments": ["-c", "exit 1"]}}}))
        .await;
    let second = h.deploy(vec![]).await;
    assert_eq!(second.status, DeploymentStatus::Failed);
    let pg_step = second.steps.iter().find(|s| s.service_id == pg.id).unwrap();
    assert_eq!(pg_step.status, StepStatus::RolledBack, "{:#?}", second.steps);
    let states = h.store.service_states(h.org, Some(h.env.id)).await.unwrap();
    assert_eq!(states.iter().find(|s| s.service_id == pg.id).unwrap().current_release, pg_release);
}

#[tokio::test]
async fn invalid_job_output_fails_the_run_saying_what_is_wrong() {
    let h = Harness::new().await;
    let job = lifecycle_job(
        &h,
        "bad-output",
        &[("on_start", r#"printf '{"K": "not an object"}' > /qovery-output/qovery-output.json"#)],
        0,
    )
    .await;
    let d = h.deploy(vec![]).await;
    assert_eq!(d.status, DeploymentStatus::Failed);
    let error = d.error.clone().unwrap_or_default();
    assert!(error.contains("invalid job output") && error.contains("`K` must be"), "{error}");
    let outputs: Vec<JobOutput> = h.store.list(h.org, Filter::parent(job.id)).await.unwrap();
    assert!(outputs.is_empty());
}

#[tokio::test]
async fn stop_and_delete_run_their_events_and_delete_forgets_the_output() {
    let h = Harness::new().await;
    let write = |event: &str| {
        format!(
            r#"echo "{event} ran"; printf '{{"LAST": {{"value": "{event}"}}}}' > /qovery-output/qovery-output.json"#
        )
    };
    let (start, stop, delete) = (write("start"), write("stop"), write("delete"));
    let job = lifecycle_job(&h, "events", &[("on_start", &start), ("on_stop", &stop), ("on_delete", &delete)], 0).await;
    assert_eq!(h.deploy(vec![]).await.status, DeploymentStatus::Succeeded);
    for action in [DeploymentAction::Stop, DeploymentAction::Delete] {
        let d = h.submit(action, vec![(job.id, None)]).await;
        let d = h.finish(&d).await;
        assert_eq!(d.status, DeploymentStatus::Succeeded, "{action:?}: {:#?}", h.log_of(&d).await);
    }
    let mut runs = runs_of(&h, &job).await;
    runs.sort_by_key(|r| r.started_at);
    let triggers: Vec<JobTrigger> = runs.iter().map(|r| r.trigger).collect();
    assert_eq!(triggers, [JobTrigger::Start, JobTrigger::Stop, JobTrigger::Delete]);
    assert!(runs.iter().all(|r| r.status == JobRunStatus::Succeeded));
    assert!(runs[1].logs.iter().any(|l| l == "stop ran"), "{:?}", runs[1].logs);
    let outputs: Vec<JobOutput> = h.store.list(h.org, Filter::parent(job.id)).await.unwrap();
    assert!(outputs.is_empty(), "a deleted job publishes nothing: {outputs:?}");
}

//! End-to-end deployments with the real binary, a real server and the
//! host's container engine: `slipway deploy`, `history`, `rollback`,
//! `releases`, `status`, `logs` and `stop` on an application built from a
//! local git repository, checked through the edge proxy.
//!
//! Needs a container engine answering the Docker API (`bash
//! scripts/setup-engine.sh`); the server finds it by itself.

#[allow(dead_code)]
mod support;

mod app;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use app::{Api, AppRepo, Sweep, browse, first_url};
use support::{Server, User};

/// `&str`s of `args`.
fn args(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The line of `table` that starts with `name`.
#[track_caller]
fn row<'a>(table: &'a str, name: &str) -> &'a str {
    table.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no `{name}` row in:\n{table}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_roll_back_fail_and_stop_an_application() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let [port, metrics_port] = support::free_ports();
    let metrics = format!("127.0.0.1:{metrics_port}");
    let server = Server::spawn(
        |cmd| cmd.args(["--listen", &format!("127.0.0.1:{port}"), "--metrics-listen", &metrics]),
        &[port],
    );
    let user = User::new();
    user.login(&server);
    user.run(&["project", "create", "shop"]).success();
    user.run(&["env", "create", "dev", "--project", "shop"]).success();
    let env = &user.run(&["env", "list", "--project", "shop", "-o", "json"]).json()[0];
    let env_id = env["id"].as_str().unwrap().to_owned();
    let sweep = Sweep { environment: env_id.clone() };
    let api = Api::new(server.url(), server.admin_token());
    let repo = AppRepo::new("one");
    api.post(&format!("/environment/{env_id}/application"), repo.application("web")).await;
    let place = ["--project", "shop", "--env", "dev"];
    let with =
        |args: &[&str]| -> Vec<String> { args.iter().chain(place.iter()).map(|s| (*s).to_owned()).collect::<Vec<_>>() };
    let run = |some: &[&str]| user.run(&args(&with(some)));

    // The first deployment: built from the repository's head, then served.
    let out = run(&["deploy"]).success();
    assert!(out.contains("Deploying environment `dev` of project `shop`"), "{out}");
    assert!(out.contains("[APPLICATION DEFAULT] web/build |"), "the log names stage, service and step:\n{out}");
    assert!(out.contains("==> [APPLICATION DEFAULT] web: DONE"), "one status line per change:\n{out}");
    assert!(out.contains("succeeded in"), "{out}");
    assert!(!out.contains('\u{1b}'), "no terminal, no colors or bars:\n{out}");
    let summary = &out[out.find("succeeded in").unwrap()..];
    let result = summary.lines().map(str::trim_start).find(|l| l.starts_with("APPLICATION DEFAULT"));
    assert!(result.is_some_and(|l| l.contains("web") && l.contains("DONE")), "a result per service:\n{summary}");
    let url = first_url(&summary[summary.find("URL:").expect("the summary gives the URL")..]);
    assert!(url.starts_with("http://web-") && url.contains(".localhost:"), "{url}");
    assert_eq!(browse(&url).await, (200, "one\n".to_owned()));

    // The edge counted that request for the service's host.
    let host = url.trim_start_matches("http://").split(':').next().unwrap().to_owned();
    let text = reqwest::get(format!("http://{metrics}/metrics")).await.unwrap().text().await.unwrap();
    let line = format!("slipway_edge_requests_total{{host=\"{host}\",class=\"2xx\"}} ");
    let served =
        text.lines().find_map(|l| l.strip_prefix(line.as_str())).unwrap_or_else(|| panic!("{line} in:\n{text}"));
    assert!(served.parse::<u64>().unwrap() >= 1, "{text}");

    // A new commit, deployed without waiting, then followed by its id.
    repo.commit_version("two", true);
    let queued = run(&["deploy", "--no-wait", "-o", "json"]).json();
    let second = queued["id"].as_str().unwrap().to_owned();
    assert_eq!(queued["action"], "DEPLOY");
    let out = user.run(&["logs", "--deployment", &second, "-f"]).success();
    assert!(out.contains(&format!("Deployment {second} succeeded")) && out.contains("web/rollout |"), "{out}");
    assert_eq!(browse(&url).await, (200, "two\n".to_owned()));

    let history = run(&["history", "-o", "json"]).json();
    let ids: Vec<&str> =
        history.as_array().unwrap().iter().map(|d| d["identifier"]["execution_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "{history}");
    assert_eq!(ids[0], second, "newest first");
    let table = run(&["history"]).success();
    assert!(table.starts_with("ID") && table.lines().count() == 3, "{table}");
    assert!(row(&table, &second).contains("DEPLOY") && row(&table, &second).contains("web: DEPLOYED"), "{table}");
    assert!(row(&table, ids[1]).contains("DEPLOYED"), "{table}");

    // Back to the release before the current one: the first version again.
    let out = run(&["rollback", "--service", "web"]).success();
    assert!(out.contains("Rolling `web`") && out.contains("\"version one\""), "{out}");
    assert!(out.contains("succeeded in") && out.contains(&url), "{out}");
    assert_eq!(browse(&url).await, (200, "one\n".to_owned()));
    let releases = run(&["releases", "--service", "web"]).success();
    let current = releases.lines().find(|l| l.starts_with('*')).unwrap_or_else(|| panic!("{releases}"));
    assert!(current.contains("\"version one\""), "{releases}");

    let table = run(&["status"]).success();
    assert!(table.starts_with("environment `dev` of project `shop`: DEPLOYED"), "{table}");
    let web = row(&table[table.find("NAME").unwrap()..], "web");
    assert!(web.contains("application") && web.contains("DEPLOYED") && web.contains("UP_TO_DATE"), "{table}");
    assert!(table.contains(&url), "{table}");

    // What the instance printed: its start line and the requests it served.
    let logs = run(&["logs", "--service", "web", "--tail", "5"]).success();
    let lines: Vec<&str> = logs.lines().collect();
    assert!(!lines.is_empty() && lines.len() <= 5, "{logs}");
    assert!(
        lines.iter().all(|l| l.starts_with("slipway-web-") && l.contains(" | ")),
        "prefixed with the instance:\n{logs}"
    );

    // A commit that never gets ready: the deployment fails, says why, and
    // the running release keeps serving.
    let broken = repo.commit_version("three", false);
    let failed = run(&["deploy", "--service", "web", "--commit", &broken]);
    let err = failed.failure();
    assert!(err.contains("failed") && err.contains("readiness probe"), "{err}");
    let out = failed.stdout();
    assert!(out.contains("web: FAILED") && out.contains("/health answered 404"), "{out}");
    assert_eq!(browse(&url).await, (200, "one\n".to_owned()));

    // Ctrl-C while following stops the command, not the stop: it says how
    // to follow it again and how to cancel it.
    let mut stop = user.command(&args(&with(&["stop"]))).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = BufReader::new(stop.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("Stopping environment `dev` of project `shop`: deployment "), "{first}");
    let stopping = first.trim_end().trim_end_matches('.').rsplit(' ').next().unwrap().to_owned();
    let sent = Command::new("kill").args(["-INT", &stop.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let stopped = stop.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains(&format!("Stopped following deployment {stopping}: it goes on")), "{stderr}");
    assert!(stderr.contains("slipway cancel --project shop --env dev"), "{stderr}");
    let out = user.run(&["logs", "--deployment", &stopping, "-f"]).success();
    assert!(out.contains(&format!("Stop {stopping} succeeded")), "it went on:\n{out}");
    let status = run(&["status", "-o", "json"]).json();
    assert_eq!(status["environment"]["state"], "STOPPED", "{status}");
    assert_eq!(status["applications"][0]["state"], "STOPPED", "{status}");
    let one = run(&["status", "--service", "web", "-o", "json"]).json();
    assert_eq!(one["state"], "STOPPED", "{one}");
    assert!(sweep.instances().await.is_empty(), "a stopped environment runs nothing");

    // Remove what is left (networks, volumes), then check that nothing runs.
    let uninstall = api.post(&format!("/environment/{env_id}/uninstall"), serde_json::json!({})).await;
    assert!(uninstall["state"].is_string(), "{uninstall}");
    let history = api.get(&format!("/environment/{env_id}/deploymentHistoryV2?pageSize=1")).await;
    let last = history["results"][0]["identifier"]["execution_id"].as_str().unwrap().to_owned();
    let done = api.wait_for_deployment(&last, Duration::from_secs(60)).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(sweep.instances().await, Vec::<String>::new());
}

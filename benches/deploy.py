#!/usr/bin/env python3
"""Deploy latency benchmark: the driver behind benches/deploy.sh.

    deploy.py run     --api URL --edge-port PORT --token-file FILE --engine SOCKET --out DIR
                      [--runs N] [--busybox PATH] [--poll SECONDS] [--pause SECONDS]
    deploy.py cleanup --engine SOCKET --out DIR
    deploy.py report  DIR

`run` builds the benchmark images on the engine, drives a running
`slipway server` through its API, measures every case and writes
DIR/results.json; `cleanup` removes whatever a run (even an interrupted one)
left on the engine; `report` prints the Markdown report of DIR/results.json.
Standard library only. Measurements, not assertions: nothing here fails on a
number.
"""

import http.client
import io
import json
import os
import re
import subprocess
import tarfile
import threading
import time
import urllib.parse

import benchlib
from benchlib import (BENCH_LABEL, LOG_NAME, MARK_CLAIMED, MARK_DONE, MARK_IMAGE_FROM_ENGINE, MARK_READY,
                      MARK_STARTED, STAT_HEADER, Engine, State, deployment_failure, deployment_logs, finish_run,
                      first_events, first_marks, fmt_ms, free_port, log, ms, now, open_run, phase_table,
                      remove_labeled, save_results, start_report, stat_row, ts, wait_final)

LOG_NAME[0] = "deploy-bench"

IMAGE = "localhost/slipway-bench/web"
PORT = 8080
DOCKERFILE = (
    "FROM scratch\nCOPY bin /bin\nCOPY www /www\n"
    'ENTRYPOINT ["/bin/busybox"]\n'
    f'CMD ["httpd","-f","-p","{PORT}","-h","/www"]\n'
)
GOAL_RATIO = 1.5
GOAL_NOOP_MS = 300


# --------------------------------------------------------------------------- HTTP


def get_body(port, host=None, timeout=2.0):
    """One GET / on a new connection: (status, body) or (None, None)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/", headers={"Host": host} if host else {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace").strip()
    except (OSError, http.client.HTTPException):
        return None, None
    finally:
        conn.close()


def wait_for_body(port, expected, poll, deadline, host=None):
    """Polls until GET / answers 200 with `expected`; the time it did, or None."""
    polls = 0
    while now() < deadline:
        status, body = get_body(port, host)
        polls += 1
        if status == 200 and body == expected:
            return now(), polls
        time.sleep(poll)
    return None, polls


def build_image(engine, tag, files):
    """Builds an image from {path: (bytes, mode)} with the engine's /build."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, (content, mode) in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = mode
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    q = urllib.parse.urlencode({"t": tag, "rm": "1", "labels": json.dumps({BENCH_LABEL: "image"})})
    _, data = engine.call("POST", f"/build?{q}", buf.getvalue(), content_type="application/x-tar")
    for line in data.decode(errors="replace").splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("error"):
            raise RuntimeError(f"building {tag}: {msg['error']}")


# --------------------------------------------------------------------------- setup


def content(version):
    return f"slipway-bench {version}"


def image_files(busybox, version):
    with open(busybox, "rb") as f:
        bb = f.read()
    return {
        "Dockerfile": (DOCKERFILE.encode(), 0o644),
        "bin/busybox": (bb, 0o755),
        "www/index.html": ((content(version) + "\n").encode(), 0o644),
    }


def make_repo(path, busybox):
    """A git repository with two commits that differ in www/index.html."""
    os.makedirs(os.path.join(path, "bin"), exist_ok=True)
    os.makedirs(os.path.join(path, "www"), exist_ok=True)
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@localhost",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@localhost")

    def git(*args):
        return subprocess.run(["git", "-C", path, *args], env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    git("init", "-q", "-b", "main")
    for name, (data, mode) in image_files(busybox, "app-c1").items():
        full = os.path.join(path, name)
        with open(full, "wb") as f:
            f.write(data)
        os.chmod(full, mode)
    git("add", "-A")
    git("commit", "-q", "-m", "bench: c1")
    c1 = git("rev-parse", "HEAD")
    with open(os.path.join(path, "www/index.html"), "w") as f:
        f.write(content("app-c2") + "\n")
    git("commit", "-q", "-am", "bench: c2")
    c2 = git("rev-parse", "HEAD")
    return {c1: content("app-c1"), c2: content("app-c2")}, [c1, c2]


def readiness():
    return {
        "readiness_probe": {
            "type": {"http": {"port": PORT, "path": "/"}},
            "initial_delay_seconds": 0,
            "period_seconds": 1,
        }
    }


def ports():
    return [{"internal_port": PORT, "publicly_accessible": True}]


# --------------------------------------------------------------------------- measuring


def slipway_run(api, env_id, path, body, expected, edge_port, edge_host, poll, timeout=120):
    """One deploy: POST, then watch the edge (for `expected`) and the
    deployment (for its end) at the same time."""
    result = {}
    go = threading.Event()

    def edge():
        go.wait()
        t, polls = wait_for_body(edge_port, expected, poll, result["t0"] + timeout, edge_host)
        result["t_first_200"] = t
        result["edge_polls"] = polls

    watcher = None
    if expected is not None:
        watcher = threading.Thread(target=edge, daemon=True)
        watcher.start()
    result["t0"] = now()
    go.set()
    resp = api.call("POST", path, body)
    result["t_accepted"] = now()
    deployment_id = resp["deployment_request_id"]
    result["deployment_id"] = deployment_id
    t_end, d, polls = wait_final(api, deployment_id, poll, result["t0"] + timeout)
    result["t_final"] = t_end
    result["status_polls"] = polls
    if watcher is not None:
        watcher.join(timeout + 5)
    result["deployment"] = d
    result["logs"] = deployment_logs(api, env_id, deployment_id)
    return result


def raw_run(engine, ref, expected, poll, label_value, timeout=60):
    """The engine alone: create + start with a published port, then GET / until 200."""
    port = free_port()
    body = {
        "Image": ref,
        "ExposedPorts": {f"{PORT}/tcp": {}},
        "Labels": {BENCH_LABEL: label_value},
        "HostConfig": {"PortBindings": {f"{PORT}/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}},
    }
    r = {"t0": now()}
    created = engine.json("POST", "/containers/create", body)
    r["t_created"] = now()
    r["id"] = created["Id"]
    engine.call("POST", f"/containers/{created['Id']}/start")
    r["t_started"] = now()
    r["t_first_200"], r["polls"] = wait_for_body(port, expected, poll, r["t0"] + timeout)
    engine.remove_container(created["Id"])
    return r


# Deployment log lines that mark the phases of a deploy (first match wins).
MARKS = [
    MARK_CLAIMED,
    ("planned", re.compile(r"service\(s\) in \d+ stage\(s\)")),
    ("step", re.compile(r"^Deploy (container|application) `")),
    ("fetched", re.compile(r'^fetch: commit [0-9a-f]+ ".*" by ')),
    ("image", re.compile(MARK_IMAGE_FROM_ENGINE.pattern + r"|^(build cache hit for commit|built .* from commit)")),
    ("noop", re.compile(r"^nothing changed")),
    MARK_STARTED,
    MARK_READY,
    ("switched", re.compile(r"now goes to the new revision$")),
    ("retired", re.compile(r"^stopped \d+ old instance\(s\)")),
    MARK_DONE,
    ("succeeded", re.compile(r"^succeeded in ")),
]


def marks(logs):
    return first_marks(logs, MARKS)


def summarize(run):
    """Durations (ms) of one Slipway run, from the client's clock and the
    deployment's own timestamps and log lines."""
    d = run["deployment"]
    m = marks(run["logs"])
    created, started, finished = ts(d["created_at"]), ts(d["started_at"]), ts(d["finished_at"])
    step = (d.get("steps") or [{}])[0]
    out = {
        "status": d["status"],
        "to_first_200": ms(run["t0"], run.get("t_first_200")),
        "to_succeeded": ms(run["t0"], run["t_final"]) if d["status"] == "SUCCEEDED" else None,
        "accepted": ms(run["t0"], run["t_accepted"]),
        "server_total": ms(created, finished),
        "queue": ms(created, started),
        "prepare": ms(started, m.get("step")),
        "step": ms(ts(step.get("started_at")), ts(step.get("finished_at"))),
        "noop": "noop" in m,
        "cache_hit": any("build cache hit" in line["message"] for line in run["logs"]),
    }
    out["fetch"] = ms(m.get("step"), m.get("fetched"))
    out["image"] = ms(m.get("fetched") or m.get("step"), m.get("image"))
    out["decide"] = ms(m.get("image"), m.get("noop"))
    out["start"] = ms(m.get("image"), m.get("started"))
    out["readiness"] = ms(m.get("started"), m.get("ready"))
    out["switch"] = ms(m.get("ready"), m.get("switched"))
    out["edge_after_switch"] = ms(m.get("switched"), run.get("t_first_200"))
    out["retire"] = ms(m.get("switched"), m.get("retired"))
    last = m.get("retired") or m.get("switched") or m.get("noop")
    out["finish"] = ms(last, finished)
    out["seen_after_finish"] = ms(finished, run["t_final"]) if run["t_final"] else None
    return out


def engine_marks(run, events):
    """The first create, init and start events of the instance a run made."""
    if "deployment" in run:
        release = (run["deployment"].get("steps") or [{}])[0].get("release_id")
        mine = [e for e in events if release and e.get("release") == release]
    else:
        mine = [e for e in events if e["id"] == run.get("id")]
    return first_events(mine, ("create", "init", "start"))


def engine_summary(run, events):
    """Durations (ms) around the engine's events; empty without them."""
    ev = engine_marks(run, events)
    if "create" not in ev or "start" not in ev:
        return {}
    if "deployment" in run:
        m = marks(run["logs"])
        if "started" not in m:  # a no-op: the release's instance is an earlier one
            return {}
        return {
            "before_create": ms(m.get("image"), ev["create"]),
            "engine_start": ms(ev["create"], ev["start"]),
            "after_start": ms(ev["start"], m.get("started")),
        }
    return {
        "before_create": ms(run["t0"], ev["create"]),
        "engine_start": ms(ev["create"], ev["start"]),
        "after_start": ms(ev["start"], run["t_started"]),
    }


def summarize_raw(run):
    return {
        "to_first_200": ms(run["t0"], run["t_first_200"]),
        "create": ms(run["t0"], run["t_created"]),
        "start": ms(run["t0"], run["t_started"]),
        "edge_after_switch": ms(run["t_started"], run["t_first_200"]),
    }


# --------------------------------------------------------------------------- run


def cmd_run(a):
    out, state, engine, api = open_run(a)
    results = {"runs": a.runs, "poll_ms": a.poll * 1000, "pause_s": a.pause, "engine": engine.version(), "cases": {}}
    t_begin = now()

    log("building the benchmark images on the engine")
    for v in ("1", "2"):
        build_image(engine, f"{IMAGE}:{v}", image_files(a.busybox, f"v{v}"))
    state.set("images", [f"{IMAGE}:1", f"{IMAGE}:2"])
    results["image_ids"] = {v: engine.image_id(f"{IMAGE}:{v}") for v in ("1", "2")}

    org, env = api.new_environment("deploy-bench")
    state.set("environment_id", env)
    registries = api.call("GET", f"/organization/{org}/containerRegistry")["results"]
    local = next(r["id"] for r in registries if r["name"] == "local")

    container = api.call("POST", f"/environment/{env}/container", {
        "name": "web", "registry_id": local, "image_name": IMAGE, "tag": "1",
        "healthchecks": readiness(), "ports": ports(),
    })["id"]
    link = api.call("GET", f"/container/{container}/link")["results"][0]["url"]
    web_host = urllib.parse.urlparse(link).hostname
    # The same image and server, under a shell that exits on SIGTERM: how
    # long the old revision takes to stop is the process's own doing.
    term = api.call("POST", f"/environment/{env}/container", {
        "name": "web-term", "registry_id": local, "image_name": IMAGE, "tag": "1",
        "entrypoint": "/bin/busybox",
        "arguments": ["sh", "-c", f"trap 'exit 0' TERM; httpd -f -p {PORT} -h /www & wait"],
        "healthchecks": readiness(), "ports": ports(),
    })["id"]
    term_link = api.call("GET", f"/container/{term}/link")["results"][0]["url"]
    term_host = urllib.parse.urlparse(term_link).hostname

    repo = os.path.join(out, "app-repo")
    commits, order = make_repo(repo, a.busybox)
    app = api.call("POST", f"/environment/{env}/application", {
        "name": "app", "git_repository": {"url": f"file://{repo}", "provider": "GITHUB", "branch": "main"},
        "healthchecks": readiness(), "ports": ports(),
    })["id"]
    state.set("application_id", app)
    app_link = api.call("GET", f"/application/{app}/link")["results"][0]["url"]
    app_host = urllib.parse.urlparse(app_link).hostname

    def checked(run, what):
        deployment_failure(run, what)
        return summarize(run)

    def deploy_container(tag):
        return slipway_run(api, env, f"/container/{container}/deploy", {"image_tag": tag},
                           content(f"v{tag}"), a.edge_port, web_host, a.poll)

    def deploy_term(tag):
        return slipway_run(api, env, f"/container/{term}/deploy", {"image_tag": tag},
                           content(f"v{tag}"), a.edge_port, term_host, a.poll)

    def deploy_app(commit):
        return slipway_run(api, env, f"/application/{app}/deploy", {"git_commit_id": commit},
                           commits[commit], a.edge_port, app_host, a.poll)

    def record(name, runs, summaries):
        results["cases"][name] = {"runs": runs, "summaries": summaries}
        save_results(out, results)

    # Warm-ups (not measured): the first deploy creates the network and the
    # environment's stages, the first build fills the build cache.
    log("warm-up: first deploy of the container (tag 1), one raw engine run")
    checked(deploy_container("1"), "warm-up container deploy")
    checked(deploy_term("1"), "warm-up container deploy")
    raw_run(engine, f"{IMAGE}:1", content("v1"), a.poll, "raw")
    log("warm-up: first deploys of the application (builds both commits)")
    for c in order:
        checked(deploy_app(c), "warm-up application deploy")

    # 1. Prebuilt image vs the raw engine, interleaved so that both see the
    # same machine. Each Slipway run changes the tag (2, 1, 2, ...): a rollout.
    raw_runs, raw_sums, dep_runs, dep_sums = [], [], [], []
    for i in range(a.runs):
        tag = "2" if i % 2 == 0 else "1"
        time.sleep(a.pause)
        r = raw_run(engine, f"{IMAGE}:{tag}", content(f"v{tag}"), a.poll, "raw")
        raw_runs.append(r)
        raw_sums.append(summarize_raw(r))
        time.sleep(a.pause)
        d = deploy_container(tag)
        dep_runs.append(d)
        dep_sums.append(checked(d, "container deploy"))
        log(f"prebuilt image {i + 1}/{a.runs}: raw engine {raw_sums[-1]['to_first_200']:.0f} ms, "
            f"slipway first 200 {dep_sums[-1]['to_first_200'] or float('nan'):.0f} ms, "
            f"succeeded {dep_sums[-1]['to_succeeded']:.0f} ms")
    record("raw_engine", raw_runs, raw_sums)
    record("container_deploy", dep_runs, dep_sums)

    # 1b. The same with the process that stops on SIGTERM.
    runs, sums = [], []
    for i in range(a.runs):
        tag = "2" if i % 2 == 0 else "1"
        time.sleep(a.pause)
        r = deploy_term(tag)
        runs.append(r)
        sums.append(checked(r, "container deploy (SIGTERM)"))
        log(f"prebuilt image, SIGTERM-aware {i + 1}/{a.runs}: first 200 "
            f"{sums[-1]['to_first_200'] or float('nan'):.0f} ms, succeeded {sums[-1]['to_succeeded']:.0f} ms")
    record("container_deploy_term", runs, sums)

    # 2. No-op redeploy of the container: it runs tag 1, its configured tag.
    runs, sums = [], []
    for i in range(a.runs):
        time.sleep(a.pause)
        r = slipway_run(api, env, f"/container/{container}/redeploy", None, None, a.edge_port, web_host, a.poll)
        runs.append(r)
        sums.append(checked(r, "container redeploy"))
        log(f"container no-op redeploy {i + 1}/{a.runs}: succeeded {sums[-1]['to_succeeded']:.0f} ms"
            f"{'' if sums[-1]['noop'] else ' (NOT a no-op)'}")
    record("container_noop", runs, sums)

    # 3. Build cache hit: alternate between the two commits already built.
    runs, sums = [], []
    for i in range(a.runs):
        commit = order[i % 2]
        time.sleep(a.pause)
        r = deploy_app(commit)
        runs.append(r)
        sums.append(checked(r, "application deploy"))
        log(f"cache-hit deploy {i + 1}/{a.runs}: succeeded {sums[-1]['to_succeeded']:.0f} ms, first 200 "
            f"{sums[-1]['to_first_200'] or float('nan'):.0f} ms{'' if sums[-1]['cache_hit'] else ' (NOT a cache hit)'}")
    record("app_cache_hit", runs, sums)

    # 4. No-op redeploy of the application (same commit, same image).
    runs, sums = [], []
    for i in range(a.runs):
        time.sleep(a.pause)
        r = slipway_run(api, env, f"/application/{app}/redeploy", None, None, a.edge_port, app_host, a.poll)
        runs.append(r)
        sums.append(checked(r, "application redeploy"))
        log(f"application no-op redeploy {i + 1}/{a.runs}: succeeded {sums[-1]['to_succeeded']:.0f} ms"
            f"{'' if sums[-1]['noop'] else ' (NOT a no-op)'}")
    record("app_noop", runs, sums)

    # The engine's own view of the instances' create, init and start.
    ids = {r["id"] for r in raw_runs}
    releases = {((r["deployment"].get("steps") or [{}])[0].get("release_id")) for c in results["cases"].values()
                for r in c["runs"] if "deployment" in r}
    finish_run(out, results, engine, api, env, t_begin,
               lambda e: e["id"] in ids or (e["release"] and e["release"] in releases))


def cmd_cleanup(a):
    state = State(a.out)
    engine = Engine(a.engine)
    labels = [f"{BENCH_LABEL}=raw"]
    env = state.get("environment_id")
    if env:
        labels.append(f"slipway.io/environment={env}")
    remove_labeled(engine, labels)
    try:
        if env:
            engine.remove_network("slipway-" + env.replace("-", ""))
        app = state.get("application_id")
        if app:
            q = urllib.parse.urlencode({"filters": json.dumps({"reference": [f"localhost/slipway/{app}"]})})
            for img in engine.json("GET", f"/images/json?{q}") or []:
                for tag in img.get("RepoTags") or []:
                    engine.remove_image(tag)
        for ref in state.get("images", []):
            engine.remove_image(ref)
    except (OSError, RuntimeError) as e:
        log(f"cleanup: {e}")


# --------------------------------------------------------------------------- report


def cmd_report(a):
    results, cases, col, med = start_report(a.out, lambda name, r, events: dict(
        summarize_raw(r) if name == "raw_engine" else summarize(r), **engine_summary(r, events)))
    p = print
    p(f"- {results['runs']} measured runs per case after warm-ups; client polls every "
      f"{results['poll_ms']:.0f} ms (new connection per edge/port poll); {results['pause_s']} s pause between runs")
    p()
    p(STAT_HEADER)
    p(stat_row("Raw engine: create + start + first 200 on a published port", col("raw_engine", "to_first_200"),
               "engine API over its socket"))
    p(stat_row("Prebuilt image: deploy → first 200 of the new revision through the edge",
               col("container_deploy", "to_first_200"), "tag 1 ↔ 2: a rollout each time"))
    p(stat_row("Prebuilt image: deploy → deployment SUCCEEDED", col("container_deploy", "to_succeeded"),
               "includes removing the old instance"))
    p(stat_row("Prebuilt image, process exits on SIGTERM: deploy → first 200 through the edge",
               col("container_deploy_term", "to_first_200"), "same image under `sh -c 'trap \"exit 0\" TERM; …'`"))
    p(stat_row("Prebuilt image, process exits on SIGTERM: deploy → SUCCEEDED",
               col("container_deploy_term", "to_succeeded"), ""))
    p(stat_row("No-op redeploy (container) → SUCCEEDED", col("container_noop", "to_succeeded"),
               "same image, same configuration"))
    p(stat_row("Build-cache hit (application) → SUCCEEDED", col("app_cache_hit", "to_succeeded"),
               "commit c1 ↔ c2, both built: a rollout each time"))
    p(stat_row("Build-cache hit (application) → first 200 of the new revision",
               col("app_cache_hit", "to_first_200"), ""))
    p(stat_row("No-op redeploy (application) → SUCCEEDED", col("app_noop", "to_succeeded"),
               "same commit: git fetch + cache key, then nothing to do"))
    p()
    raw = med("raw_engine", "to_first_200")
    dep = med("container_deploy", "to_first_200")
    noop = med("container_noop", "to_succeeded")
    app_noop = med("app_noop", "to_succeeded")
    p("| Goal | Result | |")
    p("|---|---|---|")
    if raw and dep:
        ratio = dep / raw
        p(f"| Deploy of a prebuilt image ≤ {GOAL_RATIO}× the raw engine (medians, to first 200) | "
          f"{fmt_ms(dep)} ms / {fmt_ms(raw)} ms = **{ratio:.2f}×** | "
          f"{'**met**' if ratio <= GOAL_RATIO else '**missed**'} |")
    if noop is not None:
        p(f"| No-op redeploy under {GOAL_NOOP_MS} ms (median, request → SUCCEEDED), container | "
          f"**{fmt_ms(noop)} ms** | {'**met**' if noop < GOAL_NOOP_MS else '**missed**'} |")
    if app_noop is not None:
        p(f"| the same for an application built from git | **{fmt_ms(app_noop)} ms** | "
          f"{'**met**' if app_noop < GOAL_NOOP_MS else '**missed**'} |")
    p()
    p("Where the time goes (medians, ms; from the deployment's `created_at`/`started_at`/`finished_at`, "
      "the timestamps of its log lines, and the engine's own container events):")
    p()
    phases = [
        ("request → 202 Accepted (client)", "accepted"),
        ("queue: created → claimed by a worker", "queue"),
        ("prepare: claimed → service step starts (environment, cluster, services, stages; steps saved)", "prepare"),
        ("git: update the mirror, resolve the commit", "fetch"),
        ("image: engine lookup (container); export, context, cache key, lookup (application)", "image"),
        ("no-op decision (compare with the current release, list instances)", "decide"),
        ("start the instance, in all: image ready → instance started (the next three rows)", "start"),
        ("→ engine `create` event (Slipway: release stored, old instances listed, network and name "
         "checked, create call; raw: the create call)", "before_create"),
        ("engine: `create` → `start` events (network setup, runtime)", "engine_start"),
        ("engine `start` event → instance known started (Slipway: inspect; raw: start call returns)", "after_start"),
        ("readiness: first probe passing (inspect + HTTP GET)", "readiness"),
        ("route switch", "switch"),
        ("→ first 200 at the client (after the switch; raw: after the start call)", "edge_after_switch"),
        ("drain + remove the old instance", "retire"),
        ("finish: last step line → finished_at (step/state/deployment saves)", "finish"),
        ("finished_at → SUCCEEDED seen by the client (poll)", "seen_after_finish"),
        ("server total: created_at → finished_at", "server_total"),
        ("**end to end: request → first 200**", "to_first_200"),
        ("**end to end: request → SUCCEEDED**", "to_succeeded"),
    ]
    names = [("raw_engine", "raw engine"), ("container_deploy", "prebuilt deploy"),
             ("container_deploy_term", "prebuilt, SIGTERM-aware"), ("container_noop", "container no-op"),
             ("app_cache_hit", "cache-hit deploy"), ("app_noop", "application no-op")]
    for line in phase_table(phases, names, med):
        p(line)
    bad = []
    for case, _ in names:
        for i, s in enumerate(cases.get(case, {}).get("summaries", [])):
            if case.endswith("noop") and not s.get("noop"):
                bad.append(f"{case} run {i + 1} was not a no-op")
            if case == "app_cache_hit" and not s.get("cache_hit"):
                bad.append(f"{case} run {i + 1} was not a build-cache hit")
    if bad:
        p()
        p("Warnings: " + "; ".join(bad))


def run_args(r):
    r.add_argument("--edge-port", type=int, required=True)
    r.add_argument("--busybox", default="/usr/bin/busybox")


if __name__ == "__main__":
    benchlib.main(__doc__, {"run": cmd_run, "cleanup": cmd_cleanup, "report": cmd_report}, 10, run_args)

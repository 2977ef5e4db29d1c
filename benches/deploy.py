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

import argparse
import http.client
import io
import json
import math
import os
import re
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse
from datetime import datetime

BENCH_LABEL = "slipway-bench"
IMAGE = "localhost/slipway-bench/web"
PORT = 8080
DOCKERFILE = (
    "FROM scratch\nCOPY bin /bin\nCOPY www /www\n"
    'ENTRYPOINT ["/bin/busybox"]\n'
    f'CMD ["httpd","-f","-p","{PORT}","-h","/www"]\n'
)
GOAL_RATIO = 1.5
GOAL_NOOP_MS = 300


def log(msg):
    print(f"[deploy-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def now():
    return time.time()


def ts(value):
    """An RFC 3339 timestamp from the API as epoch seconds."""
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# --------------------------------------------------------------------------- HTTP


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=120):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


class Engine:
    """The container engine's Docker-compatible API, over its unix socket."""

    def __init__(self, socket_path):
        self.path = socket_path

    def call(self, method, path, body=None, content_type="application/json", ok=(200, 201, 204, 304)):
        conn = UnixConnection(self.path)
        try:
            headers = {}
            if body is not None and not isinstance(body, (bytes, bytearray)):
                body = json.dumps(body).encode()
            if body is not None:
                headers["Content-Type"] = content_type
            conn.request(method, "/v1.41" + path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if resp.status not in ok:
            raise RuntimeError(f"engine {method} {path}: {resp.status} {data[:300]!r}")
        return resp.status, data

    def json(self, method, path, body=None, ok=(200, 201, 204, 304)):
        _, data = self.call(method, path, body, ok=ok)
        return json.loads(data) if data.strip() else None

    def build(self, tag, files):
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
        _, data = self.call("POST", f"/build?{q}", buf.getvalue(), content_type="application/x-tar")
        for line in data.decode(errors="replace").splitlines():
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("error"):
                raise RuntimeError(f"building {tag}: {msg['error']}")

    def image_id(self, ref):
        status, data = self.call("GET", f"/images/{urllib.parse.quote(ref, safe='')}/json", ok=(200, 404))
        return json.loads(data)["Id"] if status == 200 else None

    def containers(self, label):
        q = urllib.parse.urlencode({"all": "1", "filters": json.dumps({"label": [label]})})
        return self.json("GET", f"/containers/json?{q}") or []

    def remove_container(self, cid):
        self.call("DELETE", f"/containers/{cid}?force=1&v=1", ok=(200, 204, 404))

    def remove_image(self, ref):
        self.call("DELETE", f"/images/{urllib.parse.quote(ref, safe='')}?force=1", ok=(200, 404, 409))

    def remove_network(self, name):
        self.call("DELETE", f"/networks/{name}", ok=(200, 204, 404, 409, 500))

    def events(self, since, podman):
        """Container events since `since` (epoch seconds), as
        {id, name, status, t, release}. Podman ends the answer with
        stream=false; Docker when it reaches `until`."""
        q = {"since": str(int(since)), "filters": json.dumps({"type": ["container"]})}
        if podman:
            q["stream"] = "false"
        else:
            q["until"] = str(int(now()) + 1)
        conn = UnixConnection(self.path, timeout=30)
        try:
            conn.request("GET", "/v1.41/events?" + urllib.parse.urlencode(q))
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        out = []
        for line in data.decode(errors="replace").splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            actor = e.get("Actor") or {}
            attrs = actor.get("Attributes") or {}
            out.append({
                "id": actor.get("ID") or e.get("id"),
                "name": attrs.get("name"),
                "status": e.get("status") or e.get("Action"),
                "t": e["timeNano"] / 1e9,
                "release": attrs.get("slipway.io/release"),
            })
        return out

    def version(self):
        v = self.json("GET", "/version") or {}
        name = next((c.get("Name") for c in v.get("Components") or [] if "Engine" in (c.get("Name") or "")), None)
        info = {"name": name or "Docker Engine", "version": v.get("Version"), "api": v.get("ApiVersion")}
        try:  # Podman's own API says more.
            conn = UnixConnection(self.path, timeout=10)
            conn.request("GET", "/v4.0.0/libpod/info")
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            if resp.status == 200:
                host = json.loads(data).get("host", {})
                info["oci_runtime"] = (host.get("ociRuntime") or {}).get("name")
                info["network_backend"] = host.get("networkBackend")
                info["cgroup_manager"] = host.get("cgroupManager")
                info["cgroups"] = host.get("cgroupVersion")
        except (OSError, ValueError, http.client.HTTPException):
            pass
        return info


class Api:
    """Slipway's REST API; one keep-alive connection per thread."""

    def __init__(self, url, token):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.token = token
        self.local = threading.local()

    def _conn(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.local.conn = conn
        return conn

    def call(self, method, path, body=None, ok=(200, 201, 202, 204)):
        headers = {"Authorization": f"Token {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            conn = self._conn()
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                break
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt:
                    raise
        if resp.status not in ok:
            raise RuntimeError(f"API {method} {path}: {resp.status} {raw[:500]!r}")
        return json.loads(raw) if raw.strip() else None


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


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------- state


class State:
    """What a run created, saved as it goes so that `cleanup` finds it."""

    def __init__(self, out):
        self.path = os.path.join(out, "state.json")
        self.data = {}
        if os.path.exists(self.path):
            with open(self.path) as f:
                self.data = json.load(f)

    def set(self, key, value):
        self.data[key] = value
        with open(self.path + ".tmp", "w") as f:
            json.dump(self.data, f, indent=1)
        os.replace(self.path + ".tmp", self.path)

    def get(self, key, default=None):
        return self.data.get(key, default)


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


def deployment_logs(api, env_id, deployment_id):
    lines = api.call("GET", f"/environment/{env_id}/logs?version={deployment_id}")
    out = []
    for line in lines:
        msg = (line.get("message") or {}).get("safe_message") or (line.get("error") or {}).get("safe_message") or ""
        out.append({"at": ts(line["timestamp"]), "message": msg})
    return out


def wait_final(api, deployment_id, poll, deadline):
    """Polls GET /deployment/{id} until it ends: (time seen, deployment, polls)."""
    polls = 0
    while True:
        d = api.call("GET", f"/deployment/{deployment_id}")
        polls += 1
        if d["status"] in ("SUCCEEDED", "FAILED", "CANCELED"):
            return now(), d, polls
        if now() > deadline:
            return None, d, polls
        time.sleep(poll)


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
    ("claimed", re.compile(r" started by worker-")),
    ("planned", re.compile(r"service\(s\) in \d+ stage\(s\)")),
    ("step", re.compile(r"^Deploy (container|application) `")),
    ("fetched", re.compile(r'^fetch: commit [0-9a-f]+ ".*" by ')),
    ("image", re.compile(r"^(using .* from the engine|build cache hit for commit|built .* from commit)")),
    ("noop", re.compile(r"^nothing changed")),
    ("started", re.compile(r"^started \d+ instance\(s\)")),
    ("ready", re.compile(r"instance\(s\) ready$")),
    ("switched", re.compile(r"now goes to the new revision$")),
    ("retired", re.compile(r"^stopped \d+ old instance\(s\)")),
    ("done", re.compile(r"^done$")),
    ("succeeded", re.compile(r"^succeeded in ")),
]


def marks(logs):
    found = {}
    for line in logs:
        for name, pattern in MARKS:
            if name not in found and pattern.search(line["message"]):
                found[name] = line["at"]
    return found


def summarize(run):
    """Durations (ms) of one Slipway run, from the client's clock and the
    deployment's own timestamps and log lines."""
    d = run["deployment"]
    m = marks(run["logs"])
    created, started, finished = ts(d["created_at"]), ts(d["started_at"]), ts(d["finished_at"])
    step = (d.get("steps") or [{}])[0]
    ms = lambda a, b: None if a is None or b is None else (b - a) * 1000  # noqa: E731
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
    found = {}
    for e in sorted(mine, key=lambda e: e["t"]):
        if e["status"] in ("create", "init", "start") and e["status"] not in found:
            found[e["status"]] = e["t"]
    return found


def engine_summary(run, events):
    """Durations (ms) around the engine's events; empty without them."""
    ev = engine_marks(run, events)
    if "create" not in ev or "start" not in ev:
        return {}
    ms = lambda a, b: None if a is None or b is None else (b - a) * 1000  # noqa: E731
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
    ms = lambda a, b: None if a is None or b is None else (b - a) * 1000  # noqa: E731
    return {
        "to_first_200": ms(run["t0"], run["t_first_200"]),
        "create": ms(run["t0"], run["t_created"]),
        "start": ms(run["t0"], run["t_started"]),
        "edge_after_switch": ms(run["t_started"], run["t_first_200"]),
    }


# --------------------------------------------------------------------------- run


def cmd_run(a):
    out = os.path.abspath(a.out)
    state = State(out)
    engine = Engine(a.engine)
    with open(a.token_file) as f:
        api = Api(a.api, f.read().strip())
    results = {"runs": a.runs, "poll_ms": a.poll * 1000, "pause_s": a.pause, "engine": engine.version(), "cases": {}}
    t_begin = now()

    log("building the benchmark images on the engine")
    for v in ("1", "2"):
        engine.build(f"{IMAGE}:{v}", image_files(a.busybox, f"v{v}"))
    state.set("images", [f"{IMAGE}:1", f"{IMAGE}:2"])
    results["image_ids"] = {v: engine.image_id(f"{IMAGE}:{v}") for v in ("1", "2")}

    org = api.call("GET", "/organization")["results"][0]["id"]
    name = f"deploy-bench-{int(now())}"
    project = api.call("POST", f"/organization/{org}/project", {"name": name})["id"]
    env = api.call("POST", f"/project/{project}/environment", {"name": "deploy-bench"})["id"]
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
        s = summarize(run)
        if s["status"] != "SUCCEEDED":
            tail = "\n".join(f"  {line['message']}" for line in run["logs"][-15:])
            raise RuntimeError(f"{what}: deployment {run['deployment_id']} ended {s['status']}\n{tail}")
        return s

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
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump(results, f, indent=1)

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
    try:
        podman = "podman" in (results["engine"].get("name") or "").lower()
        events = engine.events(t_begin - 1, podman)
        ids = {r["id"] for r in raw_runs}
        releases = {((r["deployment"].get("steps") or [{}])[0].get("release_id")) for c in results["cases"].values()
                    for r in c["runs"] if "deployment" in r}
        results["engine_events"] = [e for e in events if e["id"] in ids or (e["release"] and e["release"] in releases)]
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
    except (OSError, RuntimeError, ValueError, KeyError, http.client.HTTPException) as e:
        log(f"cannot read the engine's events ({e}); the report goes without them")

    # Tear down through the API: a delete deployment removes the instances.
    log("deleting the benchmark environment")
    try:
        api.call("DELETE", f"/environment/{env}", ok=(200, 202, 204))
        deadline = now() + 60
        while now() < deadline:
            try:
                api.call("GET", f"/environment/{env}")
            except RuntimeError:
                break
            time.sleep(0.2)
    except RuntimeError as e:
        log(f"cannot delete the environment through the API ({e}); cleanup removes what is left")
    log(f"results in {os.path.join(out, 'results.json')}")


def cmd_cleanup(a):
    state = State(a.out)
    engine = Engine(a.engine)
    labels = [f"{BENCH_LABEL}=raw"]
    env = state.get("environment_id")
    if env:
        labels.append(f"slipway.io/environment={env}")
    for label in labels:
        try:
            for c in engine.containers(label):
                engine.remove_container(c["Id"])
        except (OSError, RuntimeError) as e:
            log(f"cleanup: containers {label}: {e}")
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


def stats(values):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    n = len(v)
    median = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    p90 = v[max(0, math.ceil(0.9 * n) - 1)]
    return {"n": n, "median": median, "p90": p90, "min": v[0], "max": v[-1]}


def fmt_ms(x):
    return "—" if x is None else f"{x:,.0f}"


def stat_row(label, values, note=""):
    s = stats(values)
    if s is None:
        return f"| {label} | — | — | — | — | 0 | {note} |"
    return (f"| {label} | **{fmt_ms(s['median'])}** | {fmt_ms(s['p90'])} | {fmt_ms(s['min'])} | "
            f"{fmt_ms(s['max'])} | {s['n']} | {note} |")


def load_meta(out):
    meta = {}
    path = os.path.join(out, "meta.txt")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition(" ")
                meta[key] = value
    return meta


def cmd_report(a):
    with open(os.path.join(a.out, "results.json")) as f:
        results = json.load(f)
    meta = load_meta(a.out)
    cases = results["cases"]
    events = results.get("engine_events") or []
    for name, c in cases.items():  # recomputed, so that the report follows this file
        c["summaries"] = [dict(summarize_raw(r) if name == "raw_engine" else summarize(r), **engine_summary(r, events))
                          for r in c["runs"]]
    col = lambda case, key: [s.get(key) for s in cases.get(case, {}).get("summaries", [])]  # noqa: E731
    med = lambda case, key: (stats(col(case, key)) or {}).get("median")  # noqa: E731
    e = results["engine"]
    p = print
    p(f"- Date: {meta.get('run.date', '?')}, Slipway commit `{meta.get('version.slipway', '?')}`")
    p(f"- Machine: {meta.get('machine.cpus', '?')} CPUs ({meta.get('machine.cpu_model', '?')}), "
      f"{int(meta.get('machine.mem_kb', 0)) / 1048576:.1f} GiB memory, Linux {meta.get('machine.kernel', '?')}; "
      f"load average (1, 5, 15 min) {meta.get('run.loadavg', '?')} before the run, "
      f"{meta.get('run.loadavg_after', '?')} after")
    extra = ", ".join(f"{k} {e[k]}" for k in ("oci_runtime", "network_backend", "cgroup_manager") if e.get(k))
    p(f"- Engine: {e.get('name')} {e.get('version')} (API {e.get('api')}{', ' + extra if extra else ''}"
      f"{', cgroups ' + e['cgroups'] if e.get('cgroups') else ''})")
    p(f"- {results['runs']} measured runs per case after warm-ups; client polls every "
      f"{results['poll_ms']:.0f} ms (new connection per edge/port poll); {results['pause_s']} s pause between runs")
    p()
    p("| Case | median ms | p90 ms | min ms | max ms | runs | |")
    p("|---|--:|--:|--:|--:|--:|---|")
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
    p("| Phase | " + " | ".join(n for _, n in names) + " |")
    p("|---|" + "--:|" * len(names))
    for label, key in phases:
        cells = [fmt_ms(med(c, key)) for c, _ in names]
        if all(x == "—" for x in cells):
            continue
        p(f"| {label} | " + " | ".join(cells) + " |")
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--api", required=True)
    r.add_argument("--edge-port", type=int, required=True)
    r.add_argument("--token-file", required=True)
    r.add_argument("--engine", required=True, help="the engine's unix socket path")
    r.add_argument("--out", required=True)
    r.add_argument("--runs", type=int, default=10)
    r.add_argument("--busybox", default="/usr/bin/busybox")
    r.add_argument("--poll", type=float, default=0.01)
    r.add_argument("--pause", type=float, default=1.0)
    c = sub.add_parser("cleanup")
    c.add_argument("--engine", required=True)
    c.add_argument("--out", required=True)
    rep = sub.add_parser("report")
    rep.add_argument("out")
    a = ap.parse_args()
    {"run": cmd_run, "cleanup": cmd_cleanup, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()

"""What the benchmark drivers share (benches/deploy.py, benches/databases.py,
benches/edge.py):
the container engine's Docker-compatible API over its unix socket, Slipway's
REST API, a run's saved state, deployment records and logs, statistics and
the Markdown report's header. Standard library only.
"""

import argparse
import http.client
import json
import math
import os
import re
import socket
import sys
import threading
import time
import urllib.parse
from datetime import datetime

# Every container and image a benchmark makes carries this label.
BENCH_LABEL = "slipway-bench"

# The prefix of log lines; each driver sets its own.
LOG_NAME = ["bench"]


def log(msg):
    print(f"[{LOG_NAME[0]} {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def now():
    return time.time()


def ts(value):
    """An RFC 3339 timestamp from the API as epoch seconds."""
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def ms(a, b):
    """The milliseconds from `a` to `b` (epoch seconds), or None."""
    return None if a is None or b is None else (b - a) * 1000


def free_port(host="127.0.0.1"):
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


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

    def image_id(self, ref):
        status, data = self.call("GET", f"/images/{urllib.parse.quote(ref, safe='')}/json", ok=(200, 404))
        return json.loads(data)["Id"] if status == 200 else None

    def containers(self, label):
        q = urllib.parse.urlencode({"all": "1", "filters": json.dumps({"label": [label]})})
        return self.json("GET", f"/containers/json?{q}") or []

    def inspect(self, cid):
        status, data = self.call("GET", f"/containers/{cid}/json", ok=(200, 404))
        return json.loads(data) if status == 200 else None

    def remove_container(self, cid):
        self.call("DELETE", f"/containers/{cid}?force=1&v=1", ok=(200, 204, 404))

    def remove_image(self, ref):
        self.call("DELETE", f"/images/{urllib.parse.quote(ref, safe='')}?force=1", ok=(200, 404, 409))

    def remove_network(self, name):
        self.call("DELETE", f"/networks/{name}", ok=(200, 204, 404, 409, 500))

    def volumes(self, label):
        q = urllib.parse.urlencode({"filters": json.dumps({"label": [label]})})
        return (self.json("GET", f"/volumes?{q}") or {}).get("Volumes") or []

    def remove_volume(self, name):
        self.call("DELETE", f"/volumes/{name}?force=1", ok=(200, 204, 404, 409))

    def events(self, since, podman):
        """Container events since `since` (epoch seconds), as
        {id, name, status, t, release, service}. Podman ends the answer with
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
                "service": attrs.get("slipway.io/service"),
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

    def request(self, method, path, body=None):
        """One call: (status, the parsed body or None)."""
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
        try:
            parsed = json.loads(raw) if raw.strip() else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return resp.status, parsed

    def call(self, method, path, body=None, ok=(200, 201, 202, 204)):
        status, parsed = self.request(method, path, body)
        if status not in ok:
            raise RuntimeError(f"API {method} {path}: {status} {str(parsed)[:500]!r}")
        return parsed

    def new_environment(self, name):
        """A new project and environment in the first organization: (org, environment)."""
        org = self.call("GET", "/organization")["results"][0]["id"]
        project = self.call("POST", f"/organization/{org}/project", {"name": f"{name}-{int(now())}"})["id"]
        env = self.call("POST", f"/project/{project}/environment", {"name": name})["id"]
        return org, env

    def delete_environment(self, env, timeout=60):
        """Deletes an environment (a delete deployment removes its
        instances) and waits until it is gone."""
        try:
            self.call("DELETE", f"/environment/{env}", ok=(200, 202, 204))
            deadline = now() + timeout
            while now() < deadline:
                try:
                    self.call("GET", f"/environment/{env}")
                except RuntimeError:
                    break
                time.sleep(0.2)
        except RuntimeError as e:
            log(f"cannot delete the environment through the API ({e}); cleanup removes what is left")


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


def save_results(out, results):
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


def load_results(out):
    with open(os.path.join(out, "results.json")) as f:
        return json.load(f)


def finish_run(out, results, engine, api, env, since, keep):
    """The end of a run: keeps with the results the engine's container
    events since `since` that `keep` picks, then deletes the environment
    through the API (a delete deployment removes its instances)."""
    try:
        podman = "podman" in (results["engine"].get("name") or "").lower()
        results["engine_events"] = [e for e in engine.events(since - 1, podman) if keep(e)]
        save_results(out, results)
    except (OSError, RuntimeError, ValueError, KeyError, http.client.HTTPException) as e:
        log(f"cannot read the engine's events ({e}); the report goes without them")
    log("deleting the benchmark environment")
    api.delete_environment(env)
    log(f"results in {os.path.join(out, 'results.json')}")


def remove_labeled(engine, labels):
    """Removes every container with one of `labels` (cleanup)."""
    for label in labels:
        try:
            for c in engine.containers(label):
                engine.remove_container(c["Id"])
        except (OSError, RuntimeError) as e:
            log(f"cleanup: containers {label}: {e}")


# --------------------------------------------------------------------------- deployments


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


# Deployment log lines every deploy has (first match wins).
MARK_CLAIMED = ("claimed", re.compile(r" started by worker-"))
MARK_IMAGE_FROM_ENGINE = re.compile(r"^using .* from the engine")
MARK_STARTED = ("started", re.compile(r"^started \d+ instance\(s\)"))
MARK_READY = ("ready", re.compile(r"instance\(s\) ready$"))
MARK_DONE = ("done", re.compile(r"^done$"))


def first_marks(logs, patterns):
    """The time of the first log line matching each (name, regex)."""
    found = {}
    for line in logs:
        for name, pattern in patterns:
            if name not in found and pattern.search(line["message"]):
                found[name] = line["at"]
    return found


def first_events(events, statuses):
    """The time of the first engine event of each status in `statuses`."""
    found = {}
    for e in sorted(events, key=lambda e: e["t"]):
        if e["status"] in statuses and e["status"] not in found:
            found[e["status"]] = e["t"]
    return found


def deployment_failure(run, what):
    """Raises with the deployment log's tail when the run did not succeed."""
    status = run["deployment"]["status"]
    if status != "SUCCEEDED":
        tail = "\n".join(f"  {line['message']}" for line in run["logs"][-15:])
        raise RuntimeError(f"{what}: deployment {run['deployment_id']} ended {status}\n{tail}")


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


def columns(cases):
    """For a report over {case: {"summaries": [...]}}: col(case, key), the
    values of a key over a case's runs, and med(case, key), their median."""
    def col(case, key):
        return [s.get(key) for s in cases.get(case, {}).get("summaries", [])]

    def med(case, key):
        return (stats(col(case, key)) or {}).get("median")

    return col, med


STAT_HEADER = "| Case | median ms | p90 ms | min ms | max ms | runs | |\n|---|--:|--:|--:|--:|--:|---|"


def load_meta(out):
    meta = {}
    path = os.path.join(out, "meta.txt")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition(" ")
                meta[key] = value
    return meta


def phase_table(phases, names, med):
    """The lines of a table of median phase durations: a row a phase
    (label, key) that any case has, a column a case (case, title)."""
    lines = ["| Phase | " + " | ".join(n for _, n in names) + " |", "|---|" + "--:|" * len(names)]
    for label, key in phases:
        cells = [fmt_ms(med(c, key)) for c, _ in names]
        if any(x != "—" for x in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def start_report(out, summarize):
    """Loads the results in `out`, summarizes every run again (so that the
    report follows the driver's code) with summarize(case, run, engine
    events), and prints the report's header lines: (results, cases, col,
    med) as `columns` gives them."""
    results = load_results(out)
    cases = results["cases"]
    events = results.get("engine_events") or []
    for name, c in cases.items():
        c["summaries"] = [summarize(name, r, events) for r in c["runs"]]
    for line in header_lines(load_meta(out), results["engine"]):
        print(line)
    return (results, cases, *columns(cases))


def header_lines(meta, engine=None):
    """The report's first lines: when, which commit, the machine, the
    engine (when the benchmark uses one)."""
    lines = [
        f"- Date: {meta.get('run.date', '?')}, Slipway commit `{meta.get('version.slipway', '?')}`",
        f"- Machine: {meta.get('machine.cpus', '?')} CPUs ({meta.get('machine.cpu_model', '?')}), "
        f"{int(meta.get('machine.mem_kb', 0)) / 1048576:.1f} GiB memory, Linux {meta.get('machine.kernel', '?')}; "
        f"load average (1, 5, 15 min) {meta.get('run.loadavg', '?')} before the run, "
        f"{meta.get('run.loadavg_after', '?')} after",
    ]
    if engine is not None:
        extra = ", ".join(f"{k} {engine[k]}" for k in ("oci_runtime", "network_backend", "cgroup_manager")
                          if engine.get(k))
        lines.append(
            f"- Engine: {engine.get('name')} {engine.get('version')} (API {engine.get('api')}"
            f"{', ' + extra if extra else ''}{', cgroups ' + engine['cgroups'] if engine.get('cgroups') else ''})")
    return lines


# --------------------------------------------------------------------------- command line


def open_run(a):
    """What `run` works with: (the results directory, its state, the
    engine, the API with the admin token)."""
    out = os.path.abspath(a.out)
    with open(a.token_file) as f:
        api = Api(a.api, f.read().strip())
    return out, State(out), Engine(a.engine), api


def main(doc, commands, runs, add_run_args=lambda r: None):
    """The drivers' command line: `run` (the shared options, the driver's
    own from `add_run_args`), `cleanup` and `report`; calls
    commands[name](args)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--api", required=True)
    r.add_argument("--token-file", required=True)
    r.add_argument("--engine", required=True, help="the engine's unix socket path")
    r.add_argument("--out", required=True)
    r.add_argument("--runs", type=int, default=runs)
    r.add_argument("--poll", type=float, default=0.01)
    r.add_argument("--pause", type=float, default=1.0)
    add_run_args(r)
    c = sub.add_parser("cleanup")
    c.add_argument("--engine", required=True)
    c.add_argument("--out", required=True)
    rep = sub.add_parser("report")
    rep.add_argument("out")
    a = ap.parse_args()
    commands[a.cmd](a)

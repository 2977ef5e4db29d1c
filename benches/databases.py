#!/usr/bin/env python3
"""Database benchmark: the driver behind benches/databases.sh.

    databases.py run     --api URL --token-file FILE --engine SOCKET --out DIR --image REF
                         [--runs N] [--poll SECONDS] [--pause SECONDS]
    databases.py cleanup --engine SOCKET --out DIR
    databases.py report  DIR

`run` measures how long a PostgreSQL 15 CONTAINER database takes to accept a
real client (TCP, SCRAM-SHA-256 login, `select 1`) after a deploy, a restart
and a redeploy with a changed configuration, through a running
`slipway server`, against the container engine doing the same by hand with
the same image; writes DIR/results.json. `cleanup` removes whatever a run
(even an interrupted one) left on the engine; `report` prints the Markdown
report of DIR/results.json. Standard library only. Measurements, not
assertions: nothing here fails on a number.
"""

import base64
import hashlib
import hmac
import os
import re
import secrets
import socket
import struct
import subprocess
import threading
import time

import benchlib
from benchlib import (BENCH_LABEL, LOG_NAME, MARK_CLAIMED, MARK_DONE, MARK_IMAGE_FROM_ENGINE, MARK_READY,
                      MARK_STARTED, STAT_HEADER, Engine, State, deployment_failure, deployment_logs, finish_run,
                      first_events, first_marks, fmt_ms, free_port, log, ms, now, open_run, phase_table,
                      remove_labeled, save_results, start_report, stat_row, ts, wait_final)

LOG_NAME[0] = "databases-bench"

PG_PORT = 5432
LOGIN = "slipway"  # what Slipway generates for PostgreSQL, and what the raw runs use
DATABASE = "postgres"
DATA_DIR = "/var/lib/postgresql/data"
CPU_MILLIS = 500
MEMORY_MIB = 512
RAW_LABEL = f"{BENCH_LABEL}=raw-db"
TIMEOUT = 180


# --------------------------------------------------------------------------- a PostgreSQL client


class PgError(Exception):
    pass


_salted = {}  # (password, salt, iterations) -> salted password: the server's are fixed per role


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise PgError("the server closed the connection")
        buf += chunk
    return buf


def _message(sock):
    kind = _recv_exact(sock, 1)
    (length,) = struct.unpack("!I", _recv_exact(sock, 4))
    return kind, _recv_exact(sock, length - 4)


def _send(sock, kind, payload):
    sock.sendall(kind + struct.pack("!I", len(payload) + 4) + payload)


def _error_text(payload):
    fields = dict((f[:1], f[1:].decode(errors="replace")) for f in payload.split(b"\0") if f)
    return f"{fields.get(b'C', '?')} {fields.get(b'M', '')}"


def _scram(sock, user, password, mechanisms):
    if b"SCRAM-SHA-256" not in mechanisms:
        raise PgError(f"no supported SASL mechanism in {mechanisms!r}")
    nonce = base64.b64encode(secrets.token_bytes(18)).decode()
    first_bare = f"n=,r={nonce}"
    first = ("n,," + first_bare).encode()
    _send(sock, b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first)
    kind, payload = _message(sock)
    if kind == b"E":
        raise PgError(_error_text(payload))
    code, server_first = struct.unpack("!I", payload[:4])[0], payload[4:].decode()
    if code != 11:
        raise PgError(f"unexpected SASL step {code}")
    attrs = dict(item.split("=", 1) for item in server_first.split(","))
    key = (password, attrs["s"], int(attrs["i"]))
    if key not in _salted:
        _salted[key] = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    salted = _salted[key]
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    final_bare = f"c=biws,r={attrs['r']}"
    auth_message = f"{first_bare},{server_first},{final_bare}".encode()
    signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    _send(sock, b"p", f"{final_bare},p={base64.b64encode(proof).decode()}".encode())


def pg_query(port, user, password, database, sql, timeout=1.0, host="127.0.0.1"):
    """Connects, logs in (SCRAM-SHA-256, MD5 or clear text), runs one query
    and returns the first column of its first row as text. Raises OSError or
    PgError."""
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        sock.settimeout(timeout)
        params = f"user\0{user}\0database\0{database}\0application_name\0slipway-bench\0\0".encode()
        sock.sendall(struct.pack("!II", len(params) + 8, 196608) + params)
        while True:
            kind, payload = _message(sock)
            if kind == b"E":
                raise PgError(_error_text(payload))
            if kind != b"R":
                raise PgError(f"unexpected message {kind!r} during login")
            code = struct.unpack("!I", payload[:4])[0]
            if code == 0:
                break
            if code == 3:
                _send(sock, b"p", password.encode() + b"\0")
            elif code == 5:
                inner = hashlib.md5(password.encode() + user.encode()).hexdigest().encode()
                _send(sock, b"p", b"md5" + hashlib.md5(inner + payload[4:8]).hexdigest().encode() + b"\0")
            elif code == 10:
                _scram(sock, user, password, payload[4:].split(b"\0"))
            elif code == 12:
                continue  # SASL final: the server's signature; AuthenticationOk follows
            else:
                raise PgError(f"unsupported authentication request {code}")
        while True:  # parameters, key data, then ReadyForQuery
            kind, payload = _message(sock)
            if kind == b"E":
                raise PgError(_error_text(payload))
            if kind == b"Z":
                break
        _send(sock, b"Q", sql.encode() + b"\0")
        value = None
        while True:
            kind, payload = _message(sock)
            if kind == b"E":
                raise PgError(_error_text(payload))
            if kind == b"D" and value is None:
                (n,) = struct.unpack("!H", payload[:2])
                (size,) = struct.unpack("!i", payload[2:6])
                value = payload[6:6 + size].decode() if n and size >= 0 else None
            if kind == b"Z":
                break
        _send(sock, b"X", b"")
        return value
    finally:
        sock.close()


START_TIME_SQL = "select extract(epoch from pg_postmaster_start_time())::text"


class Watcher:
    """Polls a database from t0 on: a new connection, login and query each
    time, until a server that started after `old_start` (the postmaster's
    start time; None on a first start) answers. Notes the last success of
    the old server, the first of the new one, and the errors it saw."""

    def __init__(self, creds, poll, deadline, old_start=None):
        self.creds = creds  # a function: None until known, then (port, user, password)
        self.poll = poll
        self.deadline = deadline
        self.old_start = old_start
        self.result = {"t_ready": None, "t_last_old": None, "polls": 0, "errors": {}, "t_creds": None}
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def join(self):
        self.thread.join(TIMEOUT + 10)
        return self.result

    def _run(self):
        r = self.result
        known = None
        while now() < self.deadline:
            if known is None:
                known = self.creds()
                if known is None:
                    time.sleep(self.poll)
                    continue
                r["t_creds"] = now()
                r["port"] = known[0]
            port, user, password = known
            r["polls"] += 1
            try:
                started = pg_query(port, user, password, DATABASE, START_TIME_SQL)
                t = now()
                if self.old_start is not None and started == self.old_start:
                    r["t_last_old"] = t
                else:
                    r["t_ready"] = t
                    r["server_start"] = started
                    return
            except (OSError, PgError) as e:
                what = (str(e) or type(e).__name__)[:80]
                r["errors"][what] = r["errors"].get(what, 0) + 1
            time.sleep(self.poll)


# --------------------------------------------------------------------------- the raw engine


def raw_create(engine, volume, image, password, port):
    """A container as Slipway makes one for a PUBLIC PostgreSQL database (the
    image's environment, the volume, the published port, the limits), not
    started."""
    memory = MEMORY_MIB * 1024 * 1024
    body = {
        "Image": image,
        "Env": [f"POSTGRES_USER={LOGIN}", f"POSTGRES_PASSWORD={password}", f"POSTGRES_DB={DATABASE}"],
        "ExposedPorts": {f"{PG_PORT}/tcp": {}},
        "Labels": {BENCH_LABEL: "raw-db"},
        "StopTimeout": 10,
        "HostConfig": {
            "Mounts": [{"Type": "volume", "Source": volume, "Target": DATA_DIR}],
            "PortBindings": {f"{PG_PORT}/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]},
            "NanoCpus": CPU_MILLIS * 1_000_000,
            "Memory": memory,
            "MemorySwap": memory,
        },
    }
    return engine.json("POST", "/containers/create", body)["Id"]


def raw_remove(engine, cid, volume):
    engine.remove_container(cid)
    engine.remove_volume(volume)


def raw_first_start(engine, image, poll, index):
    """Volume, container, start; until a client gets in."""
    name = f"slipway-bench-pg-{os.getpid()}-{index}"
    password = secrets.token_urlsafe(24)
    port = free_port("0.0.0.0")
    r = {"name": name, "t0": now()}
    watcher = Watcher(lambda: (port, LOGIN, password), poll, r["t0"] + TIMEOUT).start()
    engine.json("POST", "/volumes/create", {"Name": name, "Labels": {BENCH_LABEL: "raw-db"}})
    r["id"] = raw_create(engine, name, image, password, port)
    r["t_created"] = now()
    return start_and_wait(engine, r, watcher), (r["id"], name, port, password)


def start_and_wait(engine, r, watcher):
    """Starts the run's container; then waits for its client."""
    engine.call("POST", f"/containers/{r['id']}/start")
    r["t_started"] = now()
    r.update(watcher.join())
    return r


def raw_restart(engine, container, poll, replace_with=None):
    """Stop (the image's stop signal, SIGINT: a fast shutdown) and start the
    same container; or, given an image to `replace_with`, what Slipway's
    rollout does on the engine, by hand: stop and remove the container,
    create a new one on the same volume, start it. Until a client gets in
    to the new server."""
    cid, volume, port, password = container
    old = pg_query(port, LOGIN, password, DATABASE, START_TIME_SQL, timeout=5)
    r = {"t0": now(), "id": cid}
    watcher = Watcher(lambda: (port, LOGIN, password), poll, r["t0"] + TIMEOUT, old_start=old).start()
    engine.call("POST", f"/containers/{cid}/stop?t=10")
    if replace_with:
        engine.remove_container(cid)
        r["old_id"] = cid
    r["t_stopped"] = now()
    if replace_with:
        r["id"] = raw_create(engine, volume, replace_with, password, port)
        r["t_created"] = now()
    return start_and_wait(engine, r, watcher), (r["id"], volume, port, password)


# --------------------------------------------------------------------------- Slipway


def container_env(info):
    """A container's environment, from the engine's inspect."""
    return dict(e.split("=", 1) for e in (info.get("Config") or {}).get("Env") or [])


def credentials_of(api, engine, db_id, source):
    """A function that returns (port, login, password) once the database has
    credentials with its public host port: from
    GET /database/{id}/masterCredentials; where that route does not answer,
    from the engine's view of the service's container (its published port
    and environment). `source` records which, and how many answers named
    the internal port instead (the credentials stored, the public port not
    yet)."""
    def get():
        status, body = api.request("GET", f"/database/{db_id}/masterCredentials")
        if status == 200 and body["port"] == PG_PORT:
            source["internal"] = source.get("internal", 0) + 1
            return None
        if status == 200:
            source["via"] = "api"
            return body["port"], body["login"], body["password"]
        if status == 404 and "masterCredentials" not in str(body) and source.get("via") != "api":
            for c in engine.containers(f"slipway.io/service={db_id}"):
                info = engine.inspect(c["Id"]) or {}
                env = container_env(info)
                bindings = ((info.get("HostConfig") or {}).get("PortBindings") or {}).get(f"{PG_PORT}/tcp") or []
                if "POSTGRES_PASSWORD" in env and bindings:
                    source["via"] = "engine"
                    return int(bindings[0]["HostPort"]), env.get("POSTGRES_USER", LOGIN), env["POSTGRES_PASSWORD"]
        return None
    return get


def slipway_run(api, engine, env_id, db_id, path, body, poll, old_start=None):
    """One action on the database: POST, then watch the database (for a new
    server that lets a client in) and the deployment (for its end) at once."""
    source = {}
    r = {"t0": now()}
    watcher = Watcher(credentials_of(api, engine, db_id, source), poll, r["t0"] + TIMEOUT, old_start).start()
    resp = api.call("POST", path, body)
    r["t_accepted"] = now()
    r["deployment_id"] = resp["deployment_request_id"]
    r["t_final"], r["deployment"], r["status_polls"] = wait_final(api, r["deployment_id"], poll, r["t0"] + TIMEOUT)
    if r["t_final"]:  # a client that cannot get in 30 s after the end will not
        watcher.deadline = min(watcher.deadline, r["t_final"] + 30)
    r.update(watcher.join())
    r["credentials_via"] = source.get("via")
    r["credentials_internal"] = source.get("internal", 0)
    r["logs"] = deployment_logs(api, env_id, r["deployment_id"])
    return r


def diagnose(api, engine, db_id):
    """Why a client cannot get in: the credentials' host and port, the
    service's containers as the engine sees them (and whether the server
    answers on the container's own address), the host's NAT rules and
    listeners for the port."""
    out = {"containers": []}
    status, creds = api.request("GET", f"/database/{db_id}/masterCredentials")
    port = creds.get("port") if status == 200 else None
    out["credentials"] = {k: v for k, v in creds.items() if k != "password"} if status == 200 else creds
    for c in engine.containers(f"slipway.io/service={db_id}"):
        info = engine.inspect(c["Id"]) or {}
        net = info.get("NetworkSettings") or {}
        ips = [n.get("IPAddress") for n in (net.get("Networks") or {}).values() if n.get("IPAddress")]
        found = {"name": info.get("Name"), "state": (info.get("State") or {}).get("Status"), "ips": ips,
                 "port_bindings": (info.get("HostConfig") or {}).get("PortBindings"), "ports": net.get("Ports")}
        for ip in ips:
            try:
                env = container_env(info)
                pg_query(PG_PORT, env.get("POSTGRES_USER", LOGIN), env.get("POSTGRES_PASSWORD", ""), DATABASE,
                         "select 1", host=ip)
                found[f"direct {ip}"] = "in"
            except (OSError, PgError) as e:
                found[f"direct {ip}"] = str(e)
        out["containers"].append(found)
    if port:
        for name, cmd in (("nat", ["iptables", "-w", "-t", "nat", "-S"]), ("listeners", ["ss", "-ltnp"])):
            try:
                text = subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
                out[name] = [line for line in text.splitlines() if str(port) in line]
            except (OSError, subprocess.SubprocessError) as e:
                out[name] = str(e)
    return out


def database_body(name, memory=MEMORY_MIB):
    return {"name": name, "type": "POSTGRESQL", "version": "15", "mode": "CONTAINER", "accessibility": "PUBLIC",
            "cpu": CPU_MILLIS, "memory": memory, "storage": 1}


def wait_gone(api, path, timeout=120):
    deadline = now() + timeout
    while now() < deadline:
        status, _ = api.request("GET", path)
        if status == 404:
            return True
        time.sleep(0.1)
    return False


# --------------------------------------------------------------------------- summaries


# Deployment log lines that mark the phases of a database deploy (first match wins).
MARKS = [
    MARK_CLAIMED,
    ("step", re.compile(r"^(Deploy|Restart) database `")),
    ("image", MARK_IMAGE_FROM_ENGINE),
    ("credentials", re.compile(r"^generated credentials for ")),
    ("public_port", re.compile(r" is public on host port \d+$")),
    ("storage_stop", re.compile(r"persistent storage: the old revision stops")),
    ("retired", re.compile(r"^stopped \d+ old instance\(s\)")),
    MARK_STARTED,
    MARK_READY,
    MARK_DONE,
]

ENGINE_STATUSES = ("create", "init", "start", "die", "cleanup", "remove")


def engine_phases(events, mine, window, stop_from, removed_at, create_from, started_at, ready_at):
    """Durations (ms) around the engine's events of the containers `mine`
    picks, within `window` (the run's): the old one stopping, the new one
    starting."""
    since, until = window[0] - 0.001, max(t for t in window if t) + 0.001
    ev = first_events([e for e in events if mine(e) and since <= e["t"] <= until], ENGINE_STATUSES)
    out = {}
    if "die" in ev:
        out["stop_to_exit"] = ms(stop_from, ev["die"])
        out["exit_to_cleanup"] = ms(ev["die"], ev.get("cleanup"))
        out["cleanup_to_removed"] = ms(ev.get("cleanup"), removed_at)
    if "start" in ev:
        out["before_create"] = ms(create_from, ev.get("create"))
        out["engine_start"] = ms(ev.get("create"), ev["start"])
        out["after_start"] = ms(ev["start"], started_at)
        out["start_to_client"] = ms(ev["start"], ready_at)
    return out


def summarize(run, events):
    """Durations (ms) of one Slipway run: the client's clock, the
    deployment's timestamps and log lines, the engine's events."""
    d = run["deployment"]
    m = first_marks(run["logs"], MARKS)
    created, started, finished = ts(d["created_at"]), ts(d["started_at"]), ts(d["finished_at"])
    out = {
        "status": d["status"],
        "to_ready": ms(run["t0"], run.get("t_ready")),
        "to_succeeded": ms(run["t0"], run["t_final"]) if d["status"] == "SUCCEEDED" else None,
        "downtime": ms(run.get("t_last_old"), run.get("t_ready")),
        "accepted": ms(run["t0"], run["t_accepted"]),
        "queue": ms(created, started),
        "prepare": ms(started, m.get("step")),
        "image": ms(m.get("step"), m.get("image")),
        "retire": ms(m.get("storage_stop"), m.get("retired")),
        "readiness": ms(m.get("started"), m.get("ready")),
        "client_after_ready": ms(m.get("ready"), run.get("t_ready")),
        "succeeded_after_client": ms(run.get("t_ready"), run.get("t_final")),
        "finish": ms(m.get("ready"), finished),
        "seen_after_finish": ms(finished, run.get("t_final")),
        "server_total": ms(created, finished),
    }
    before = m.get("retired") or m.get("public_port") or m.get("credentials") or m.get("image") or m.get("step")
    out.update(engine_phases(events, lambda e: e.get("service") == run.get("service_id"),
                             (run["t0"], run.get("t_ready"), run.get("t_final")),
                             m.get("storage_stop"), m.get("retired"), before, m.get("started"), run.get("t_ready")))
    return out


def summarize_raw(run, events):
    ids = {run.get("id"), run.get("old_id")}
    out = {
        "to_ready": ms(run["t0"], run.get("t_ready")),
        "downtime": ms(run.get("t_last_old"), run.get("t_ready")),
        "create": ms(run["t0"], run.get("t_created")) if "t_stopped" not in run else None,
        "stop": ms(run["t0"], run.get("t_stopped")),
        "start_call": ms(run.get("t_created") or run.get("t_stopped"), run.get("t_started")),
    }
    out.update(engine_phases(events, lambda e: e["id"] in ids, (run["t0"], run.get("t_ready")), run["t0"],
                             run.get("t_stopped"),
                             run.get("t_stopped") or run["t0"], run.get("t_started"), run.get("t_ready")))
    return out


# --------------------------------------------------------------------------- run


def cmd_run(a):
    out, state, engine, api = open_run(a)
    info = engine.version()
    results = {"runs": a.runs, "poll_ms": a.poll * 1000, "pause_s": a.pause, "engine": info, "image": a.image,
               "image_id": engine.image_id(a.image), "cpu_millis": CPU_MILLIS, "memory_mib": MEMORY_MIB, "cases": {}}
    if not results["image_id"]:
        raise SystemExit(f"the image {a.image} is not on the engine")
    t_begin = now()
    raws = []  # (container id, volume) still to remove

    def remember(cid, volume):
        raws.append((cid, volume))
        state.set("raw", raws)

    _, env = api.new_environment("databases-bench")
    state.set("environment_id", env)

    def create_db(name, memory=MEMORY_MIB):
        t = now()
        db = api.call("POST", f"/environment/{env}/database", database_body(name, memory))["id"]
        state.set("databases", state.get("databases", []) + [db])
        return db, ms(t, now())

    def run_db(db, action, body=None, old_start=None):
        """One action; None (and the run kept in results["failures"]) when
        the deployment succeeded but no client got in."""
        r = slipway_run(api, engine, env, db, f"/database/{db}/{action}", body, a.poll, old_start)
        r["service_id"] = db
        deployment_failure(r, f"database {action}")
        if r.get("t_ready") is None:
            r["diagnosis"] = diagnose(api, engine, db)
            results.setdefault("failures", []).append(dict(r, action=action))
            save_results(out, results)
            log(f"database {action}: SUCCEEDED, but no client got in ({r['errors']}): {r['diagnosis']}")
            return None
        return r

    def required(r, what):
        if r is None:
            raise RuntimeError(f"{what}: no client got in (diagnosis in results.json, `failures`)")
        return r

    def delete_db(db):
        api.call("DELETE", f"/database/{db}", ok=(200, 202, 204))
        if not wait_gone(api, f"/database/{db}"):
            log(f"database {db} is still there after its delete")

    def record(name, runs):
        results["cases"][name] = {"runs": runs}
        save_results(out, results)

    def pause():
        time.sleep(a.pause)

    # Warm-ups (not measured): the first deploy creates the environment's
    # network and stages; one raw first start.
    log("warm-up: one Slipway first start (creates the environment's network), one raw first start")
    db, _ = create_db("pg-warm")
    required(run_db(db, "deploy"), "warm-up deploy")
    delete_db(db)
    r, (cid, volume, _, _) = raw_first_start(engine, a.image, a.poll, "warm")
    remember(cid, volume)
    raw_remove(engine, cid, volume)

    # 1, 2. First start, interleaved: raw, Slipway, raw, Slipway, ...
    # Each on a new volume; removed (outside the timing) before the next.
    raw_runs, dep_runs = [], []
    for i in range(a.runs):
        pause()
        r, (cid, volume, _, _) = raw_first_start(engine, a.image, a.poll, i)
        remember(cid, volume)
        raw_runs.append(r)
        raw_remove(engine, cid, volume)
        pause()
        db, create_ms = create_db(f"pg-first-{i}")
        d = run_db(db, "deploy")
        delete_db(db)
        if d is None:
            continue  # counted in the report
        d["create_ms"] = create_ms
        dep_runs.append(d)
        log(f"first start {i + 1}/{a.runs}: raw engine {ms(r['t0'], r['t_ready']):.0f} ms, "
            f"slipway client in {ms(d['t0'], d['t_ready']):.0f} ms, SUCCEEDED {ms(d['t0'], d['t_final']):.0f} ms")
        record("raw_first", raw_runs)
        record("slipway_first", dep_runs)

    # 3, 4. Restarts of initialised databases, interleaved.
    log("restarts: one raw container and one Slipway database, initialised first")
    r, raw_container = raw_first_start(engine, a.image, a.poll, "restart")
    remember(raw_container[0], raw_container[1])
    db, _ = create_db("pg-restart")
    state.set("restart_db", db)
    required(run_db(db, "deploy"), "first deploy of the database to restart")
    db_port, db_login, db_password = credentials_of(api, engine, db, {})()

    def server_start(port, login, password):
        return pg_query(port, login, password, DATABASE, START_TIME_SQL, timeout=5)

    raw_runs, rep_runs, dep_runs = [], [], []
    for i in range(a.runs):
        pause()
        raw_runs.append(raw_restart(engine, raw_container, a.poll)[0])
        pause()
        r, raw_container = raw_restart(engine, raw_container, a.poll, replace_with=a.image)
        remember(raw_container[0], raw_container[1])
        rep_runs.append(r)
        pause()
        old = server_start(db_port, db_login, db_password)
        d = required(run_db(db, "restart-service", old_start=old), "restart")
        dep_runs.append(d)
        log(f"restart {i + 1}/{a.runs}: raw stop+start {ms(raw_runs[-1]['t0'], raw_runs[-1]['t_ready']):.0f} ms, "
            f"raw replace {ms(r['t0'], r['t_ready']):.0f} ms, slipway client in {ms(d['t0'], d['t_ready']):.0f} ms, "
            f"SUCCEEDED {ms(d['t0'], d['t_final']):.0f} ms")
        record("raw_restart", raw_runs)
        record("raw_replace", rep_runs)
        record("slipway_restart", dep_runs)

    # 5. Redeploy after a configuration change (memory 512 <-> 640 MiB): a
    # new release, rolled out like a restart.
    runs = []
    for i in range(a.runs):
        pause()
        memory = MEMORY_MIB + 128 if i % 2 == 0 else MEMORY_MIB
        api.call("PUT", f"/database/{db}", database_body("pg-restart", memory))
        old = server_start(db_port, db_login, db_password)
        d = required(run_db(db, "deploy", old_start=old), "redeploy after a change")
        runs.append(d)
        log(f"redeploy after a change {i + 1}/{a.runs}: client in {ms(d['t0'], d['t_ready']):.0f} ms, "
            f"SUCCEEDED {ms(d['t0'], d['t_final']):.0f} ms")
        record("slipway_change", runs)

    raw_remove(engine, raw_container[0], raw_container[1])

    # The engine's own view: create, start, died... of every container involved.
    services = {r["service_id"] for c in results["cases"].values() for r in c["runs"] if "service_id" in r}
    ids = {r.get(k) for c in results["cases"].values() for r in c["runs"] for k in ("id", "old_id")}
    finish_run(out, results, engine, api, env, t_begin, lambda e: e["id"] in ids or e.get("service") in services)


def cmd_cleanup(a):
    state = State(a.out)
    engine = Engine(a.engine)
    env = state.get("environment_id")
    labels = [RAW_LABEL] + ([f"slipway.io/environment={env}"] if env else [])
    remove_labeled(engine, labels)
    try:
        for label in labels:
            for v in engine.volumes(label):
                engine.remove_volume(v["Name"])
        for _, volume in state.get("raw", []):
            engine.remove_volume(volume)
        if env:
            engine.remove_network("slipway-" + env.replace("-", ""))
    except (OSError, RuntimeError) as e:
        log(f"cleanup: {e}")


# --------------------------------------------------------------------------- report


def cmd_report(a):
    results, cases, col, med = start_report(
        a.out, lambda name, r, events: (summarize_raw if name.startswith("raw") else summarize)(r, events))
    p = print
    p(f"- Image `{results['image']}` ({(results.get('image_id') or '?').split(':')[-1][:12]}), the same for both; "
      f"{results['cpu_millis']} millicores, {results['memory_mib']} MiB for both; PUBLIC (published port, "
      f"0.0.0.0); the client connects to 127.0.0.1:<host port>, logs in (SCRAM-SHA-256) and runs a query")
    p(f"- {results['runs']} measured runs per case after warm-ups, interleaved; the client polls every "
      f"{results['poll_ms']:.0f} ms (a new connection each time); {results['pause_s']} s pause between runs")
    p()
    p(STAT_HEADER)
    rows = [
        ("Raw engine, first start: volume + create + start → client in", "raw_first", "to_ready",
         "initdb on a new volume"),
        ("Slipway, first start: deploy → client in", "slipway_first", "to_ready", "new service, new volume"),
        ("Slipway, first start: deploy → deployment SUCCEEDED", "slipway_first", "to_succeeded", ""),
        ("Raw engine, restart: stop + start → client in (new server)", "raw_restart", "to_ready",
         "same container, SIGINT"),
        ("Raw engine, replace: stop + remove + create + start → client in", "raw_replace", "to_ready",
         "what Slipway does, by hand"),
        ("Slipway, restart-service → client in (new server)", "slipway_restart", "to_ready",
         "old revision stops, new starts"),
        ("Slipway, restart-service → SUCCEEDED", "slipway_restart", "to_succeeded", ""),
        ("Slipway, redeploy after a change (memory) → client in", "slipway_change", "to_ready", "new release"),
        ("Slipway, redeploy after a change → SUCCEEDED", "slipway_change", "to_succeeded", ""),
        ("Raw engine, restart: unavailable (last old answer → first new)", "raw_restart", "downtime", ""),
        ("Slipway, restart-service: unavailable", "slipway_restart", "downtime", ""),
    ]
    for label, case, key, note in rows:
        if case in cases:
            p(stat_row(label, col(case, key), note))
    p()
    p("| Ratio (medians, to client in) | Slipway / raw | |")
    p("|---|--:|---|")
    for label, num, den in [("First start", "slipway_first", "raw_first"),
                            ("Restart vs raw stop + start", "slipway_restart", "raw_restart"),
                            ("Restart vs raw replace", "slipway_restart", "raw_replace")]:
        n, d = med(num, "to_ready"), med(den, "to_ready")
        if n and d:
            p(f"| {label} | {fmt_ms(n)} ms / {fmt_ms(d)} ms = **{n / d:.2f}×** | |")
    p()
    p("Where the time goes (medians, ms; the deployment's timestamps and log lines, the engine's container "
      "events, the client's clock):")
    p()
    phases = [
        ("request → 202 Accepted (client)", "accepted"),
        ("queue: created → claimed by a worker", "queue"),
        ("prepare: claimed → service step starts", "prepare"),
        ("image: engine lookup", "image"),
        ("old instance: stop asked → process exited (engine `die`; PostgreSQL's fast shutdown)", "stop_to_exit"),
        ("old instance: engine `die` → `cleanup` (network teardown, unmount)", "exit_to_cleanup"),
        ("old instance: `cleanup` → stopped/removed (Slipway: log line; raw: the call returns)",
         "cleanup_to_removed"),
        ("old instance, in all: stop asked → stopped and removed", "retire"),
        ("raw: stop (restart) / stop + remove (replace) calls", "stop"),
        ("raw: volume + create calls", "create"),
        ("raw: start call (restart: the stopped container; otherwise the new one)", "start_call"),
        ("→ engine `create` event (Slipway: release, credentials, network, volume checks, create call)",
         "before_create"),
        ("engine: `create` → `start` events (network setup, runtime)", "engine_start"),
        ("engine `start` event → instance known started (Slipway: inspect; raw: start call returns)",
         "after_start"),
        ("Slipway readiness: started → TCP probe passes (200 ms period)", "readiness"),
        ("engine `start` event → client in (initdb or recovery, server start, login)", "start_to_client"),
        ("Slipway `ready` → client in (negative: the client got in first)", "client_after_ready"),
        ("ready → finished_at", "finish"),
        ("finished_at → SUCCEEDED seen by the client (poll)", "seen_after_finish"),
        ("server total: created_at → finished_at", "server_total"),
        ("**end to end: request → client in**", "to_ready"),
        ("**end to end: request → SUCCEEDED**", "to_succeeded"),
        ("client in → SUCCEEDED seen by the client", "succeeded_after_client"),
    ]
    names = [("raw_first", "raw first start"), ("slipway_first", "Slipway first start"),
             ("raw_restart", "raw stop + start"), ("raw_replace", "raw replace"),
             ("slipway_restart", "Slipway restart"), ("slipway_change", "Slipway change")]
    names = [(c, n) for c, n in names if c in cases]
    for line in phase_table(phases, names, med):
        p(line)
    early = [(name, i + 1) for name, c in cases.items() for i, r in enumerate(c["runs"])
             if r.get("t_final") and r.get("t_ready") and r["t_final"] < r["t_ready"]]
    slipway_runs = sum(len(c["runs"]) for name, c in cases.items() if name.startswith("slipway"))
    p()
    p(f"Runs whose deployment was SUCCEEDED before the client could log in: {len(early)} of {slipway_runs}"
      + (f" ({', '.join(f'{n} run {i}' for n, i in early)})" if early else "") + ".")
    failures = results.get("failures") or []
    if failures:
        p()
        p(f"**{len(failures)} Slipway run(s) left out: the deployment SUCCEEDED but no client got in** "
          f"(within 30 s of the end; `failures` in results.json has each one's diagnosis).")
    via = {r.get("credentials_via") for c in cases.values() for r in c["runs"] if r.get("credentials_via")}
    errors = {}
    for c in cases.values():
        for r in c["runs"]:
            for k, v in (r.get("errors") or {}).items():
                errors[k] = errors.get(k, 0) + v
    p()
    internal = [r.get("credentials_internal", 0) for name, c in cases.items() if name.startswith("slipway")
                for r in c["runs"]]
    p(f"`masterCredentials` answered with the internal port ({PG_PORT}) before the public one in "
      f"{sum(1 for n in internal if n)} of {len(internal)} runs (the credentials stored, the public port not yet).")
    p()
    p(f"Credentials read through: {', '.join(sorted(via)) or '—'}. What the client saw before it got in "
      f"(all runs): " + "; ".join(f"{k} ×{v}" for k, v in sorted(errors.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    benchlib.main(__doc__, {"run": cmd_run, "cleanup": cmd_cleanup, "report": cmd_report}, 5,
                  lambda r: r.add_argument("--image", required=True, help="the PostgreSQL 15 image the server runs"))

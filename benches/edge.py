#!/usr/bin/env python3
"""Edge proxy benchmark: the driver behind benches/edge.sh.

    edge.py run    --out DIR --host HOST --target NAME=URL:PID [--target ...]
                   [--runs N] [--threads T] [--connections C] [--duration S] [--warmup S]
                   [--idle N] [--idle-target NAME=HOST:PORT:PID ...]
    edge.py report DIR

`run` drives every target with the same wrk command (keep-alive HTTP/1.1,
`Host: HOST`), in rounds whose order alternates between the proxies, and
records throughput, wrk's latency percentiles and the CPU time each target's
processes used; then, for each idle target, opens N keep-alive connections
(one request each, then idle) and reads the RSS of the target's processes
before, with the connections open, and after they are closed. Writes
DIR/results.json; `report` prints the Markdown report. Standard library
only. Measurements, not assertions: nothing here fails on a number.
"""

import argparse
import asyncio
import json
import os
import re
import resource
import subprocess
import time

import benchlib
from benchlib import LOG_NAME, load_meta, load_results, log, save_results, stats

LOG_NAME[0] = "edge-bench"

CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- processes


def process_tree(pid):
    """`pid` and its descendants (nginx: the master and its workers)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def cpu_seconds(pid):
    """User + system CPU seconds of `pid` and its descendants."""
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def memory_kib(pid):
    """VmRSS and RssAnon (KiB) summed over `pid` and its descendants, and
    their number of open file descriptors."""
    rss = anon = fds = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("RssAnon:"):
                        anon += int(line.split()[1])
            fds += len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            continue
    return {"rss_kib": rss, "anon_kib": anon, "fds": fds, "processes": len(process_tree(pid))}


# --------------------------------------------------------------------------- wrk

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def duration_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNITS_MS[m.group(2)] if m else None


def parse_wrk(text):
    """Requests/s, latency percentiles (ms), request count and errors from wrk's output."""
    out = {"percentiles": {}}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+\w+)", text)
    out["requests"] = int(m.group(1)) if m else None
    m = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    if m:
        out["mean_ms"], out["stdev_ms"], out["max_ms"] = (duration_ms(x) for x in m.groups())
    for pct, value in re.findall(r"^\s+(\d+)%\s+(\S+)$", text, re.M):
        out["percentiles"][pct] = duration_ms(value)
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non_2xx"] = int(m.group(1)) if m else 0
    return out


def run_wrk(url, host, threads, connections, seconds, pid):
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Host: {host}", url]
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    elapsed = time.monotonic() - t0
    result = parse_wrk(text)
    result.update({"command": " ".join(cmd), "cpu_s": cpu_seconds(pid) - cpu0, "wall_s": elapsed, "raw": text})
    return result


# --------------------------------------------------------------------------- idle connections


async def _read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    if m is None:
        raise RuntimeError(f"no content-length in {head[:200]!r}")
    await reader.readexactly(int(m.group(1)))
    status = int(head.split(b" ", 2)[1])
    if status != 200:
        raise RuntimeError(f"status {status}")


async def _idle(host, port, vhost, count, pid, settle, concurrency=200):
    request = f"GET / HTTP/1.1\r\nHost: {vhost}\r\n\r\n".encode()
    limit = asyncio.Semaphore(concurrency)
    errors = {}

    async def one():
        async with limit:
            try:
                reader, writer = await asyncio.open_connection(host, port)
                writer.write(request)
                await writer.drain()
                await _read_response(reader)
                return reader, writer
            except (OSError, RuntimeError, asyncio.IncompleteReadError) as e:
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                return None

    before = memory_kib(pid)
    t0 = time.monotonic()
    conns = [c for c in await asyncio.gather(*(one() for _ in range(count))) if c is not None]
    opened_s = time.monotonic() - t0
    await asyncio.sleep(settle)
    open_ = memory_kib(pid)

    # Still open and usable? A second request on every connection.
    async def again(conn):
        reader, writer = conn
        async with limit:
            try:
                writer.write(request)
                await writer.drain()
                await _read_response(reader)
                return True
            except (OSError, RuntimeError, asyncio.IncompleteReadError):
                return False

    alive = sum(await asyncio.gather(*(again(c) for c in conns)))
    for _, writer in conns:
        writer.close()
    await asyncio.sleep(settle)
    closed = memory_kib(pid)
    return {"count": count, "opened": len(conns), "errors": errors, "open_s": opened_s, "alive_after": alive,
            "settle_s": settle, "before": before, "open": open_, "closed": closed}


def idle_connections(host, port, vhost, count, pid, settle=2.0):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(hard, count + 100), count + 1000), hard))
    return asyncio.run(_idle(host, port, vhost, count, pid, settle))


# --------------------------------------------------------------------------- run


def parse_target(spec):
    name, _, rest = spec.partition("=")
    url, _, pid = rest.rpartition(":")
    return name, url, int(pid)


def cmd_run(a):
    out = os.path.abspath(a.out)
    targets = [parse_target(t) for t in a.target]
    results = {"config": {"host": a.host, "threads": a.threads, "connections": a.connections,
                          "duration_s": a.duration, "warmup_s": a.warmup, "runs": a.runs, "idle": a.idle},
               "targets": {name: {"url": url} for name, url, _ in targets}, "wrk": {}, "idle": {}}
    for name, url, pid in targets:
        log(f"warm-up {name} ({url}, {a.warmup} s)")
        run_wrk(url, a.host, a.threads, a.connections, a.warmup, pid)
    for round_ in range(a.runs):
        # Alternate the order so that neither proxy always runs first (or after the other's load).
        order = targets if round_ % 2 == 0 else list(reversed(targets))
        for name, url, pid in order:
            r = run_wrk(url, a.host, a.threads, a.connections, a.duration, pid)
            r["round"] = round_
            results["wrk"].setdefault(name, []).append(r)
            log(f"round {round_ + 1}/{a.runs} {name}: {r['rps']:,.0f} req/s, p50 {r['percentiles'].get('50')} ms, "
                f"p99 {r['percentiles'].get('99')} ms, errors {r['socket_errors']}, non-2xx {r['non_2xx']}")
            save_results(out, results)
            time.sleep(1)
    for spec in a.idle_target:
        name, rest = spec.split("=", 1)
        host, port, pid = rest.rsplit(":", 2)
        log(f"{a.idle} idle keep-alive connections to {name} ({host}:{port})")
        r = idle_connections(host, int(port), a.host, a.idle, int(pid))
        log(f"{name}: {r['opened']} opened in {r['open_s']:.1f} s, {r['alive_after']} still answered; RSS "
            f"{r['before']['rss_kib']} → {r['open']['rss_kib']} → {r['closed']['rss_kib']} KiB")
        results["idle"][name] = r
        save_results(out, results)
        time.sleep(1)
    save_results(out, results)


# --------------------------------------------------------------------------- report

TITLES = {
    "direct-http": "upstream directly (no proxy), HTTP",
    "nginx-http": "nginx, HTTP/1.1 keep-alive",
    "edge-http": "Slipway edge, HTTP/1.1 keep-alive",
    "nginx-https": "nginx, HTTPS (TLS 1.3) keep-alive",
    "edge-https": "Slipway edge, HTTPS (TLS 1.3) keep-alive",
}


def med(values):
    s = stats(values)
    return None if s is None else s["median"]


def summary(runs):
    """Medians over rounds: req/s, p50, p99, CPU µs per request, errors."""
    return {
        "rps": med([r["rps"] for r in runs]),
        "p50": med([r["percentiles"].get("50") for r in runs]),
        "p90": med([r["percentiles"].get("90") for r in runs]),
        "p99": med([r["percentiles"].get("99") for r in runs]),
        "cpu_us": med([r["cpu_s"] / r["requests"] * 1e6 for r in runs if r.get("requests")]),
        "rps_all": [r["rps"] for r in runs],
        "p99_all": [r["percentiles"].get("99") for r in runs],
        "errors": sum(r["socket_errors"] + r["non_2xx"] for r in runs),
    }


def fmt(x, spec=",.0f"):
    return "—" if x is None else format(x, spec)


def cmd_report(a):
    out = os.path.abspath(a.out)
    results, meta = load_results(out), load_meta(out)
    cfg = results["config"]
    for line in benchlib.header_lines(meta):
        print(line)
    for key, label in (("nginx.version", "nginx"), ("wrk.version", "wrk"), ("tls.nginx", "TLS with nginx"),
                       ("tls.edge", "TLS with the edge"), ("pinning", "CPUs")):
        if meta.get(key):
            print(f"- {label}: {meta[key]}")
    print(f"- Load: `wrk -t{cfg['threads']} -c{cfg['connections']} -d{cfg['duration_s']}s --latency "
          f"-H 'Host: {cfg['host']}'`, {cfg['runs']} rounds per target (order alternating), "
          f"after a {cfg['warmup_s']} s warm-up of each; the medians of the rounds")
    print()
    print("| Target | req/s | p50 ms | p90 ms | p99 ms | proxy CPU µs/req | req/s per round | p99 ms per round |"
          " errors |")
    print("|---|--:|--:|--:|--:|--:|---|---|--:|")
    sums = {}
    for name, runs in results["wrk"].items():
        s = sums[name] = summary(runs)
        per_round = ", ".join(fmt(x) for x in s["rps_all"])
        p99s = ", ".join(fmt(x, ".2f") for x in s["p99_all"])
        print(f"| {TITLES.get(name, name)} | **{fmt(s['rps'])}** | {fmt(s['p50'], '.2f')} | {fmt(s['p90'], '.2f')} | "
              f"**{fmt(s['p99'], '.2f')}** | {fmt(s['cpu_us'], '.1f')} | {per_round} | {p99s} | {s['errors']} |")
    print()
    print("| Goal | HTTP/1.1 | HTTPS |")
    print("|---|---|---|")
    cells_t, cells_p = [], []
    for proto in ("http", "https"):
        e, n = sums.get(f"edge-{proto}"), sums.get(f"nginx-{proto}")
        if not e or not n or not e["rps"] or not n["rps"]:
            cells_t.append("—")
            cells_p.append("—")
            continue
        ratio = e["rps"] / n["rps"]
        cells_t.append(f"{fmt(e['rps'])} / {fmt(n['rps'])} = **{ratio:.0%}** "
                       f"({'met' if ratio >= 0.9 else 'missed'})")
        diff = e["p99"] - n["p99"]
        cells_p.append(f"{e['p99']:.2f} − {n['p99']:.2f} = **{diff:+.2f} ms** ({'met' if diff <= 1.0 else 'missed'})")
    print(f"| Throughput ≥ 90 % of nginx's (edge / nginx) | {cells_t[0]} | {cells_t[1]} |")
    print(f"| p99 within 1 ms of nginx's (edge − nginx) | {cells_p[0]} | {cells_p[1]} |")
    if results["idle"]:
        print()
        print(f"Memory with {cfg['idle']:,} idle keep-alive connections (each made one request, then stayed "
              "open; RSS summed over the proxy's processes):")
        print()
        print("| Proxy | processes | RSS before | RSS with the connections | per connection | "
              "anonymous before → with | after closing | open fds | opened | answered again |")
        print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for name, r in results["idle"].items():
            b, o, c = r["before"], r["open"], r["closed"]
            per = (o["rss_kib"] - b["rss_kib"]) * 1024 / max(1, r["opened"])
            print(f"| {name} | {o['processes']} | {b['rss_kib'] / 1024:,.1f} MiB | **{o['rss_kib'] / 1024:,.1f} MiB** | "
                  f"{per / 1024:,.1f} KiB | {b['anon_kib'] / 1024:,.1f} → {o['anon_kib'] / 1024:,.1f} MiB | "
                  f"{c['rss_kib'] / 1024:,.1f} MiB | {o['fds']:,} | {r['opened']:,} | {r['alive_after']:,} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", required=True)
    r.add_argument("--host", required=True, help="the Host header (the proxies' route)")
    r.add_argument("--target", action="append", default=[], help="NAME=URL:PID (PID: whose CPU time counts)")
    r.add_argument("--runs", type=int, default=3)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--connections", type=int, default=64)
    r.add_argument("--duration", type=int, default=15)
    r.add_argument("--warmup", type=int, default=3)
    r.add_argument("--idle", type=int, default=10000)
    r.add_argument("--idle-target", action="append", default=[], help="NAME=HOST:PORT:PID")
    rep = sub.add_parser("report")
    rep.add_argument("out")
    a = ap.parse_args()
    {"run": cmd_run, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()

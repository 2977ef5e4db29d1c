#!/usr/bin/env python3
"""Turns a benches/api.sh results directory into a Markdown report.

Usage: report.py RESULTS_DIR

Reads meta.txt (one `key value` per line), <backend>.seed.json and the oha
JSON files <backend>.<endpoint>.<fixed|max>.json. Prints Markdown on stdout.
Informational only: it never fails on a number.
"""

import json
import os
import sys

ENDPOINTS = {
    "healthz": ("`GET /healthz`", "floor: no auth, no store"),
    "organization": ("`GET /organization/{id}`", "auth floor: token lookup + 1 row"),
    "services": ("`GET /environment/{id}/services`", "10 services; random environment of all {envs}"),
}
GOAL_RSS_MB = 30
GOAL_P99_MS = 10


def load_meta(out):
    meta = {}
    with open(os.path.join(out, "meta.txt")) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition(" ")
            meta[key] = value.replace("_", " ") if key.startswith(("machine.cpu_model", "version.")) else value
    return meta


def load(out, backend, name, mode):
    path = os.path.join(out, f"{backend}.{name}.{mode}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def cells(run, rate=None):
    """Achieved req/s (marked when below the asked rate), p50 ms, p99 ms, and a note on failures."""
    if run is None:
        return ["—", "—", "—"], ""
    s = run["summary"]
    lat = run["latencyPercentiles"]
    codes = run.get("statusCodeDistribution") or {}
    errors = {k: v for k, v in (run.get("errorDistribution") or {}).items() if k != "aborted due to deadline"}
    bad = {k: v for k, v in codes.items() if not k.startswith("2")}
    problems = []
    if bad:
        problems.append("status " + ", ".join(f"{k}×{v}" for k, v in sorted(bad.items())))
    if errors:
        problems.append(", ".join(f"{k}×{v}" for k, v in sorted(errors.items())))
    p50 = lat.get("p50")
    p99 = lat.get("p99")
    fmt = lambda x: "—" if x is None else f"{x * 1000:.2f}"  # noqa: E731
    achieved = f"{s['requestsPerSec']:,.0f}"
    if rate and s["requestsPerSec"] < 0.98 * rate:
        achieved += " (saturated)"
    return [achieved, fmt(p50), fmt(p99)], "; ".join(problems)


def shapes_text(seed):
    parts = []
    for shape in seed["shapes"].values():
        n = len(shape["projects"])
        parts.append(f"{n} project{'s' if n > 1 else ''} × {shape['environments_per_project']:,} environments")
    return " + ".join(parts)


def kb_to_mb(kb):
    return f"{int(kb) / 1024:.1f}" if kb else "—"


def main():
    out = sys.argv[1]
    meta = load_meta(out)
    backends = [b for b in ("sqlite", "postgres") if f"{b}.rss_fresh_kb" in meta]
    rate = meta.get("run.rate", "1000")
    print("## Results\n")
    print(f"- Date: {meta.get('run.date')}, Slipway commit `{meta.get('version.slipway')}`")
    print(f"- Machine: {meta.get('machine.cpus')} CPUs ({meta.get('machine.cpu_model')}), "
          f"{int(meta.get('machine.mem_kb', 0)) / 1024 / 1024:.1f} GiB memory, Linux {meta.get('machine.kernel')}")
    print(f"- Tools: {meta.get('version.rustc')}, {meta.get('version.oha')}"
          + (f", {meta['version.postgres']}" if "version.postgres" in meta else ""))
    print(f"- Each run: {meta.get('run.duration')}; fixed rate {rate} req/s over {meta.get('run.fixed_conns')} "
          f"connections (latency corrected for coordinated omission); full speed over "
          f"{meta.get('run.max_conns')} connections. Load generator on the same machine.")
    print(f"- Load average before the run: {meta.get('run.loadavg', '?').replace(',', ' ')}\n")

    for backend in backends:
        seed = json.load(open(os.path.join(out, f"{backend}.seed.json")))
        envs = len(seed["environment_ids"])
        print(f"### {'SQLite' if backend == 'sqlite' else 'PostgreSQL'}\n")
        print(f"Seeded {envs:,} environments, {seed['services']:,} services "
              f"({shapes_text(seed)}) "
              f"with {seed['seed_requests']:,} API calls in {seed['seed_seconds']} s "
              f"({seed['seed_requests'] / seed['seed_seconds']:,.0f} writes/s, 16 client threads).\n")
        print(f"| Endpoint | What | {rate} req/s: achieved | p50 ms | p99 ms | Full speed: req/s | p50 ms | p99 ms |")
        print("|---|---|--:|--:|--:|--:|--:|--:|")
        names = list(ENDPOINTS) + [f"environments-{n}" for n in seed["shapes"]]
        notes = []
        for name in names:
            if name in ENDPOINTS:
                label, what = ENDPOINTS[name]
                what = what.format(envs=f"{envs:,}")
            else:
                shape = seed["shapes"][name.removeprefix("environments-")]
                n = len(shape["projects"])
                label = "`GET /project/{id}/environment`"
                what = f"{shape['environments_per_project']:,} environments" + (
                    f"; random project of {n}" if n > 1 else "; one project")
            fixed, fixed_problem = cells(load(out, backend, name, "fixed"), float(rate))
            full, full_problem = cells(load(out, backend, name, "max"))
            print(f"| {label} | {what} | " + " | ".join(fixed + full) + " |")
            for mode, problem in (("fixed rate", fixed_problem), ("full speed", full_problem)):
                if problem:
                    notes.append(f"{label} ({what}), {mode}: {problem}")
        print()
        for n in notes:
            print(f"- ⚠ {n}")
        if notes:
            print()

    print("### Server memory (RSS of the `slipway server` process)\n")
    print("| Backend | Fresh start, empty store | Idle after seeding | Peak while seeding (VmHWM) "
          "| Peak over the whole run (VmHWM) | Idle after the load runs |")
    print("|---|--:|--:|--:|--:|--:|")
    for backend in backends:
        print(f"| {backend} | {kb_to_mb(meta.get(f'{backend}.rss_fresh_kb'))} MiB "
              f"| {kb_to_mb(meta.get(f'{backend}.rss_idle_seeded_kb'))} MiB "
              f"| {kb_to_mb(meta.get(f'{backend}.hwm_after_seed_kb'))} MiB "
              f"| {kb_to_mb(meta.get(f'{backend}.hwm_kb'))} MiB "
              f"| {kb_to_mb(meta.get(f'{backend}.rss_idle_after_load_kb'))} MiB |")
    print()

    print("### Goals (informational)\n")
    for backend in backends:
        idle = int(meta.get(f"{backend}.rss_idle_seeded_kb", 0)) / 1024
        print(f"- {backend}: idle RSS {idle:.1f} MiB — goal < {GOAL_RSS_MB} MiB: "
              f"{'met' if idle < GOAL_RSS_MB else 'missed'}")
    if "sqlite" in backends:
        seed = json.load(open(os.path.join(out, "sqlite.seed.json")))
        for name in ["services"] + [f"environments-{n}" for n in seed["shapes"]]:
            run = load(out, "sqlite", name, "fixed")
            if run is None:
                continue
            p99 = run["latencyPercentiles"]["p99"] * 1000
            achieved = run["summary"]["requestsPerSec"]
            ok = p99 < GOAL_P99_MS and achieved >= 0.98 * float(rate)
            print(f"- sqlite {name}: p99 {p99:.2f} ms at {achieved:,.0f} req/s — goal p99 < {GOAL_P99_MS} ms "
                  f"at {rate} req/s: {'met' if ok else 'missed'}")


if __name__ == "__main__":
    main()

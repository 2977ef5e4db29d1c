#!/usr/bin/env python3
"""Seeds a running `slipway server` through its REST API for benches/api.sh.

Creates projects, environments and services (a mix of kinds, the same
10 per environment) concurrently, over one keep-alive connection per worker
thread. Standard library only.

Usage: seed.py URL TOKEN OUT.json [--shape NAME=PROJECTSxENVS ...] [--workers N]

Each --shape adds PROJECTS projects named NAME-<i>, each with ENVS
environments of 10 services. OUT.json gets the organization id, the project
ids per shape and every environment id.
"""

import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

# The 10 services of every environment: 4 containers, 3 applications,
# 2 databases, 1 cron job.
SERVICES_PER_ENV = 10


def service_bodies(registry_id):
    bodies = []
    for i in range(1, 5):
        bodies.append(("container", {
            "name": f"c{i}", "registry_id": registry_id, "image_name": "nginx", "tag": "1.27",
            "healthchecks": {}, "ports": [{"internal_port": 80, "publicly_accessible": i == 1}],
        }))
    for i in range(1, 4):
        bodies.append(("application", {
            "name": f"a{i}", "healthchecks": {},
            "git_repository": {"url": f"https://example.com/acme/web{i}.git", "provider": "GITHUB"},
        }))
    bodies.append(("database", {"name": "d1", "type": "POSTGRESQL", "version": "16", "mode": "CONTAINER"}))
    bodies.append(("database", {"name": "d2", "type": "REDIS", "version": "7", "mode": "CONTAINER"}))
    bodies.append(("job", {
        "name": "j1", "healthchecks": {},
        "source": {"image": {"image_name": "busybox", "tag": "1", "registry_id": registry_id}},
        "schedule": {"cronjob": {"scheduled_at": "*/5 * * * *"}},
    }))
    assert len(bodies) == SERVICES_PER_ENV
    return bodies


class Client:
    """One keep-alive HTTP/1.1 connection per thread."""

    def __init__(self, url, token):
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.local = threading.local()

    def _conn(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.local.conn = conn
        return conn

    def call(self, method, path, body=None, expect=(200, 201)):
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(3):
            conn = self._conn()
            try:
                conn.request(method, path, body=data, headers=self.headers)
                resp = conn.getresponse()
                payload = resp.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.1)
                continue
            if resp.status not in expect:
                raise RuntimeError(f"{method} {path} -> {resp.status}: {payload[:500]!r}")
            return json.loads(payload) if payload else None
        raise AssertionError("unreachable")


def parse_shape(text):
    name, _, dims = text.partition("=")
    projects, _, envs = dims.partition("x")
    return name, int(projects), int(envs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("token")
    ap.add_argument("out")
    ap.add_argument("--shape", action="append", default=[], help="NAME=PROJECTSxENVS")
    ap.add_argument("--workers", type=int, default=16)
    args = ap.parse_args()
    shapes = [parse_shape(s) for s in args.shape] or [("p100", 10, 100)]

    client = Client(args.url, args.token)
    org_id = client.call("GET", "/organization")["results"][0]["id"]
    registries = client.call("GET", f"/organization/{org_id}/containerRegistry")["results"]
    registry_id = next(r["id"] for r in registries if r["name"] == "local")
    bodies = service_bodies(registry_id)

    started = time.monotonic()
    requests = 0
    out = {"organization_id": org_id, "registry_id": registry_id, "shapes": {}, "environment_ids": []}
    env_jobs = []
    for name, n_projects, n_envs in shapes:
        ids = []
        for p in range(1, n_projects + 1):
            project = client.call("POST", f"/organization/{org_id}/project", {"name": f"{name}-{p}"})
            requests += 1
            ids.append(project["id"])
            env_jobs += [(project["id"], f"env-{e:04d}") for e in range(1, n_envs + 1)]
        out["shapes"][name] = {"projects": ids, "environments_per_project": n_envs}

    with ThreadPoolExecutor(args.workers) as pool:
        def create_env(job):
            project_id, env_name = job
            return client.call("POST", f"/project/{project_id}/environment",
                               {"name": env_name, "mode": "STAGING"}, expect=(201,))["id"]

        env_ids = list(pool.map(create_env, env_jobs))
        requests += len(env_ids)
        print(f"seed: {len(env_ids)} environments in {time.monotonic() - started:.1f}s", file=sys.stderr)

        def create_service(job):
            env_id, (kind, body) = job
            client.call("POST", f"/environment/{env_id}/{kind}", body, expect=(201,))

        service_jobs = [(env_id, b) for env_id in env_ids for b in bodies]
        for _ in pool.map(create_service, service_jobs):
            pass
        requests += len(service_jobs)

    elapsed = time.monotonic() - started
    out["environment_ids"] = env_ids
    out["services"] = len(service_jobs)
    out["seed_seconds"] = round(elapsed, 1)
    out["seed_requests"] = requests
    with open(args.out, "w") as f:
        json.dump(out, f)
    print(f"seed: {len(env_ids)} environments, {len(service_jobs)} services, {requests} requests "
          f"in {elapsed:.1f}s ({requests / elapsed:.0f} req/s)", file=sys.stderr)


if __name__ == "__main__":
    main()

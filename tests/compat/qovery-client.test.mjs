// Wire-compatibility test: the official Qovery TypeScript client (npm
// `qovery-typescript-axios`, pinned in package.json) against a live `slipway server`.
//
//   cd tests/compat && npm ci && SLIPWAY_BIN=/path/to/slipway node --test
//
// The test starts its own server on a free port with a throwaway data dir, reads
// the admin token from `<data-dir>/admin-token`, walks through the core API
// (see /work/shared/reference/qovery-api.md) and tears everything down again.
//
// The steps are ordered top-level tests sharing `state`; a step whose
// prerequisites are missing (because an earlier step failed) fails with a
// "prerequisite" message instead of a confusing TypeError.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

import {
  Configuration,
  OrganizationMainCallsApi,
  ClustersApi,
  ContainerRegistriesApi,
  ProjectsApi,
  ProjectMainCallsApi,
  EnvironmentsApi,
  EnvironmentMainCallsApi,
  ApplicationsApi,
  ApplicationMainCallsApi,
  ContainersApi,
  ContainerMainCallsApi,
  DatabasesApi,
  DatabaseMainCallsApi,
  JobsApi,
  JobMainCallsApi,
  OrganizationApiTokenApi,
  VariableMainCallsApi,
  ApplicationEnvironmentVariableApi,
  ApplicationSecretApi,
  APIVariableScopeEnum,
  APIVariableTypeEnum,
  PlanEnum,
  StateEnum,
  ClusterStateEnum,
  DeploymentInfraReason,
  ServiceActionEnum,
  ServiceActionStatusEnum,
  ServiceSubActionEnum,
} from 'qovery-typescript-axios';

// ---------------------------------------------------------------------------
// Server lifecycle
// ---------------------------------------------------------------------------

const SLIPWAY_BIN = process.env.SLIPWAY_BIN;
if (!SLIPWAY_BIN) {
  // Fail the whole file once, loudly, instead of failing every step.
  throw new Error(
    'SLIPWAY_BIN is not set. Point it at a built slipway binary, e.g.\n' +
      '  cd tests/compat && npm ci && SLIPWAY_BIN=/path/to/target/debug/slipway node --test',
  );
}
const STARTUP_TIMEOUT_MS = 30_000;

const server = {
  proc: null,
  dataDir: null,
  baseUrl: null,
  token: null,
  output: '', // interleaved stdout+stderr, shown when startup fails
  exited: null, // { code, signal } once the process is gone
};

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function serverLogTail(chars = 4_000) {
  const tail = server.output.length > chars ? '…' + server.output.slice(-chars) : server.output;
  return `--- last server output ---\n${tail || '(empty)'}\n--- end of server output ---`;
}

function serverLog() {
  const tail = server.output.length > 20_000 ? '…' + server.output.slice(-20_000) : server.output;
  return `--- slipway server output ---\n${tail || '(empty)'}\n--- end of server output ---`;
}

async function startServer() {
  server.dataDir = await mkdtemp(join(tmpdir(), 'slipway-compat-'));
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  server.baseUrl = `http://${listen}`;

  const proc = spawn(SLIPWAY_BIN, ['server', '--data-dir', server.dataDir, '--listen', listen, '--edge-listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_BACKTRACE: process.env.RUST_BACKTRACE ?? '1' },
  });
  server.proc = proc;
  proc.stdout.on('data', (b) => (server.output += b.toString()));
  proc.stderr.on('data', (b) => (server.output += b.toString()));
  proc.on('exit', (code, signal) => (server.exited = { code, signal }));
  const spawnError = new Promise((resolve) => proc.once('error', resolve));

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let lastProblem = 'no attempt yet';
  for (;;) {
    const err = await Promise.race([spawnError, sleep(0).then(() => null)]);
    if (err) throw new Error(`cannot spawn ${SLIPWAY_BIN}: ${err.message}`);
    if (server.exited) {
      throw new Error(
        `slipway server exited during startup (code ${server.exited.code}, signal ${server.exited.signal})\n${serverLog()}`,
      );
    }
    try {
      const res = await fetch(`${server.baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) break;
      lastProblem = `GET /healthz returned ${res.status}: ${await res.text()}`;
    } catch (e) {
      lastProblem = `GET /healthz failed: ${e.cause?.code ?? e.message}`;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `slipway server not healthy after ${STARTUP_TIMEOUT_MS / 1000}s (${lastProblem})\n${serverLog()}`,
      );
    }
    await sleep(100);
  }

  // The token file is written at startup; be tolerant of it appearing a bit late.
  const tokenPath = join(server.dataDir, 'admin-token');
  for (;;) {
    try {
      server.token = (await readFile(tokenPath, 'utf8')).trim();
      if (server.token) break;
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
    if (Date.now() > deadline) {
      throw new Error(`admin token file ${tokenPath} missing or empty after startup\n${serverLog()}`);
    }
    await sleep(100);
  }
  api = apis();
}

async function stopServer() {
  const proc = server.proc;
  if (proc && !server.exited) {
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timedOut = await Promise.race([gone.then(() => false), sleep(5_000).then(() => true)]);
    if (timedOut) {
      proc.kill('SIGKILL');
      await Promise.race([gone, sleep(2_000)]);
    }
  }
  if (server.dataDir) {
    await rm(server.dataDir, { recursive: true, force: true });
  }
}

// Last resort if the runner is interrupted before `after` runs.
process.on('exit', () => {
  if (server.proc && !server.exited) server.proc.kill('SIGKILL');
});

before(startServer, { timeout: STARTUP_TIMEOUT_MS + 10_000 });
after(stopServer);

// ---------------------------------------------------------------------------
// Client helpers
// ---------------------------------------------------------------------------

// proxy:false: never route 127.0.0.1 through an HTTP(S)_PROXY from the environment.
const baseOptions = { proxy: false };

function config(auth) {
  return new Configuration({ basePath: server.baseUrl, baseOptions, ...auth });
}

/** Builds one instance of every API class for a given auth setting. */
function apis(auth = { apiKey: 'Token ' + server.token }) {
  const c = config(auth);
  return {
    org: new OrganizationMainCallsApi(c),
    clusters: new ClustersApi(c),
    registries: new ContainerRegistriesApi(c),
    projects: new ProjectsApi(c),
    project: new ProjectMainCallsApi(c),
    environments: new EnvironmentsApi(c),
    environment: new EnvironmentMainCallsApi(c),
    applications: new ApplicationsApi(c),
    application: new ApplicationMainCallsApi(c),
    containers: new ContainersApi(c),
    container: new ContainerMainCallsApi(c),
    databases: new DatabasesApi(c),
    database: new DatabaseMainCallsApi(c),
    jobs: new JobsApi(c),
    job: new JobMainCallsApi(c),
    tokens: new OrganizationApiTokenApi(c),
    variables: new VariableMainCallsApi(c),
    appVariables: new ApplicationEnvironmentVariableApi(c),
    appSecrets: new ApplicationSecretApi(c),
  };
}

let api; // admin-token client, created by startServer() once the server is up

function describeRequest(cfg) {
  if (!cfg) return '(unknown request)';
  const url = String(cfg.url ?? '').replace(server.baseUrl, '');
  return `${String(cfg.method ?? 'GET').toUpperCase()} ${url}`;
}

const fmt = (v) => {
  const s = JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 2_000 ? s.slice(0, 2_000) + '…' : s;
};

/**
 * Error for a call that got no HTTP response at all (connection refused/reset,
 * ...). Shows the server output the first time only, so a crashed server does
 * not flood every later failure.
 */
let serverLogShown = false;
async function noResponse(err) {
  await sleep(200); // give a crashing server time to be reaped, so we can say so
  const why = `${describeRequest(err.config)}: no HTTP response (${err.code ?? 'error'}: ${err.message})`;
  const exited = server.exited ? ` — the server process has exited (code ${server.exited.code}, signal ${server.exited.signal})` : '';
  const log = serverLogShown ? '(server output: see the first "no HTTP response" failure)' : serverLog();
  serverLogShown = true;
  const e = new Error(`${why}${exited}\n${log}`);
  e.cause = err;
  return e;
}

/**
 * Awaits a client call that must succeed with `expected` status and returns the
 * axios response. An HTTP error becomes an assertion naming method, path,
 * status and body. `keep(data)`, if given, runs on any 2xx body before the
 * status code is checked.
 */
async function expectOk(expected, promise, keep) {
  let res;
  try {
    res = await promise;
  } catch (err) {
    if (err?.response) {
      throw new assert.AssertionError({
        message:
          `${describeRequest(err.config)}: expected HTTP ${expected}, got ${err.response.status}; ` +
          `response body: ${fmt(err.response.data)}` +
          // 5xx details are only in the server log.
          (err.response.status >= 500 ? `\n${serverLogTail()}` : ''),
        actual: err.response.status,
        expected,
        operator: 'strictEqual',
      });
    }
    if (err?.isAxiosError) throw await noResponse(err);
    throw err;
  }
  // Let create steps record what they got even when the 2xx code is wrong, so
  // that later steps still run and surface further discrepancies.
  if (keep && res.data && typeof res.data === 'object') keep(res.data);
  assert.equal(
    res.status,
    expected,
    `${describeRequest(res.config)}: expected HTTP ${expected}, got ${res.status}; response body: ${fmt(res.data)}`,
  );
  return res;
}

/**
 * Awaits a client call that must fail with HTTP `expected` (axios throws for
 * non-2xx). Checks the error body carries `message` and `code` strings.
 */
async function expectError(expected, promise, { errorBody = true } = {}) {
  let res;
  try {
    res = await promise;
  } catch (err) {
    if (!err?.response) throw err?.isAxiosError ? await noResponse(err) : err;
    const { status, data } = err.response;
    const what = describeRequest(err.config);
    assert.equal(status, expected, `${what}: expected HTTP ${expected}, got ${status}; response body: ${fmt(data)}`);
    if (errorBody) {
      assert.ok(
        data && typeof data === 'object',
        `${what} → ${status}: error body should be a JSON object, got ${fmt(data)}`,
      );
      assert.equal(typeof data.message, 'string', `${what} → ${status}: error body.message should be a string; body: ${fmt(data)}`);
      assert.equal(typeof data.code, 'string', `${what} → ${status}: error body.code should be a string; body: ${fmt(data)}`);
    }
    return err.response;
  }
  assert.fail(
    `${describeRequest(res.config)}: expected HTTP ${expected}, but the call succeeded with ${res.status}; body: ${fmt(res.data)}`,
  );
}

// --- field assertions (every message names the object and the field) -------

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function get(obj, path) {
  return path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

function eq(obj, path, expected, ctx) {
  const actual = get(obj, path);
  assert.deepStrictEqual(actual, expected, `${ctx}: field "${path}" should be ${fmt(expected)}, got ${fmt(actual)}`);
}

function present(obj, path, ctx) {
  const actual = get(obj, path);
  assert.ok(actual !== undefined, `${ctx}: required field "${path}" is missing; object: ${fmt(obj)}`);
  return actual;
}

function isType(obj, path, type, ctx) {
  const actual = get(obj, path);
  const ok = type === 'array' ? Array.isArray(actual) : type === 'object' ? actual !== null && typeof actual === 'object' && !Array.isArray(actual) : typeof actual === type;
  assert.ok(ok, `${ctx}: field "${path}" should be ${type === 'array' || type === 'object' ? 'an' : 'a'} ${type}, got ${fmt(actual)}`);
  return actual;
}

function isUuid(obj, path, ctx) {
  const v = isType(obj, path, 'string', ctx);
  assert.match(v, UUID_RE, `${ctx}: field "${path}" should be a UUID, got ${fmt(v)}`);
  return v;
}

function isTimestamp(obj, path, ctx) {
  const v = isType(obj, path, 'string', ctx);
  assert.ok(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.test(v) && !Number.isNaN(Date.parse(v)),
    `${ctx}: field "${path}" should be an RFC3339 timestamp, got ${fmt(v)}`,
  );
}

function isEnum(obj, path, enumObj, enumName, ctx) {
  const v = get(obj, path);
  const allowed = Object.values(enumObj);
  assert.ok(allowed.includes(v), `${ctx}: field "${path}" should be a ${enumName} (${allowed.join('|')}), got ${fmt(v)}`);
  return v;
}

function baseResource(obj, ctx) {
  isType({ obj }, 'obj', 'object', ctx);
  isUuid(obj, 'id', ctx);
  isTimestamp(obj, 'created_at', ctx);
}

function results(res, ctx) {
  return isType(res.data, 'results', 'array', `${ctx} (list envelope)`);
}

function findById(list, id, ctx) {
  const hit = list.find((x) => x?.id === id);
  assert.ok(hit, `${ctx}: id ${id} not found in results; ids present: ${fmt(list.map((x) => x?.id))}`);
  return hit;
}

/** Fields of `expected` at `paths` must be deep-equal in `actual`. */
function sameFields(actual, expected, paths, ctx) {
  for (const p of paths) {
    assert.deepStrictEqual(
      get(actual, p),
      get(expected, p),
      `${ctx}: field "${p}" differs from the create response: expected ${fmt(get(expected, p))}, got ${fmt(get(actual, p))}`,
    );
  }
}

// Shared state between the ordered steps.
const state = {};

function need(...keys) {
  for (const k of keys) {
    assert.ok(state[k] !== undefined, `prerequisite missing: "${k}" was not produced by an earlier step (see the first failure)`);
  }
}

// ---------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------

const REGISTRY_URL = 'http://127.0.0.1:5000';
const PROJECT_NAME = 'compat-project';

const appHealthchecks = {
  readiness_probe: {
    type: { http: { path: '/healthz', scheme: 'HTTP', port: 8080 } },
    initial_delay_seconds: 5,
    period_seconds: 10,
    timeout_seconds: 2,
    success_threshold: 1,
    failure_threshold: 3,
  },
};

function applicationRequest() {
  return {
    name: 'web',
    description: 'compat test application',
    git_repository: { url: 'https://example.com/acme/web.git', branch: 'main', root_path: '/', provider: 'GITHUB' },
    build_mode: 'DOCKER',
    dockerfile_path: 'Dockerfile',
    cpu: 500,
    memory: 512,
    min_running_instances: 1,
    max_running_instances: 1,
    healthchecks: appHealthchecks,
    ports: [{ internal_port: 8080, publicly_accessible: true, protocol: 'HTTP' }],
  };
}

function containerRequest(tag) {
  return {
    name: 'nginx',
    registry_id: state.registry.id,
    image_name: 'nginx',
    tag,
    healthchecks: {},
    ports: [{ internal_port: 80, publicly_accessible: false, protocol: 'HTTP' }],
  };
}

// ---------------------------------------------------------------------------
// Shape checks per kind
// ---------------------------------------------------------------------------

function checkServiceCommon(svc, serviceType, ctx) {
  baseResource(svc, ctx);
  eq(svc, 'environment.id', state.env.id, ctx);
  isType(svc, 'name', 'string', ctx);
  eq(svc, 'service_type', serviceType, ctx);
  isType(svc, 'icon_uri', 'string', ctx);
}

function checkPorts(svc, ctx) {
  const ports = isType(svc, 'ports', 'array', ctx);
  ports.forEach((p, i) => {
    isType(p, 'id', 'string', `${ctx} ports[${i}]`);
    isEnum(p, 'protocol', { HTTP: 'HTTP', GRPC: 'GRPC', TCP: 'TCP', UDP: 'UDP' }, 'PortProtocolEnum', `${ctx} ports[${i}]`);
    isType(p, 'internal_port', 'number', `${ctx} ports[${i}]`);
    isType(p, 'publicly_accessible', 'boolean', `${ctx} ports[${i}]`);
  });
  return ports;
}

function checkApplication(app, ctx) {
  checkServiceCommon(app, 'APPLICATION', ctx);
  isType(app, 'healthchecks', 'object', ctx);
  const ports = checkPorts(app, ctx);
  assert.equal(ports.length, 1, `${ctx}: expected 1 port, got ${fmt(ports)}`);
  eq(ports[0], 'internal_port', 8080, `${ctx} ports[0]`);
  eq(ports[0], 'publicly_accessible', true, `${ctx} ports[0]`);
  eq(ports[0], 'protocol', 'HTTP', `${ctx} ports[0]`);
  isType(app, 'git_repository', 'object', ctx);
  eq(app, 'git_repository.url', 'https://example.com/acme/web.git', ctx);
  eq(app, 'git_repository.owner', 'acme', ctx);
  eq(app, 'git_repository.name', 'web', ctx);
  eq(app, 'git_repository.provider', 'GITHUB', ctx);
  eq(app, 'git_repository.branch', 'main', ctx);
}

function checkContainer(c, ctx) {
  checkServiceCommon(c, 'CONTAINER', ctx);
  isType(c, 'healthchecks', 'object', ctx);
  checkPorts(c, ctx);
  isType(c, 'registry', 'object', ctx);
  eq(c, 'registry.id', state.registry.id, ctx);
  isType(c, 'registry.name', 'string', ctx);
  eq(c, 'registry.kind', 'GENERIC_CR', ctx);
  if (get(c, 'registry.url') !== undefined) eq(c, 'registry.url', REGISTRY_URL, ctx);
  eq(c, 'image_name', 'nginx', ctx);
  isType(c, 'tag', 'string', ctx);
  for (const f of ['cpu', 'memory', 'gpu', 'maximum_cpu', 'maximum_memory', 'maximum_gpu', 'min_running_instances', 'max_running_instances']) {
    isType(c, f, 'number', ctx);
  }
  isType(c, 'auto_preview', 'boolean', ctx);
}

function checkDatabase(db, ctx) {
  checkServiceCommon(db, 'DATABASE', ctx);
  eq(db, 'type', 'POSTGRESQL', ctx);
  eq(db, 'version', '16', ctx);
  eq(db, 'mode', 'CONTAINER', ctx);
  eq(db, 'accessibility', 'PRIVATE', ctx);
}

function checkJob(job, jobType, ctx) {
  checkServiceCommon(job, 'JOB', ctx);
  eq(job, 'job_type', jobType, ctx);
  isType(job, 'healthchecks', 'object', ctx);
  for (const f of ['cpu', 'memory', 'gpu', 'maximum_cpu', 'maximum_memory', 'maximum_gpu']) {
    isType(job, f, 'number', ctx);
  }
  isType(job, 'auto_preview', 'boolean', ctx);
  isType(job, 'source', 'object', ctx);
  isType(job, 'source.image', 'object', ctx);
  eq(job, 'source.image.image_name', 'busybox', ctx);
  eq(job, 'source.image.tag', '1.36', ctx);
  isType(job, 'source.image.registry', 'object', ctx);
  eq(job, 'source.image.registry.id', state.registry.id, ctx);
  isType(job, 'schedule', 'object', ctx);
}

function checkStatus(s, id, ctx) {
  isType({ s }, 's', 'object', ctx);
  eq(s, 'id', id, ctx);
  isEnum(s, 'state', StateEnum, 'StateEnum', ctx);
  eq(s, 'service_deployment_status', 'NEVER_DEPLOYED', ctx);
  isType(s, 'is_part_last_deployment', 'boolean', ctx);
  isType(s, 'status_details', 'object', ctx);
  isEnum(s, 'status_details.action', ServiceActionEnum, 'ServiceActionEnum', ctx);
  isEnum(s, 'status_details.status', ServiceActionStatusEnum, 'ServiceActionStatusEnum', ctx);
  isEnum(s, 'status_details.sub_action', ServiceSubActionEnum, 'ServiceSubActionEnum', ctx);
  assert.ok('deployment_request_id' in s, `${ctx}: required-nullable field "deployment_request_id" is missing (must be present as null); object: ${fmt(s)}`);
  eq(s, 'deployment_request_id', null, ctx);
  isType(s, 'deployment_requests_count', 'number', ctx);
}

// ---------------------------------------------------------------------------
// Scenario
// ---------------------------------------------------------------------------

test('1. organization: listOrganization / getOrganization, Token and Bearer auth', async () => {
  const res = await expectOk(200, api.org.listOrganization());
  const list = results(res, 'listOrganization');
  assert.equal(list.length, 1, `listOrganization: expected exactly 1 organization, got ${list.length}: ${fmt(list)}`);
  const org = list[0];
  state.org = org;
  const ctx = 'listOrganization results[0]';
  baseResource(org, ctx);
  isType(org, 'name', 'string', ctx);
  isEnum(org, 'plan', PlanEnum, 'PlanEnum', ctx);

  const got = (await expectOk(200, api.org.getOrganization(org.id))).data;
  baseResource(got, 'getOrganization');
  eq(got, 'id', org.id, 'getOrganization');
  eq(got, 'name', org.name, 'getOrganization');
  isEnum(got, 'plan', PlanEnum, 'PlanEnum', 'getOrganization');

  // `{ accessToken }` makes the client send `Authorization: Bearer <token>`.
  const bearer = apis({ accessToken: server.token });
  const viaBearer = await expectOk(200, bearer.org.listOrganization());
  const sent = viaBearer.config.headers?.get?.('Authorization') ?? viaBearer.config.headers?.Authorization;
  assert.equal(sent, 'Bearer ' + server.token, 'the client should have sent "Authorization: Bearer <token>"');
  const bl = results(viaBearer, 'listOrganization (Bearer)');
  assert.equal(bl.length, 1, `listOrganization (Bearer): expected 1 organization, got ${fmt(bl)}`);
  eq(bl[0], 'id', org.id, 'listOrganization (Bearer) results[0]');

});

test('2. clusters: listOrganizationCluster / getOrganizationClusterStatus', async () => {
  need('org');
  const res = await expectOk(200, api.clusters.listOrganizationCluster(state.org.id));
  const list = results(res, 'listOrganizationCluster');
  assert.equal(list.length, 1, `listOrganizationCluster: expected exactly 1 cluster, got ${list.length}: ${fmt(list)}`);
  const cluster = list[0];
  state.cluster = cluster;
  const ctx = 'listOrganizationCluster results[0]';
  baseResource(cluster, ctx);
  eq(cluster, 'organization.id', state.org.id, ctx);
  isType(cluster, 'name', 'string', ctx);
  isType(cluster, 'region', 'string', ctx);
  eq(cluster, 'cloud_provider', 'ON_PREMISE', ctx);
  eq(cluster, 'kubernetes', 'SELF_MANAGED', ctx);
  if (cluster.status !== undefined) isEnum(cluster, 'status', ClusterStateEnum, 'ClusterStateEnum', ctx);

  const st = await expectOk(200, api.clusters.getOrganizationClusterStatus(state.org.id));
  const statuses = results(st, 'getOrganizationClusterStatus');
  const mine = statuses.find((s) => s?.cluster_id === cluster.id);
  assert.ok(mine, `getOrganizationClusterStatus: no entry with cluster_id ${cluster.id}; got ${fmt(statuses)}`);
  const sctx = 'getOrganizationClusterStatus entry';
  isEnum(mine, 'status', ClusterStateEnum, 'ClusterStateEnum', sctx);
  isType(mine, 'is_deployed', 'boolean', sctx);
  isEnum(mine, 'reason', DeploymentInfraReason, 'DeploymentInfraReason', sctx);

});

test('3. container registry: createContainerRegistry (201) / listContainerRegistry', async () => {
  need('org');
  const res = await expectOk(
    201,
    api.registries.createContainerRegistry(state.org.id, {
      name: 'local-registry',
      kind: 'GENERIC_CR',
      url: REGISTRY_URL,
      config: {},
    }),
    (d) => (state.registry = d),
  );
  const reg = res.data;
  const ctx = 'createContainerRegistry';
  baseResource(reg, ctx);
  eq(reg, 'name', 'local-registry', ctx);
  eq(reg, 'kind', 'GENERIC_CR', ctx);
  eq(reg, 'url', REGISTRY_URL, ctx);

  const list = results(await expectOk(200, api.registries.listContainerRegistry(state.org.id)), 'listContainerRegistry');
  const hit = findById(list, reg.id, 'listContainerRegistry');
  eq(hit, 'name', 'local-registry', 'listContainerRegistry entry');
  eq(hit, 'kind', 'GENERIC_CR', 'listContainerRegistry entry');

});

test('4. project: createProject (200) / listProject / getProject', async () => {
  need('org');
  const res = await expectOk(
    200, // contract quirk: createProject answers 200, not 201
    api.projects.createProject(state.org.id, { name: PROJECT_NAME, description: 'compat test project' }),
    (d) => (state.project = d),
  );
  const project = res.data;
  const ctx = 'createProject';
  baseResource(project, ctx);
  eq(project, 'name', PROJECT_NAME, ctx);
  eq(project, 'organization.id', state.org.id, ctx);
  eq(project, 'associated_environments_count', 0, ctx);

  const list = results(await expectOk(200, api.projects.listProject(state.org.id)), 'listProject');
  const hit = findById(list, project.id, 'listProject');
  eq(hit, 'name', PROJECT_NAME, 'listProject entry');

  const got = (await expectOk(200, api.project.getProject(project.id))).data;
  sameFields(got, project, ['id', 'created_at', 'name', 'organization.id'], 'getProject');
  eq(got, 'associated_environments_count', 0, 'getProject');

});

test('5. environment: createEnvironment (201, default cluster) / list / get / status', async () => {
  need('project', 'cluster');
  const res = await expectOk(
    201,
    api.environments.createEnvironment(state.project.id, { name: 'staging', mode: 'STAGING' }),
    (d) => (state.env = d),
  );
  const env = res.data;
  const ctx = 'createEnvironment';
  baseResource(env, ctx);
  eq(env, 'name', 'staging', ctx);
  eq(env, 'mode', 'STAGING', ctx);
  eq(env, 'cluster_id', state.cluster.id, ctx);
  eq(env, 'project.id', state.project.id, ctx);
  eq(env, 'organization.id', state.org.id, ctx);
  isType(env, 'cloud_provider', 'object', ctx);

  const list = results(await expectOk(200, api.environments.listEnvironment(state.project.id)), 'listEnvironment');
  const hit = findById(list, env.id, 'listEnvironment');
  sameFields(hit, env, ['name', 'mode', 'cluster_id'], 'listEnvironment entry');

  const got = (await expectOk(200, api.environment.getEnvironment(env.id))).data;
  sameFields(got, env, ['id', 'created_at', 'name', 'mode', 'cluster_id', 'project.id', 'organization.id'], 'getEnvironment');

  const project = (await expectOk(200, api.project.getProject(state.project.id))).data;
  eq(project, 'associated_environments_count', 1, 'getProject after createEnvironment');

  const st = (await expectOk(200, api.environment.getEnvironmentStatus(env.id))).data;
  const sctx = 'getEnvironmentStatus';
  eq(st, 'id', env.id, sctx);
  isEnum(st, 'state', StateEnum, 'StateEnum', sctx);
  isEnum(st, 'last_deployment_state', StateEnum, 'StateEnum', sctx);

});

test('6. services: create application, container, database, cron job, lifecycle job (201)', async (t) => {
  need('env', 'registry');

  await t.test('createApplication', async () => {
    const req = applicationRequest();
    const app = (await expectOk(201, api.applications.createApplication(state.env.id, req), (d) => (state.app = d))).data;
    const ctx = 'createApplication';
    checkApplication(app, ctx);
    eq(app, 'name', 'web', ctx);
    eq(app, 'cpu', 500, ctx);
    eq(app, 'memory', 512, ctx);
    eq(app, 'healthchecks.readiness_probe.type.http.port', 8080, ctx);
    eq(app, 'healthchecks.readiness_probe.type.http.path', '/healthz', ctx);
  });

  await t.test('createContainer', async () => {
    const c = (await expectOk(201, api.containers.createContainer(state.env.id, containerRequest('1.27')), (d) => (state.container = d))).data;
    const ctx = 'createContainer';
    checkContainer(c, ctx);
    eq(c, 'name', 'nginx', ctx);
    eq(c, 'tag', '1.27', ctx);
  });

  await t.test('createDatabase', async () => {
    const db = (
      await expectOk(
        201,
        api.databases.createDatabase(state.env.id, {
          name: 'db',
          type: 'POSTGRESQL',
          version: '16',
          mode: 'CONTAINER',
          accessibility: 'PRIVATE',
          storage: 10,
        }),
        (d) => (state.db = d),
      )
    ).data;
    const ctx = 'createDatabase';
    checkDatabase(db, ctx);
    eq(db, 'name', 'db', ctx);
    eq(db, 'storage', 10, ctx);
  });

  await t.test('createJob (cron)', async () => {
    const job = (
      await expectOk(
        201,
        api.jobs.createJob(state.env.id, {
          name: 'cleanup',
          healthchecks: {},
          source: { image: { image_name: 'busybox', tag: '1.36', registry_id: state.registry.id } },
          schedule: { cronjob: { scheduled_at: '*/5 * * * *', timezone: 'Europe/Paris', arguments: ['echo', 'tick'] } },
        }),
        (d) => (state.cron = d),
      )
    ).data;
    const ctx = 'createJob (cron)';
    checkJob(job, 'CRON', ctx);
    eq(job, 'name', 'cleanup', ctx);
    eq(job, 'schedule.cronjob.scheduled_at', '*/5 * * * *', ctx);
    eq(job, 'schedule.cronjob.timezone', 'Europe/Paris', ctx);
    eq(job, 'schedule.cronjob.arguments', ['echo', 'tick'], ctx);
  });

  await t.test('createJob (lifecycle)', async () => {
    const job = (
      await expectOk(
        201,
        api.jobs.createJob(state.env.id, {
          name: 'seed',
          healthchecks: {},
          source: { image: { image_name: 'busybox', tag: '1.36', registry_id: state.registry.id } },
          schedule: { on_start: { arguments: ['seed'] } },
        }),
        (d) => (state.lifecycle = d),
      )
    ).data;
    const ctx = 'createJob (lifecycle)';
    checkJob(job, 'LIFECYCLE', ctx);
    eq(job, 'name', 'seed', ctx);
    eq(job, 'schedule.on_start.arguments', ['seed'], ctx);
    assert.equal(get(job, 'schedule.cronjob'), undefined, `${ctx}: a lifecycle job must not have "schedule.cronjob"; got ${fmt(job.schedule)}`);
  });
});

test('7. services: list per environment and get each', async (t) => {
  need('env');

  await t.test('application', async () => {
    need('app');
    const list = results(await expectOk(200, api.applications.listApplication(state.env.id)), 'listApplication');
    const hit = findById(list, state.app.id, 'listApplication');
    sameFields(hit, state.app, ['id', 'name', 'service_type', 'environment.id'], 'listApplication entry');
    const got = (await expectOk(200, api.application.getApplication(state.app.id))).data;
    checkApplication(got, 'getApplication');
    sameFields(got, state.app, ['id', 'created_at', 'name', 'environment.id', 'service_type', 'icon_uri', 'cpu', 'memory', 'healthchecks', 'ports', 'git_repository.url', 'git_repository.owner', 'git_repository.name', 'git_repository.provider', 'git_repository.branch'], 'getApplication');
  });

  await t.test('container', async () => {
    need('container');
    const list = results(await expectOk(200, api.containers.listContainer(state.env.id)), 'listContainer');
    const hit = findById(list, state.container.id, 'listContainer');
    sameFields(hit, state.container, ['id', 'name', 'service_type', 'environment.id'], 'listContainer entry');
    const got = (await expectOk(200, api.container.getContainer(state.container.id))).data;
    checkContainer(got, 'getContainer');
    sameFields(got, state.container, ['id', 'created_at', 'name', 'environment.id', 'service_type', 'icon_uri', 'image_name', 'tag', 'registry', 'cpu', 'memory', 'min_running_instances', 'max_running_instances', 'ports'], 'getContainer');
  });

  await t.test('database', async () => {
    need('db');
    const list = results(await expectOk(200, api.databases.listDatabase(state.env.id)), 'listDatabase');
    const hit = findById(list, state.db.id, 'listDatabase');
    sameFields(hit, state.db, ['id', 'name', 'service_type', 'environment.id'], 'listDatabase entry');
    const got = (await expectOk(200, api.database.getDatabase(state.db.id))).data;
    checkDatabase(got, 'getDatabase');
    sameFields(got, state.db, ['id', 'created_at', 'name', 'environment.id', 'service_type', 'icon_uri', 'type', 'version', 'mode', 'accessibility', 'storage'], 'getDatabase');
  });

  await t.test('jobs', async () => {
    need('cron', 'lifecycle');
    const list = results(await expectOk(200, api.jobs.listJobs(state.env.id)), 'listJobs');
    for (const [key, jobType] of [['cron', 'CRON'], ['lifecycle', 'LIFECYCLE']]) {
      const hit = findById(list, state[key].id, 'listJobs');
      sameFields(hit, state[key], ['id', 'name', 'service_type', 'job_type', 'environment.id'], `listJobs entry (${key})`);
      const got = (await expectOk(200, api.job.getJob(state[key].id))).data;
      checkJob(got, jobType, `getJob (${key})`);
      sameFields(got, state[key], ['id', 'created_at', 'name', 'environment.id', 'service_type', 'icon_uri', 'job_type', 'schedule', 'source'], `getJob (${key})`);
    }
  });
});

test('8. listServicesByEnvironmentId returns all 5 services with their service_type', async () => {
  need('app', 'container', 'db', 'cron', 'lifecycle');
  const list = results(await expectOk(200, api.environment.listServicesByEnvironmentId(state.env.id)), 'listServicesByEnvironmentId');
  const expected = {
    [state.app.id]: 'APPLICATION',
    [state.container.id]: 'CONTAINER',
    [state.db.id]: 'DATABASE',
    [state.cron.id]: 'JOB',
    [state.lifecycle.id]: 'JOB',
  };
  assert.equal(list.length, 5, `listServicesByEnvironmentId: expected 5 services, got ${list.length}: ${fmt(list.map((s) => [s?.id, s?.service_type]))}`);
  for (const [id, type] of Object.entries(expected)) {
    const hit = findById(list, id, 'listServicesByEnvironmentId');
    eq(hit, 'service_type', type, `listServicesByEnvironmentId entry ${id}`);
  }
  eq(findById(list, state.cron.id, 'listServicesByEnvironmentId'), 'job_type', 'CRON', 'listServicesByEnvironmentId cron entry');
  eq(findById(list, state.lifecycle.id, 'listServicesByEnvironmentId'), 'job_type', 'LIFECYCLE', 'listServicesByEnvironmentId lifecycle entry');
});

test('9. edits: editApplication / editContainer / editDatabase (200) are visible on get', async (t) => {
  await t.test('editApplication: name and cpu', async () => {
    need('app');
    const res = await expectOk(
      200,
      api.application.editApplication(state.app.id, { name: 'web-renamed', cpu: 1000, healthchecks: state.app.healthchecks }),
    );
    eq(res.data, 'id', state.app.id, 'editApplication');
    eq(res.data, 'name', 'web-renamed', 'editApplication');
    eq(res.data, 'cpu', 1000, 'editApplication');
    const got = (await expectOk(200, api.application.getApplication(state.app.id))).data;
    eq(got, 'name', 'web-renamed', 'getApplication after edit');
    eq(got, 'cpu', 1000, 'getApplication after edit');
    eq(got, 'healthchecks.readiness_probe.type.http.port', 8080, 'getApplication after edit');
    state.app = got;
  });

  await t.test('editContainer: tag', async () => {
    need('container', 'registry');
    const res = await expectOk(200, api.container.editContainer(state.container.id, containerRequest('1.28')));
    eq(res.data, 'id', state.container.id, 'editContainer');
    eq(res.data, 'tag', '1.28', 'editContainer');
    const got = (await expectOk(200, api.container.getContainer(state.container.id))).data;
    eq(got, 'tag', '1.28', 'getContainer after edit');
    eq(got, 'image_name', 'nginx', 'getContainer after edit');
    eq(got, 'registry.id', state.registry.id, 'getContainer after edit');
  });

  await t.test('editDatabase: storage', async () => {
    need('db');
    const res = await expectOk(200, api.database.editDatabase(state.db.id, { storage: 20 }));
    eq(res.data, 'id', state.db.id, 'editDatabase');
    eq(res.data, 'storage', 20, 'editDatabase');
    const got = (await expectOk(200, api.database.getDatabase(state.db.id))).data;
    eq(got, 'storage', 20, 'getDatabase after edit');
    eq(got, 'name', 'db', 'getDatabase after edit');
    eq(got, 'version', '16', 'getDatabase after edit');
  });
});

test('10. statuses: per-service Status and getEnvironmentStatuses', async (t) => {
  need('env');
  const calls = [
    ['getApplicationStatus', 'app', (id) => api.application.getApplicationStatus(id)],
    ['getContainerStatus', 'container', (id) => api.container.getContainerStatus(id)],
    ['getDatabaseStatus', 'db', (id) => api.database.getDatabaseStatus(id)],
    ['getJobStatus (cron)', 'cron', (id) => api.job.getJobStatus(id)],
    ['getJobStatus (lifecycle)', 'lifecycle', (id) => api.job.getJobStatus(id)],
  ];
  for (const [name, key, call] of calls) {
    await t.test(name, async () => {
      need(key);
      const s = (await expectOk(200, call(state[key].id))).data;
      checkStatus(s, state[key].id, name);
    });
  }

  await t.test('getEnvironmentStatuses', async () => {
    const data = (await expectOk(200, api.environment.getEnvironmentStatuses(state.env.id))).data;
    const ctx = 'getEnvironmentStatuses';
    isType(data, 'environment', 'object', ctx);
    eq(data, 'environment.id', state.env.id, ctx);
    isEnum(data, 'environment.state', StateEnum, 'StateEnum', ctx);
    isEnum(data, 'environment.last_deployment_state', StateEnum, 'StateEnum', ctx);
    for (const k of ['applications', 'containers', 'jobs', 'databases', 'helms', 'terraforms']) {
      isType(data, k, 'array', ctx);
    }
    const expectIn = [
      ['applications', 'app'],
      ['containers', 'container'],
      ['databases', 'db'],
      ['jobs', 'cron'],
      ['jobs', 'lifecycle'],
    ];
    for (const [k, key] of expectIn) {
      if (!state[key]) continue;
      const hit = findById(data[k], state[key].id, `${ctx}.${k}`);
      checkStatus(hit, state[key].id, `${ctx}.${k} entry`);
    }
    eq(data, 'helms', [], ctx);
    eq(data, 'terraforms', [], ctx);
  });
});

test('11. API tokens: create (201, qov_), use, list without secret, delete (204), then 401', async () => {
  need('org');
  const created = (
    await expectOk(201, api.tokens.createOrganizationApiToken(state.org.id, { name: 'ci', role_id: null }))
  ).data;
  const ctx = 'createOrganizationApiToken';
  baseResource(created, ctx);
  eq(created, 'name', 'ci', ctx);
  const secret = isType(created, 'token', 'string', ctx);
  assert.ok(secret.startsWith('qov_'), `${ctx}: field "token" should start with "qov_", got ${fmt(secret)}`);

  const withNew = apis({ apiKey: 'Token ' + secret });
  const orgs = results(await expectOk(200, withNew.org.listOrganization()), 'listOrganization (new token)');
  assert.equal(orgs.length, 1, `listOrganization (new token): expected 1 organization, got ${fmt(orgs)}`);
  eq(orgs[0], 'id', state.org.id, 'listOrganization (new token) results[0]');

  const list = results(await expectOk(200, api.tokens.listOrganizationApiTokens(state.org.id)), 'listOrganizationApiTokens');
  const hit = findById(list, created.id, 'listOrganizationApiTokens');
  eq(hit, 'name', 'ci', 'listOrganizationApiTokens entry');
  list.forEach((tok, i) =>
    assert.ok(!('token' in tok), `listOrganizationApiTokens results[${i}] must not expose a "token" field; got ${fmt(tok)}`),
  );

  const del = await expectOk(204, api.tokens.deleteOrganizationApiToken(state.org.id, created.id));
  assert.ok(del.data === '' || del.data == null, `deleteOrganizationApiToken: 204 should have an empty body, got ${fmt(del.data)}`);

  await expectError(401, withNew.org.listOrganization());

  const remaining = results(await expectOk(200, api.tokens.listOrganizationApiTokens(state.org.id)), 'listOrganizationApiTokens after delete');
  assert.ok(!remaining.some((x) => x?.id === created.id), `listOrganizationApiTokens after delete still lists ${created.id}`);
});

function checkVariable(v, ctx) {
  isUuid(v, 'id', ctx);
  isTimestamp(v, 'created_at', ctx);
  isType(v, 'key', 'string', ctx);
  assert.ok('value' in v, `${ctx}: required-nullable field "value" is missing; object: ${fmt(v)}`);
  isEnum(v, 'scope', APIVariableScopeEnum, 'APIVariableScopeEnum', ctx);
  isEnum(v, 'variable_type', APIVariableTypeEnum, 'APIVariableTypeEnum', ctx);
  isType(v, 'is_secret', 'boolean', ctx);
}

test('11b. variables: createVariable (201), overrides, aliases, secrets (value null), built-ins; legacy per-scope APIs', async (t) => {
  need('project', 'env', 'app');
  const SECRET = 'compat-s3cret-' + randomUUID();

  await t.test('createVariable at project and application scope', async () => {
    const mode = (
      await expectOk(
        201,
        api.variables.createVariable({ key: 'MODE', value: 'prod', is_secret: false, variable_scope: 'PROJECT', variable_parent_id: state.project.id }),
        (d) => (state.modeVar = d),
      )
    ).data;
    checkVariable(mode, 'createVariable');
    eq(mode, 'scope', 'PROJECT', 'createVariable');
    eq(mode, 'variable_type', 'VALUE', 'createVariable');
    eq(mode, 'value', 'prod', 'createVariable');
    const secret = (
      await expectOk(
        201,
        api.variables.createVariable({ key: 'TOKEN', value: SECRET, is_secret: true, variable_scope: 'APPLICATION', variable_parent_id: state.app.id }),
      )
    ).data;
    checkVariable(secret, 'createVariable (secret)');
    eq(secret, 'value', null, 'createVariable (secret)');
    eq(secret, 'is_secret', true, 'createVariable (secret)');
  });

  await t.test('createVariableOverride / createVariableAlias', async () => {
    need('modeVar');
    const over = (
      await expectOk(
        201,
        api.variables.createVariableOverride(state.modeVar.id, { value: 'staging', override_scope: 'ENVIRONMENT', override_parent_id: state.env.id }),
      )
    ).data;
    checkVariable(over, 'createVariableOverride');
    eq(over, 'variable_type', 'OVERRIDE', 'createVariableOverride');
    eq(over, 'overridden_variable.id', state.modeVar.id, 'createVariableOverride');
    const alias = (
      await expectOk(
        201,
        api.variables.createVariableAlias(state.modeVar.id, { key: 'APP_MODE', alias_scope: 'APPLICATION', alias_parent_id: state.app.id }),
      )
    ).data;
    eq(alias, 'variable_type', 'ALIAS', 'createVariableAlias');
    eq(alias, 'aliased_variable.key', 'MODE', 'createVariableAlias');
  });

  await t.test('listVariables at APPLICATION scope and BUILT_IN', async () => {
    const all = results(await expectOk(200, api.variables.listVariables(state.app.id, 'APPLICATION')), 'listVariables');
    all.forEach((v, i) => checkVariable(v, `listVariables results[${i}]`));
    for (const key of ['MODE', 'APP_MODE', 'TOKEN', 'QOVERY_ENVIRONMENT_ID']) {
      assert.ok(all.some((v) => v.key === key), `listVariables: no ${key} in ${fmt(all.map((v) => v.key))}`);
    }
    assert.ok(!JSON.stringify(all).includes(SECRET), 'listVariables must never return a secret value');
    const secrets = results(await expectOk(200, api.variables.listVariables(state.app.id, 'APPLICATION', true)), 'listVariables is_secret');
    assert.deepEqual(secrets.map((v) => v.key), ['TOKEN']);
    const builtins = results(await expectOk(200, api.variables.listVariables(state.env.id, 'BUILT_IN')), 'listVariables BUILT_IN');
    assert.ok(builtins.length > 0 && builtins.every((v) => v.variable_type === 'BUILT_IN'), `BUILT_IN: ${fmt(builtins)}`);
  });

  await t.test('legacy: createApplicationEnvironmentVariable / listApplicationSecrets', async () => {
    const created = (await expectOk(201, api.appVariables.createApplicationEnvironmentVariable(state.app.id, { key: 'LEGACY', value: 'v' }))).data;
    eq(created, 'value', 'v', 'createApplicationEnvironmentVariable');
    const vars = results(await expectOk(200, api.appVariables.listApplicationEnvironmentVariable(state.app.id)), 'listApplicationEnvironmentVariable');
    assert.ok(vars.some((v) => v.key === 'LEGACY') && !vars.some((v) => v.key === 'TOKEN'), `listApplicationEnvironmentVariable: ${fmt(vars)}`);
    const secrets = results(await expectOk(200, api.appSecrets.listApplicationSecrets(state.app.id)), 'listApplicationSecrets');
    assert.deepEqual(secrets.map((v) => v.key), ['TOKEN']);
    assert.ok(!JSON.stringify(secrets).includes(SECRET), 'listApplicationSecrets must never return a secret value');
  });

  await t.test('refusals: QOVERY_ prefix → 400, duplicate key → 409', async () => {
    const body = (key) => ({ key, value: 'x', is_secret: false, variable_scope: 'PROJECT', variable_parent_id: state.project.id });
    await expectError(400, api.variables.createVariable(body('QOVERY_MINE')));
    await expectError(409, api.variables.createVariable(body('MODE')));
  });
});

test('12. errors as the client sees them: 404, 409, 401', async (t) => {
  await t.test('unknown project id → 404', async () => {
    await expectError(404, api.project.getProject(randomUUID()));
  });

  await t.test('duplicate project name → 409', async () => {
    need('org', 'project');
    await expectError(409, api.projects.createProject(state.org.id, { name: PROJECT_NAME }));
  });

  await t.test('no token → 401', async () => {
    await expectError(401, apis({}).org.listOrganization());
  });

  await t.test('unknown token → 401', async () => {
    await expectError(401, apis({ apiKey: 'Token qov_this-token-does-not-exist' }).org.listOrganization());
  });
});

test('13. delete everything (204) and get → 404', async (t) => {
  const services = [
    ['application', 'app', (id) => api.application.deleteApplication(id), (id) => api.application.getApplication(id)],
    ['container', 'container', (id) => api.container.deleteContainer(id), (id) => api.container.getContainer(id)],
    ['database', 'db', (id) => api.database.deleteDatabase(id), (id) => api.database.getDatabase(id)],
    ['cron job', 'cron', (id) => api.job.deleteJob(id), (id) => api.job.getJob(id)],
    ['lifecycle job', 'lifecycle', (id) => api.job.deleteJob(id), (id) => api.job.getJob(id)],
  ];
  for (const [name, key, del, getter] of services) {
    await t.test(`delete ${name}`, async () => {
      need(key);
      const res = await expectOk(204, del(state[key].id));
      assert.ok(res.data === '' || res.data == null, `delete ${name}: 204 should have an empty body, got ${fmt(res.data)}`);
      await expectError(404, getter(state[key].id));
    });
  }

  await t.test('deleteEnvironment', async () => {
    need('env');
    await expectOk(204, api.environment.deleteEnvironment(state.env.id));
    await expectError(404, api.environment.getEnvironment(state.env.id));
    const left = results(await expectOk(200, api.environments.listEnvironment(state.project.id)), 'listEnvironment after delete');
    assert.ok(!left.some((e) => e?.id === state.env.id), `listEnvironment after delete still lists ${state.env.id}`);
  });

  await t.test('deleteProject', async () => {
    need('project');
    await expectOk(204, api.project.deleteProject(state.project.id));
    await expectError(404, api.project.getProject(state.project.id));
    const left = results(await expectOk(200, api.projects.listProject(state.org.id)), 'listProject after delete');
    assert.ok(!left.some((p) => p?.id === state.project.id), `listProject after delete still lists ${state.project.id}`);
  });
});

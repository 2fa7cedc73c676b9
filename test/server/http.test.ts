// Integration (real node:http on 127.0.0.1): probes, bearer token, /status, /metrics, drift format negotiation, webhook authentication.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatusBoard } from '../../src/controller/status.ts';
import type { PassResult } from '../../src/engine/pass.ts';
import { EMPTY_DRIFT_REPORT, updateDriftReport, type DriftReport } from '../../src/report/drift.ts';
import { DEFAULT_POLICY } from '../../src/engine/types.ts';
import { silentLogger } from '../../src/log.ts';
import { driftFormat, parseListen, startOpsServer, type OpsServer } from '../../src/server/http.ts';
import { ControllerMetrics } from '../../src/server/metrics.ts';
import { githubSignature } from '../../src/sources/webhook.ts';

const TOKEN = 'ops-token-123';
const SECRET = 'hook-secret-xyz';
const REV = '1'.repeat(40);

function pass(status: PassResult['status']): PassResult {
  return { system: 'active-directory', mode: 'apply', revision: REV, status, changes: [], held: [], conflicts: [], refused: [], applied: [], verify: [], startedAt: new Date().toISOString(), durationMs: 120, writes: 0 };
}

let server: OpsServer;
const triggers: string[] = [];
let board: StatusBoard;
let drift: DriftReport;

beforeAll(async () => {
  const metrics = new ControllerMetrics({ processMetrics: false });
  board = new StatusBoard(metrics, { kind: 'git', location: 'file:///repo.git', ref: 'main', path: '.' }, ['active-directory'], [], () => new Date());
  drift = updateDriftReport(EMPTY_DRIFT_REPORT, {
    ...pass('changes'),
    changes: [{ system: 'active-directory', kind: 'User', name: 'jdupont', key: 'User/jdupont', action: 'update', prune: false, adopt: false, rank: 2, reason: 'drift', fields: [{ path: 'title', before: 'a', after: 'b' }] }],
  }, { ...DEFAULT_POLICY, drift: { '*': 'report' } }, new Date());
  server = await startOpsServer({
    listen: '127.0.0.1:0', metrics, logger: silentLogger, bearerToken: TOKEN, webhookSecret: SECRET,
    target: { status: board, get driftReport() { return drift; }, trigger: (r) => triggers.push(r) },
  });
});
afterAll(async () => {
  await server.close();
});

const auth = { authorization: `Bearer ${TOKEN}` };

describe('probes', () => {
  it('/healthz answers without a token', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz is 503 until each system completed a pass, then 200', async () => {
    const before = await fetch(`${server.url}/readyz`);
    expect(before.status).toBe(503);
    expect(await before.json()).toMatchObject({ waitingFor: ['active-directory'] });
    board.passFinished('active-directory', pass('failed'), { drift: false, driftOpen: 0, converged: false });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    board.passFinished('active-directory', pass('applied'), { drift: false, driftOpen: 0, converged: true });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });
});

describe('bearer token', () => {
  it.each(['/status', '/metrics', '/drift'])('%s refuses a missing or wrong token with 401', async (path) => {
    expect((await fetch(`${server.url}${path}`)).status).toBe(401);
    expect((await fetch(`${server.url}${path}`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await fetch(`${server.url}${path}`, { headers: auth })).status).toBe(200);
  });
});

describe('/status and /metrics', () => {
  it('/status shows the applied commit per system', async () => {
    const body = (await (await fetch(`${server.url}/status`, { headers: auth })).json()) as { systems: Array<{ appliedRevision: string }> };
    expect(body.systems[0]!.appliedRevision).toBe(REV);
  });

  it('/metrics exposes the applied commit as a labelled gauge and pass durations', async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: auth });
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toContain(`infrasec_applied_commit_info{system="active-directory",commit="${REV}"} 1`);
    expect(text).toMatch(/infrasec_pass_duration_seconds_count\{system="active-directory",pass="apply"\} 2/);
    expect(text).toMatch(/infrasec_pass_failures_total\{system="active-directory",code="failed"\} 1/);
  });
});

describe('/drift', () => {
  it('serves JSON by default, HTML by Accept, Markdown by ?format=', async () => {
    const json = await fetch(`${server.url}/drift`, { headers: auth });
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(((await json.json()) as DriftReport).entries[0]).toMatchObject({ name: 'jdupont' });
    const html = await fetch(`${server.url}/drift`, { headers: { ...auth, accept: 'text/html,application/xhtml+xml' } });
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
    expect(await html.text()).toContain('<table>');
    const md = await fetch(`${server.url}/drift?format=markdown`, { headers: { ...auth, accept: 'text/html' } });
    expect(await md.text()).toContain('# infrasec drift report');
  });

  it('driftFormat prefers the query over Accept', () => {
    expect(driftFormat('json', 'text/html')).toBe('json');
    expect(driftFormat(null, 'text/markdown')).toBe('markdown');
    expect(driftFormat('bogus', undefined)).toBe('json');
  });
});

describe('POST /webhook', () => {
  const body = JSON.stringify({ ref: 'refs/heads/main' });

  it('answers 401 to a bad or missing signature and triggers nothing', async () => {
    const n = triggers.length;
    const bad = await fetch(`${server.url}/webhook`, { method: 'POST', body, headers: { 'x-hub-signature-256': githubSignature(Buffer.from(body), 'wrong') } });
    expect(bad.status).toBe(401);
    expect((await fetch(`${server.url}/webhook`, { method: 'POST', body })).status).toBe(401);
    expect((await fetch(`${server.url}/webhook`, { method: 'POST', body, headers: { 'x-gitlab-token': 'wrong' } })).status).toBe(401);
    expect(triggers.length).toBe(n);
  });

  it('accepts a GitHub signature or a GitLab token (no bearer needed) and triggers a fetch', async () => {
    const n = triggers.length;
    const gh = await fetch(`${server.url}/webhook`, { method: 'POST', body, headers: { 'x-hub-signature-256': githubSignature(Buffer.from(body), SECRET) } });
    expect(gh.status).toBe(202);
    const gl = await fetch(`${server.url}/webhook`, { method: 'POST', body, headers: { 'x-gitlab-token': SECRET } });
    expect(gl.status).toBe(202);
    expect(triggers.slice(n)).toEqual(['webhook:github', 'webhook:gitlab']);
  });

  it('refuses bodies above the limit with 413 and other methods with 405', async () => {
    const big = 'x'.repeat(1024 * 1024 + 1);
    expect((await fetch(`${server.url}/webhook`, { method: 'POST', body: big, headers: { 'x-gitlab-token': SECRET } })).status).toBe(413);
    expect((await fetch(`${server.url}/webhook`)).status).toBe(405);
  });

  it('counts webhook results in /metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`, { headers: auth })).text();
    expect(text).toMatch(/infrasec_webhook_requests_total\{result="unauthorized"\} 3/);
    expect(text).toMatch(/infrasec_webhook_requests_total\{result="accepted"\} 2/);
  });
});

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:9400', { host: '127.0.0.1', port: 9400 }],
    ['[::1]:80', { host: '::1', port: 80 }],
    [':9400', { host: '0.0.0.0', port: 9400 }],
  ])('%s', (text, expected) => {
    expect(parseListen(text)).toEqual(expected);
  });

  it('rejects garbage', () => {
    expect(() => parseListen('localhost')).toThrow(/host:port/);
    expect(() => parseListen('a:99999')).toThrow(/out of range/);
  });
});

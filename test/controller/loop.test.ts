// The controller loop with in-memory doubles: drift passes, last-good enforcement, unreachable source, isolation, backoff, guard refusals, clean stop, lock.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../src/config.ts';
import { Controller, controllerPaths } from '../../src/controller/controller.ts';
import type { AnyReconciler } from '../../src/engine/systems.ts';
import type { SystemName } from '../../src/engine/types.ts';
import { silentLogger } from '../../src/log.ts';
import { AuditLog, readAuditEntries, verifyAuditFile, type AuditRecord } from '../../src/report/audit.ts';
import type { DriftReport } from '../../src/report/drift.ts';
import { ControllerMetrics } from '../../src/server/metrics.ts';
import { eventually, FakeSource, FakeSystem, RecordingNotifier } from './fakes.ts';

let stateDir: string;
const running: Controller[] = [];
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'infrasec-loop-'));
});
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
  await rm(stateDir, { recursive: true, force: true });
});

const fakeSystem = { url: 'ldaps://127.0.0.1', bindDN: 'CN=x', bindPassword: 'x', baseDN: 'DC=x' };

function config(policy: Record<string, unknown> = {}, controller: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    stateDir,
    systems: { 'active-directory': { ...fakeSystem, policy }, asterisk: { host: '127.0.0.1', username: 'x', secret: 'x', policy } },
    controller: { pollIntervalSeconds: 0.05, driftIntervalSeconds: 0.05, retry: { initialSeconds: 0.02, maxSeconds: 0.1 }, ...controller },
  });
}

async function controller(
  source: FakeSource,
  systems: FakeSystem[],
  opts: { policy?: Record<string, unknown>; notifier?: RecordingNotifier; start?: boolean; controller?: Record<string, unknown>; stuckGraceMs?: number; metrics?: ControllerMetrics } = {},
) {
  const c = new Controller({
    config: config(opts.policy, opts.controller), source, load: source.load, stuckGraceMs: opts.stuckGraceMs,
    reconcilers: new Map<SystemName, AnyReconciler>(systems.map((s) => [s.system, s as unknown as AnyReconciler])),
    skipped: [], audit: await AuditLog.open(stateDir), metrics: opts.metrics ?? new ControllerMetrics({ processMetrics: false }), logger: silentLogger,
    notifier: opts.notifier, shutdownGraceMs: 5_000,
  });
  running.push(c);
  if (opts.start !== false) await c.start();
  return c;
}

const sys = (c: Controller, s: SystemName = 'active-directory') => c.status.snapshot().systems.find((x) => x.system === s)!;

describe('Controller', () => {
  it('applies the head, then re-checks the same revision as drift passes and corrects a hand-made change', async () => {
    const src = new FakeSource();
    src.push('r1', { jdupont: 'Opérateur' });
    const ad = new FakeSystem('active-directory');
    const notifier = new RecordingNotifier();
    const c = await controller(src, [ad], { notifier });
    await eventually(() => sys(c).appliedRevision === 'r1', 10_000, 'r1 applied');
    expect(ad.live.get('jdupont')).toBe('Opérateur');
    await eventually(() => sys(c).lastPass?.drift === true, 10_000, 'a drift pass');

    ad.live.set('jdupont', 'changed by hand');
    await eventually(() => ad.live.get('jdupont') === 'Opérateur', 10_000, 'drift corrected');
    await eventually(() => c.driftReport.entries.some((e) => e.name === 'jdupont' && e.corrected));
    // Corrected at once, the hand edit is still news.
    await eventually(() => notifier.sent.some((n) => n.event === 'drift.found'), 5_000, 'drift notification');
    expect(notifier.sent.find((n) => n.event === 'drift.found')!.objects?.[0]).toMatchObject({ object: 'User/jdupont', corrected: true });
    const entries = await readAuditEntries(stateDir);
    // Each change is written ahead as pending, then with its outcome.
    expect(entries.filter((e) => e.object === 'User/jdupont').map((e) => [e.action, e.drift, e.result])).toEqual([
      ['create', false, 'pending'], ['create', false, 'ok'], ['update', true, 'pending'], ['update', true, 'ok'],
    ]);
    expect(entries[1]).toMatchObject({ commit: 'r1', author: 'Ana Admin <ana@cod67.example>', signature: 'good', result: 'ok' });
  });

  it('picks up a new commit on the next poll', async () => {
    const src = new FakeSource();
    src.push('r1', { a: '1' });
    const ad = new FakeSystem('active-directory');
    const c = await controller(src, [ad]);
    await eventually(() => sys(c).appliedRevision === 'r1');
    src.push('r2', { a: '2', b: '1' });
    await eventually(() => sys(c).appliedRevision === 'r2', 10_000, 'r2 applied');
    expect(Object.fromEntries(ad.live)).toEqual({ a: '2', b: '1' });
  });

  it('keeps enforcing the last good revision when the new head is invalid, and /status says why', async () => {
    const src = new FakeSource();
    src.push('r1', { jdupont: 'Opérateur' });
    const ad = new FakeSystem('active-directory');
    const c = await controller(src, [ad]);
    await eventually(() => sys(c).appliedRevision === 'r1');
    src.push('r2', { x: 'y' }, { valid: false });
    await eventually(() => c.status.snapshot().source.notApplied?.revision === 'r2', 10_000, 'r2 rejected');
    const s = c.status.snapshot().source;
    expect(s.head?.revision).toBe('r2');
    expect(s.desiredRevision).toBe('r1');
    expect(s.notApplied?.reason).toMatch(/1 problem/);
    expect(s.notApplied?.diagnostics[0]).toBe('users/jdupont.yaml:7:3 spec.givenName: must be a string [schema-type]');

    ad.live.set('jdupont', 'by hand');
    await eventually(() => ad.live.get('jdupont') === 'Opérateur', 10_000, 'r1 still enforced');
    expect(ad.live.has('x')).toBe(false);
    expect(sys(c).appliedRevision).toBe('r1');
    expect((await readAuditEntries(stateDir)).some((e) => e.system === 'source' && e.action === 'reject' && e.commit === 'r2')).toBe(true);
  });

  it('retries a head that failed to load for a reason outside the commit, and audits the failure once', async () => {
    const src = new FakeSource();
    src.push('r1', { a: '1' });
    const ad = new FakeSystem('active-directory');
    const c = await controller(src, [ad]);
    await eventually(() => sys(c).appliedRevision === 'r1');
    src.loadFailures = 3;
    src.push('r2', { a: '2' });
    await eventually(() => sys(c).appliedRevision === 'r2', 10_000, 'r2 applied after load failures');
    const rejects = (await readAuditEntries(stateDir)).filter((e) => e.action === 'reject');
    expect(rejects).toHaveLength(1);
    expect(rejects[0]!.reason).toMatch(/EACCES/);
  });

  it('does not apply a head signed by an untrusted key', async () => {
    const src = new FakeSource();
    src.push('r1', { a: '1' });
    const ad = new FakeSystem('active-directory');
    const c = await controller(src, [ad]);
    await eventually(() => sys(c).appliedRevision === 'r1');
    src.push('r2', { a: '2' }, { signature: 'untrusted' });
    await eventually(() => c.status.snapshot().source.notApplied?.revision === 'r2');
    expect(c.status.snapshot().source.notApplied?.reason).toMatch(/allowed signers/);
    expect(ad.live.get('a')).toBe('1');
  });

  it('keeps enforcing while the source is unreachable, and shows the fetch error', async () => {
    const src = new FakeSource();
    src.push('r1', { a: '1' });
    const ad = new FakeSystem('active-directory');
    const c = await controller(src, [ad]);
    await eventually(() => sys(c).appliedRevision === 'r1');
    src.unreachable = true;
    await eventually(() => c.status.snapshot().source.lastFetchError !== null, 10_000, 'fetch error');
    ad.live.set('a', 'by hand');
    await eventually(() => ad.live.get('a') === '1', 10_000, 'still correcting');
    expect(c.status.snapshot().source.lastFetchError?.message).toMatch(/connection refused/);
  });

  it('after a restart with the source unreachable, enforces the revision it had applied, from the local copy', async () => {
    const src = new FakeSource();
    src.push('r1', { a: '1' });
    const ad = new FakeSystem('active-directory');
    const first = await controller(src, [ad]);
    await eventually(() => sys(first).appliedRevision === 'r1');
    await first.stop();
    src.unreachable = true;
    const second = await controller(src, [ad]);
    expect(sys(second).appliedRevision).toBe('r1');
    ad.live.set('a', 'by hand');
    await eventually(() => ad.live.get('a') === '1', 10_000, 'fallback enforced');
    expect(second.status.snapshot().source.desiredRevision).toBe('r1');
  });

  it('a hung system does not hold back another', async () => {
    const src = new FakeSource();
    src.push('r1', { a: '1' });
    const ad = new FakeSystem('active-directory');
    ad.hang = true;
    const pbx = new FakeSystem('asterisk');
    const c = await controller(src, [ad, pbx]);
    await eventually(() => sys(c, 'asterisk').appliedRevision === 'r1', 10_000, 'asterisk applied');
    src.push('r2', { a: '2' });
    await eventually(() => sys(c, 'asterisk').appliedRevision === 'r2', 10_000, 'asterisk follows r2');
    expect(sys(c).state).toBe('running');
    expect(sys(c).appliedRevision).toBeNull();
    expect(c.status.ready()).toEqual({ ready: false, waiting: ['active-directory'], stuck: [] });
  });

  it('a pass past passTimeoutSeconds is aborted, fails and is retried like any transient failure', async () => {
    const src = new FakeSource();
    src.push('r1', { a: '1' });
    const ad = new FakeSystem('active-directory');
    ad.hang = true;
    const c = await controller(src, [ad], { controller: { passTimeoutSeconds: 0.2 } });
    await eventually(() => sys(c).consecutiveFailures >= 2, 10_000, 'two timed-out passes');
    expect(sys(c).stuckSince).toBeNull();
    ad.hang = false;
    await eventually(() => sys(c).appliedRevision === 'r1', 10_000, 'applied once the system answers');
    expect(sys(c).consecutiveFailures).toBe(0);
  });

  it('a pass that ignores its timeout shows the worker stuck in status, readiness and a metric, until it settles', async () => {
    const src = new FakeSource();
    src.push('r1', { a: '1' });
    const ad = new FakeSystem('active-directory');
    let release!: () => void;
    ad.deafUntil = new Promise<void>((r) => (release = r));
    const metrics = new ControllerMetrics({ processMetrics: false });
    const c = await controller(src, [ad], { controller: { passTimeoutSeconds: 0.2 }, stuckGraceMs: 100, metrics });
    await eventually(() => sys(c).state === 'stuck', 10_000, 'the worker shown stuck');
    expect(sys(c).stuckSince).not.toBeNull();
    expect(sys(c).lastError?.code).toBe('pass-stuck');
    expect(c.status.ready()).toMatchObject({ ready: false, stuck: ['active-directory'] });
    expect(await metrics.registry.metrics()).toMatch(/infrasec_worker_stuck\{system="active-directory"\} 1/);
    // One pass at a time: the stuck one is waited for, never doubled.
    expect(ad.passes).toBe(1);
    ad.deafUntil = undefined;
    release();
    await eventually(() => sys(c).appliedRevision === 'r1', 10_000, 'applied after the stuck pass settled');
    expect(sys(c).stuckSince).toBeNull();
    expect(await metrics.registry.metrics()).toMatch(/infrasec_worker_stuck\{system="active-directory"\} 0/);
  });

  it('backs off after failures, notifies the failure once, and recovers', async () => {
    const src = new FakeSource();
    src.push('r1', { a: '1' });
    const ad = new FakeSystem('active-directory');
    ad.observeFailures = 4;
    const notifier = new RecordingNotifier();
    const c = await controller(src, [ad], { notifier });
    let maxFailures = 0;
    await eventually(() => {
      maxFailures = Math.max(maxFailures, sys(c).consecutiveFailures);
      return sys(c).appliedRevision === 'r1';
    }, 10_000, 'recovered');
    expect(maxFailures).toBeGreaterThanOrEqual(2);
    expect(sys(c).consecutiveFailures).toBe(0);
    expect(sys(c).lastError).toBeNull();
    expect(notifier.sent.filter((n) => n.event === 'apply.failed')).toHaveLength(1);
  });

  it('reports drift under the report policy without correcting it, notifies once and writes the report files', async () => {
    const src = new FakeSource();
    src.push('r1', { jdupont: 'Opérateur' });
    const ad = new FakeSystem('active-directory');
    const notifier = new RecordingNotifier();
    const c = await controller(src, [ad], { policy: { drift: { '*': 'report' } }, notifier });
    await eventually(() => sys(c).appliedRevision === 'r1');
    ad.live.set('jdupont', 'by hand');
    await eventually(() => sys(c).driftOpen === 1, 10_000, 'drift reported');
    await eventually(() => (sys(c).lastPass?.startedAt ?? '') > c.driftReport.entries[0]!.firstSeen, 10_000, 'another pass');
    expect(ad.live.get('jdupont')).toBe('by hand');
    expect(notifier.sent.filter((n) => n.event === 'drift.found')).toHaveLength(1);
    expect(notifier.sent[0]!.objects?.[0]).toMatchObject({ object: 'User/jdupont', mode: 'report' });
    const paths = controllerPaths(stateDir);
    await eventually(async () => ((JSON.parse(await readFile(paths.driftJson, 'utf8')) as DriftReport).entries.length === 1), 5_000, 'report persisted');
    // JSON, Markdown and HTML are written one after the other.
    await eventually(async () => (await readFile(paths.driftHtml, 'utf8')).includes('User/jdupont'), 5_000, 'HTML report');
    expect(await readFile(paths.driftMarkdown, 'utf8')).toContain('"by hand"');
  });

  it('shows drift held by the report policy as a gauge of one held change, however many drift passes re-report it', async () => {
    const src = new FakeSource();
    src.push('r1', { jdupont: 'Opérateur' });
    const ad = new FakeSystem('active-directory');
    const metrics = new ControllerMetrics({ processMetrics: false });
    const c = await controller(src, [ad], { policy: { drift: { '*': 'report' } }, metrics });
    await eventually(() => sys(c).appliedRevision === 'r1');
    ad.live.set('jdupont', 'by hand');
    await eventually(() => sys(c).driftOpen === 1, 10_000, 'drift reported');
    const drifts = async () => Number(/infrasec_passes_total\{system="active-directory",pass="drift",result="ok"\} (\d+)/.exec(await metrics.registry.metrics())?.[1]);
    const seen = await drifts();
    await eventually(async () => (await drifts()) >= seen + 3, 10_000, 'three more drift passes');
    const text = await metrics.registry.metrics();
    expect(text).toContain('infrasec_held_changes{system="active-directory",action="update"} 1');
    expect(text).not.toContain('result="held"');
    // Nothing was written: no change counted, whatever the number of passes that saw the drift.
    expect(text).toContain('infrasec_changes_total{system="active-directory",action="update",result="ok"} 0');
    ad.live.set('jdupont', 'Opérateur');
    await eventually(async () => (await metrics.registry.metrics()).includes('infrasec_held_changes{system="active-directory",action="update"} 0'), 10_000, 'held cleared once the drift is gone');
  });

  it('audits and notifies a guard refusal once, and stalls on it until a new commit instead of repeating the pass', async () => {
    const src = new FakeSource();
    src.push('r1', {});
    const ad = new FakeSystem('active-directory');
    for (const n of ['a', 'b', 'c']) ad.live.set(n, 'x');
    const notifier = new RecordingNotifier();
    const c = await controller(src, [ad], { policy: { prune: true, deletionThreshold: { count: 1, percent: 100 } }, notifier });
    await eventually(() => sys(c).state === 'stalled');
    const passes = ad.passes;
    // Many drift intervals (50 ms) and retry steps later: no other pass on the same commit.
    await new Promise((r) => setTimeout(r, 600));
    expect(ad.passes).toBe(passes);
    expect(ad.live.size).toBe(3);
    expect(notifier.sent.filter((n) => n.event === 'guard.refused')).toHaveLength(1);
    expect((await readAuditEntries(stateDir)).filter((e) => e.action === 'refuse')).toHaveLength(1);
    expect(sys(c).lastError?.code).toBe('guard-refused');
    expect(sys(c).stalled).toMatchObject({ code: 'guard-refused', revision: 'r1' });
    expect(sys(c).nextAttemptAt).toBeNull();
    // A new commit resumes the system: it keeps 'a' and 'b', so one removal passes the threshold.
    src.push('r2', { a: 'x', b: 'x' });
    await eventually(() => sys(c).appliedRevision === 'r2', 10_000, 'r2 applied');
    expect(sys(c).stalled).toBeNull();
    expect([...ad.live.keys()].sort()).toEqual(['a', 'b']);
  });

  it('stop() lets the change in flight finish, starts no other, and leaves intact state files', async () => {
    const src = new FakeSource();
    src.push('r1', Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`u${i}`, 'v'])));
    const ad = new FakeSystem('active-directory');
    ad.applyDelayMs = 100;
    const c = await controller(src, [ad]);
    await eventually(() => ad.applying.length >= 2, 10_000, 'apply under way');
    await c.stop();
    const done = ad.writes;
    expect(done).toBeGreaterThanOrEqual(2);
    expect(done).toBeLessThan(10);
    expect(ad.applying.length).toBe(done);
    expect(existsSync(controllerPaths(stateDir).lock)).toBe(false);
    expect(await verifyAuditFile(stateDir)).toMatchObject({ ok: true });
    const entries = await readAuditEntries(stateDir);
    expect(entries.filter((e) => e.result === 'pending')).toHaveLength(10);
    expect(entries.filter((e) => e.result === 'ok')).toHaveLength(done);
    // Nothing converged, so nothing is recorded as applied; the next start re-plans what is left.
    expect(JSON.parse(await readFile(controllerPaths(stateDir).state, 'utf8')).systems).toEqual({});
  });

  it('refuses a second controller on the same state directory', async () => {
    const src = new FakeSource();
    src.push('r1', { a: '1' });
    await controller(src, [new FakeSystem('active-directory')]);
    const other = await controller(src, [new FakeSystem('active-directory')], { start: false });
    running.pop();
    await expect(other.start()).rejects.toThrow(/another controller/);
  });
});

describe('Controller recording', () => {
  /** An audit trail that refuses appends matching `fails` (a full disk, a read-only volume). */
  async function failingAudit(fails: (records: readonly AuditRecord[]) => boolean): Promise<AuditLog> {
    const real = await AuditLog.open(stateDir);
    return Object.assign(Object.create(real) as AuditLog, {
      append: (records: readonly AuditRecord[]) => (fails(records) ? Promise.reject(new Error('ENOSPC: no space left on device')) : real.append(records)),
    });
  }

  async function run(audit: AuditLog, metrics: ControllerMetrics) {
    const src = new FakeSource();
    src.push('r1', { jdupont: 'Opérateur' });
    const ad = new FakeSystem('active-directory');
    const c = new Controller({
      config: config(), source: src, load: src.load, reconcilers: new Map([['active-directory', ad as unknown as AnyReconciler]]),
      skipped: [], audit, metrics, logger: silentLogger, shutdownGraceMs: 5_000,
    });
    running.push(c);
    await c.runOnce();
    return { c, ad };
  }

  it('counts a pass whose write-ahead audit failed once, sends nothing and records no convergence', async () => {
    const metrics = new ControllerMetrics({ processMetrics: false });
    const { c, ad } = await run(await failingAudit((r) => r.some((x) => x.result === 'pending')), metrics);
    expect(ad.writes).toBe(0);
    expect(sys(c)).toMatchObject({ consecutiveFailures: 1, appliedRevision: null, lastError: { code: 'audit-write-failed' } });
    const failures = await metrics.registry.getSingleMetricAsString('infrasec_pass_failures_total');
    // Every known code is a series from the start (at 0); exactly one was counted, once.
    expect(failures.split('\n').filter((l) => l.startsWith('infrasec_pass_failures_total{') && !l.endsWith(' 0'))).toEqual(['infrasec_pass_failures_total{system="active-directory",code="audit-write-failed"} 1']);
    expect(JSON.parse(await readFile(controllerPaths(stateDir).state, 'utf8')).systems).toEqual({});
  });

  it('does not record as converged a pass whose outcome the audit trail refused, and counts it once', async () => {
    const metrics = new ControllerMetrics({ processMetrics: false });
    const { c, ad } = await run(await failingAudit((r) => r.some((x) => x.result === 'ok')), metrics);
    expect(ad.writes).toBe(1);
    expect(sys(c)).toMatchObject({ consecutiveFailures: 1, appliedRevision: null, lastError: { code: 'audit-write-failed' } });
    const failures = await metrics.registry.getSingleMetricAsString('infrasec_pass_failures_total');
    // Every known code is a series from the start (at 0); exactly one was counted, once.
    expect(failures.split('\n').filter((l) => l.startsWith('infrasec_pass_failures_total{') && !l.endsWith(' 0'))).toEqual(['infrasec_pass_failures_total{system="active-directory",code="audit-write-failed"} 1']);
    expect(JSON.parse(await readFile(controllerPaths(stateDir).state, 'utf8')).systems).toEqual({});
  });
});

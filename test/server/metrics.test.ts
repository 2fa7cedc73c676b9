// The controller's metrics as Prometheus users expect them: unprefixed process metrics, every known series from the start, _info and build_info, per-system readiness, held changes as a gauge.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StatusBoard, type Stall } from '../../src/controller/status.ts';
import type { PassResult } from '../../src/engine/pass.ts';
import type { Change } from '../../src/engine/types.ts';
import { ControllerMetrics } from '../../src/server/metrics.ts';

const REV = 'a'.repeat(40);
const SYSTEMS = ['directory', 'pbx'];

function board(metrics = new ControllerMetrics({ processMetrics: false })) {
  const b = new StatusBoard(metrics, { kind: 'git', location: 'file:///repo.git', ref: 'main', path: '.' }, SYSTEMS, [], () => new Date('2026-03-01T12:00:00Z'));
  return { metrics, board: b, text: () => metrics.registry.metrics() };
}

function change(name: string, action: Change['action'] = 'update'): Change {
  return { system: 'directory', kind: 'User', name, key: `User/${name}`, action, prune: action !== 'update', adopt: false, fields: [], reason: 'drift', rank: 1 };
}

function pass(over: Partial<PassResult> = {}): PassResult {
  return {
    system: 'directory', mode: 'apply', revision: REV, status: 'applied', changes: [], held: [], conflicts: [], refused: [], applied: [], verify: [],
    startedAt: '2026-03-01T12:00:00Z', durationMs: 50, writes: 0, ...over,
  };
}

/** The value of one series in the exposition text; undefined when the series is absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('default process metrics', () => {
  it('carry the names stock Node.js dashboards query, without the infrasec_ prefix', async () => {
    const text = await new ControllerMetrics().registry.metrics();
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(text).not.toMatch(/^infrasec_process_|^infrasec_nodejs_/m);
  });
});

describe('series present before the first event', () => {
  it('has every change, pass and failure counter of each configured system at 0, so increase() sees the first event', async () => {
    const { text } = board();
    const t = await text();
    for (const system of SYSTEMS) {
      for (const action of ['create', 'update', 'disable', 'delete']) {
        for (const result of ['ok', 'failed', 'not-attempted']) expect(value(t, `infrasec_changes_total{system="${system}",action="${action}",result="${result}"}`)).toBe(0);
        expect(value(t, `infrasec_held_changes{system="${system}",action="${action}"}`)).toBe(0);
      }
      for (const p of ['apply', 'drift']) {
        for (const result of ['ok', 'failed', 'refused', 'skipped']) expect(value(t, `infrasec_passes_total{system="${system}",pass="${p}",result="${result}"}`)).toBe(0);
        expect(value(t, `infrasec_pass_duration_seconds_count{system="${system}",pass="${p}"}`)).toBe(0);
      }
      for (const code of ['target-unavailable', 'authentication-failed', 'apply-failed', 'conflict', 'guard-refused']) {
        expect(value(t, `infrasec_pass_failures_total{system="${system}",code="${code}"}`)).toBe(0);
      }
      expect(value(t, `infrasec_system_ready{system="${system}"}`)).toBe(0);
      expect(value(t, `infrasec_drifted_objects{system="${system}"}`)).toBe(0);
      expect(value(t, `infrasec_worker_stuck{system="${system}"}`)).toBe(0);
    }
    for (const code of ['source-unavailable', 'signature-refused', 'non-fast-forward', 'validation-failed']) expect(value(t, `infrasec_source_failures_total{code="${code}"}`)).toBe(0);
    for (const result of ['accepted', 'unauthorized', 'disabled', 'too-large', 'bad-request']) expect(value(t, `infrasec_webhook_requests_total{result="${result}"}`)).toBe(0);
    for (const event of ['drift.found', 'apply.failed', 'guard.refused', 'source.rejected']) expect(value(t, `infrasec_notification_failures_total{event="${event}"}`)).toBe(0);
  });

  it('counts a pass and its changes on the series that were there', async () => {
    const { board: b, text } = board();
    b.passFinished('directory', pass({ applied: [{ change: change('a', 'create'), ok: true, writes: 1 }, { change: change('b'), ok: false, writes: 0, error: 'x' }], status: 'failed', error: { code: 'apply-failed', message: '1 of 2 change(s) failed', class: 'transient' } }), { drift: false, driftOpen: 0, converged: false });
    const t = await text();
    expect(value(t, 'infrasec_changes_total{system="directory",action="create",result="ok"}')).toBe(1);
    expect(value(t, 'infrasec_changes_total{system="directory",action="update",result="failed"}')).toBe(1);
    expect(value(t, 'infrasec_passes_total{system="directory",pass="apply",result="failed"}')).toBe(1);
    expect(value(t, 'infrasec_passes_total{system="directory",pass="apply",result="ok"}')).toBe(0);
    expect(value(t, 'infrasec_pass_failures_total{system="directory",code="apply-failed"}')).toBe(1);
    expect(value(t, 'infrasec_pass_duration_seconds_count{system="directory",pass="apply"}')).toBe(1);
  });
});

describe('held changes', () => {
  const held = (...names: string[]) => names.map((n) => ({ change: change(n), why: 'drift policy is report' }));

  it('is a gauge of what the last pass held: three drift passes re-reporting one held object show 1, not 3', async () => {
    const { board: b, text } = board();
    for (let i = 0; i < 3; i++) b.passFinished('directory', pass({ status: 'changes', changes: held('jdupont').map((h) => h.change), held: held('jdupont') }), { drift: true, driftOpen: 1, converged: false });
    const t = await text();
    expect(value(t, 'infrasec_held_changes{system="directory",action="update"}')).toBe(1);
    expect(value(t, 'infrasec_passes_total{system="directory",pass="drift",result="ok"}')).toBe(3);
    expect(t).not.toContain('result="held"');
  });

  it('counts pruning held back by action, and drops to 0 once a pass holds nothing', async () => {
    const { board: b, text } = board();
    const pruned = [{ change: change('old1', 'disable'), why: 'pruning is off' }, { change: change('old2', 'disable'), why: 'pruning is off' }];
    b.passFinished('directory', pass({ status: 'changes', changes: pruned.map((h) => h.change), held: pruned }), { drift: false, driftOpen: 0, converged: true });
    expect(value(await text(), 'infrasec_held_changes{system="directory",action="disable"}')).toBe(2);
    b.passFinished('directory', pass({ status: 'in-sync' }), { drift: true, driftOpen: 0, converged: false });
    expect(value(await text(), 'infrasec_held_changes{system="directory",action="disable"}')).toBe(0);
  });

  it('keeps its value through a pass that failed before it could plan (an unreachable system says nothing of what is held)', async () => {
    const { board: b, text } = board();
    b.passFinished('directory', pass({ status: 'changes', changes: held('a', 'b').map((h) => h.change), held: held('a', 'b') }), { drift: true, driftOpen: 2, converged: false });
    b.passFinished('directory', pass({ status: 'failed', error: { code: 'target-unavailable', message: 'down', class: 'transient' } }), { drift: true, driftOpen: 2, converged: false });
    expect(value(await text(), 'infrasec_held_changes{system="directory",action="update"}')).toBe(2);
  });
});

describe('info metrics', () => {
  it('names the applied commit and the source head *_info, value 1, the old commit gone', async () => {
    const { board: b, text } = board();
    b.sourceAccepted(REV);
    b.passFinished('directory', pass(), { drift: false, driftOpen: 0, converged: true });
    const next = 'b'.repeat(40);
    b.sourceRejected(next, 'invalid', [], 'validation-failed');
    const t = await text();
    expect(value(t, `infrasec_applied_commit_info{system="directory",commit="${REV}"}`)).toBe(1);
    expect(value(t, `infrasec_source_head_info{commit="${next}",applicable="false"}`)).toBe(1);
    expect(t).not.toContain(`infrasec_source_head_info{commit="${REV}"`);
    expect(t).toMatch(/# TYPE infrasec_applied_commit_info gauge/);
    expect(t).not.toMatch(/^infrasec_applied_commit\{|^infrasec_source_head\{/m);
  });

  it('exposes infrasec_build_info with the package version and the Node.js version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const t = await new ControllerMetrics({ processMetrics: false }).registry.metrics();
    expect(value(t, `infrasec_build_info{version="${pkg.version}",node_version="${process.version}"}`)).toBe(1);
  });
});

describe('infrasec_system_ready', () => {
  const ready = async (text: () => Promise<string>, system = 'directory') => value(await text(), `infrasec_system_ready{system="${system}"}`);

  it('is 1 after a successful pass, per system, and 0 after a failed one until the next success', async () => {
    const { board: b, text } = board();
    b.passFinished('directory', pass(), { drift: false, driftOpen: 0, converged: true });
    expect(await ready(text)).toBe(1);
    expect(await ready(text, 'pbx')).toBe(0);
    b.passFinished('directory', pass({ status: 'failed', error: { code: 'target-unavailable', message: 'down', class: 'transient' } }), { drift: true, driftOpen: 0, converged: false });
    expect(await ready(text)).toBe(0);
    b.passFinished('directory', pass({ status: 'in-sync' }), { drift: true, driftOpen: 0, converged: false });
    expect(await ready(text)).toBe(1);
  });

  it('is 0 while the system is stalled, stuck, waiting for a dependency, refused, or could not record its pass', async () => {
    const { board: b, text } = board();
    const ok = () => {
      b.passStarted('directory');
      b.passFinished('directory', pass(), { drift: false, driftOpen: 0, converged: true });
    };
    const stall: Stall = { code: 'authentication-failed', reason: 'bind refused', revision: REV, configDigest: 'd', since: '2026-03-01T12:00:00Z' };
    ok();
    b.passFinished('directory', pass({ status: 'failed', error: { code: 'authentication-failed', message: 'bind refused', class: 'stalled' } }), { drift: true, driftOpen: 0, converged: false, stall });
    expect(await ready(text)).toBe(0);
    ok();
    b.passStarted('directory');
    b.passStuck('directory', 'past its timeout');
    expect(await ready(text)).toBe(0);
    ok();
    b.waiting('directory', 'c'.repeat(40), ['pbx']);
    expect(await ready(text)).toBe(0);
    ok();
    b.passFinished('directory', pass({ status: 'refused', refused: ['too many deletions'] }), { drift: false, driftOpen: 0, converged: false });
    expect(await ready(text)).toBe(0);
    ok();
    b.passFinished('directory', pass(), { drift: false, driftOpen: 0, converged: false, recordingError: { code: 'audit-write-failed', message: 'disk full' } });
    expect(await ready(text)).toBe(0);
    ok();
    expect(await ready(text)).toBe(1);
    b.stopped('directory');
    expect(await ready(text)).toBe(0);
  });
});

describe('/status', () => {
  it('keeps its JSON shape (no metric change leaks into it)', () => {
    const { board: b } = board();
    b.passFinished('directory', pass(), { drift: false, driftOpen: 0, converged: true });
    const s = b.snapshot().systems[0]!;
    expect(Object.keys(s).sort()).toEqual([
      'appliedAt', 'appliedRevision', 'consecutiveFailures', 'driftOpen', 'lastError', 'lastPass', 'lastSuccessAt', 'nextAttemptAt', 'stalled', 'state', 'stuckSince', 'system', 'waitingFor',
    ]);
    expect(Object.keys(s.lastPass!).sort()).toEqual(['changes', 'drift', 'durationMs', 'failedChanges', 'revision', 'startedAt', 'status', 'writes']);
  });
});

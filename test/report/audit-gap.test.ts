// A truncated audit log is never papered over: at start the log is checked against its head file; a gap (mid-line or line-boundary cut) makes the controller refuse to append, /status says why, and `infrasec audit repair --acknowledge-gap` records the gap as an audited event before appends resume.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config.ts';
import { Controller } from '../../src/controller/controller.ts';
import type { AnyReconciler } from '../../src/engine/systems.ts';
import type { SystemName } from '../../src/engine/types.ts';
import { silentLogger } from '../../src/log.ts';
import { AuditDamagedError, AuditLog, auditPaths, readAuditEntries, repairAudit, verifyAuditFile, type AuditRecord } from '../../src/report/audit.ts';
import { ControllerMetrics } from '../../src/server/metrics.ts';
import { eventually, FakeSource, FakeSystem } from '../controller/fakes.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/infrasec.js', import.meta.url).pathname;

const record = (n: number): AuditRecord => ({
  time: `2026-03-01T12:00:${String(n).padStart(2, '0')}.000Z`, commit: 'a'.repeat(40), author: 'Ana <ana@cod>', signature: 'good',
  system: 'active-directory', object: `User/u${n}`, action: 'create', fields: [], result: 'ok', drift: false,
});

let dir: string;
const running: Controller[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infrasec-audit-gap-'));
});
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
  await rm(dir, { recursive: true, force: true });
});

/** 14 entries written one batch at a time, as passes do. */
async function fourteen(): Promise<void> {
  const log = await AuditLog.open(dir);
  for (let i = 1; i <= 14; i++) await log.append([record(i)]);
}

/** Byte offset of the end of line `n` (1-based) of the log. */
async function endOfLine(n: number): Promise<number> {
  const text = await readFile(auditPaths(dir).log, 'utf8');
  return Buffer.byteLength(text.split('\n').slice(0, n).join('\n')) + 1;
}

async function controller(ad: FakeSystem): Promise<Controller> {
  const src = new FakeSource();
  src.push('r1', { a: '1' });
  const c = new Controller({
    config: configSchema.parse({
      stateDir: dir,
      systems: { 'active-directory': { url: 'ldaps://127.0.0.1', bindDN: 'CN=x', bindPassword: 'x', baseDN: 'DC=x' } },
      controller: { pollIntervalSeconds: 0.05, driftIntervalSeconds: 0.05, retry: { initialSeconds: 0.02, maxSeconds: 0.1 } },
    }),
    source: src, load: src.load, reconcilers: new Map<SystemName, AnyReconciler>([['active-directory', ad as unknown as AnyReconciler]]),
    skipped: [], audit: await AuditLog.open(dir), metrics: new ControllerMetrics({ processMetrics: false }), logger: silentLogger, shutdownGraceMs: 5_000,
  });
  running.push(c);
  await c.start();
  return c;
}

const cuts = {
  'mid-line (inside entry 5)': async () => (await endOfLine(4)) + 20,
  'at a line boundary (after entry 4)': () => endOfLine(4),
};

describe.each(Object.entries(cuts))('audit log cut %s', (_name, cutAt) => {
  it('stays refused across restarts: nothing is cut or appended, verify keeps failing', async () => {
    await fourteen();
    await truncate(auditPaths(dir).log, await cutAt());
    const before = await readFile(auditPaths(dir).log);
    for (let restart = 0; restart < 2; restart++) {
      const log = await AuditLog.open(dir);
      expect(log.damage).toMatch(/log ends at entry 4 but entry 14 was written: entries 5-14 are missing/);
      await expect(log.append([record(99)])).rejects.toBeInstanceOf(AuditDamagedError);
      await expect(log.append([record(99)])).rejects.toThrow(/infrasec audit repair --acknowledge-gap/);
      expect(await readFile(auditPaths(dir).log)).toEqual(before);
      expect((await verifyAuditFile(dir)).ok).toBe(false);
    }
  });

  it('the controller refuses to apply, says why in /status; after `audit repair --acknowledge-gap` the gap is an audited entry and passes apply again', async () => {
    await fourteen();
    await truncate(auditPaths(dir).log, await cutAt());
    const ad = new FakeSystem('active-directory');
    const c = await controller(ad);
    await eventually(() => c.status.snapshot().systems[0]!.consecutiveFailures >= 1, 10_000, 'a failed pass');
    const s = c.status.snapshot();
    expect(s.audit.problem).toMatch(/entries 5-14 are missing.*infrasec audit repair --acknowledge-gap/);
    expect(s.systems[0]!.lastError?.code).toBe('audit-write-failed');
    expect(ad.writes).toBe(0);
    await c.stop();
    running.splice(0);

    // Without the flag the command only explains; with it (the controller stopped) it records the gap.
    const refused = await run(process.execPath, [BIN, 'audit', 'repair', '--state-dir', dir]).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toMatch(/--acknowledge-gap/);
    const { stdout } = await run(process.execPath, [BIN, 'audit', 'repair', '--acknowledge-gap', '--by', 'ana', '--state-dir', dir]);
    expect(stdout).toMatch(/entries 5-14 are missing/);
    expect(stdout).toMatch(/recorded as entry 5 \(acknowledge-gap by ana\)/);
    const kept = (await readdir(dir)).filter((f) => f.startsWith('audit.jsonl.damaged-'));
    expect(kept).toHaveLength(1);

    const entries = await readAuditEntries(dir);
    expect(entries).toHaveLength(5);
    expect(entries[4]).toMatchObject({ seq: 5, system: 'audit', action: 'acknowledge-gap', author: 'ana', fields: [{ path: 'audit.head', expected: { seq: 14 }, found: { seq: 4 } }, { path: 'audit.dropped' }] });
    expect(await verifyAuditFile(dir)).toMatchObject({ ok: true, entries: 5 });
    const verified = await run(process.execPath, [BIN, 'audit', 'verify', '--state-dir', dir]);
    expect(verified.stdout).toMatch(/5 entries, chain intact\nentry 5 \(.*\): acknowledge-gap: the log ends at entry 4 but entry 14 was written/);

    const again = await controller(ad);
    await eventually(() => ad.live.get('a') === '1', 10_000, 'applied after the repair');
    expect(again.status.snapshot().audit.problem).toBeNull();
    await eventually(async () => (await readAuditEntries(dir)).some((e) => e.object === 'User/a' && e.result === 'ok'), 10_000, 'the change audited');
    expect((await verifyAuditFile(dir)).ok).toBe(true);
  }, 60_000);
});

describe('audit head', () => {
  it('a crash mid-append (head consistent with the whole entries) is cut, and the cut is audited', async () => {
    await fourteen();
    const full = await readFile(auditPaths(dir).log, 'utf8');
    // The unfinished 15th entry: written partly, never acknowledged, so the head still says 14.
    await truncate(auditPaths(dir).log, Buffer.byteLength(full));
    const { appendFile } = await import('node:fs/promises');
    await appendFile(auditPaths(dir).log, '{"seq":15,"time":"2026-03-01T12:');
    const log = await AuditLog.open(dir);
    expect(log.damage).toBeUndefined();
    expect(log.recovered).toBe(Buffer.byteLength('{"seq":15,"time":"2026-03-01T12:'));
    expect((await readAuditEntries(dir)).at(-1)).toMatchObject({ seq: 15, system: 'audit', action: 'cut-torn-tail' });
    expect(await verifyAuditFile(dir)).toMatchObject({ ok: true, entries: 15 });
  });

  it('a lost head file with a non-empty log is a gap too (nothing tells what was cut)', async () => {
    await fourteen();
    await rm(auditPaths(dir).head);
    const log = await AuditLog.open(dir);
    expect(log.damage).toMatch(/audit\.head\.json is missing/);
    const r = await repairAudit(dir, 'ana');
    expect(r.repaired).toBe(true);
    expect(existsSync(auditPaths(dir).head)).toBe(true);
    expect((await AuditLog.open(dir)).damage).toBeUndefined();
  });

  it('an edited entry in the middle: entries that still chain are kept, the rest kept aside and the break acknowledged', async () => {
    await fourteen();
    const text = await readFile(auditPaths(dir).log, 'utf8');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(auditPaths(dir).log, text.replace('"object":"User/u7"', '"object":"User/uX"'));
    expect((await AuditLog.open(dir)).damage).toMatch(/line 7: entry 7 was modified/);
    const r = await repairAudit(dir, 'ana');
    expect(r.entry).toMatchObject({ seq: 7, action: 'acknowledge-gap', fields: [{ expected: { seq: 14 }, found: { seq: 6 } }, { path: 'audit.dropped' }] });
    expect(await verifyAuditFile(dir)).toMatchObject({ ok: true, entries: 7 });
    expect(await readFile(r.keptAs!, 'utf8')).toContain('User/uX');
  });

  it('repair of an intact log changes nothing', async () => {
    await fourteen();
    const before = await readFile(auditPaths(dir).log);
    expect(await repairAudit(dir, 'ana')).toEqual({ repaired: false });
    expect(await readFile(auditPaths(dir).log)).toEqual(before);
  });
});

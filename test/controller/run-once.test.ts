// `run --once` exit codes from real runOnce outcomes: the previous revision may be enforced, but a head not applied is never exit 0.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { onceExitCode } from '../../src/commands/controller.ts';
import { configSchema } from '../../src/config.ts';
import { Controller } from '../../src/controller/controller.ts';
import type { AnyReconciler } from '../../src/engine/systems.ts';
import type { SystemName } from '../../src/engine/types.ts';
import { silentLogger } from '../../src/log.ts';
import { AuditLog } from '../../src/report/audit.ts';
import { ControllerMetrics } from '../../src/server/metrics.ts';
import { FakeSource, FakeSystem } from './fakes.ts';

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'infrasec-once-'));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

async function once(src: FakeSource, ad: FakeSystem) {
  const c = new Controller({
    config: configSchema.parse({ stateDir, systems: { 'active-directory': { url: 'ldaps://127.0.0.1', bindDN: 'CN=x', bindPassword: 'x', baseDN: 'DC=x' } } }),
    source: src, load: src.load, reconcilers: new Map<SystemName, AnyReconciler>([['active-directory', ad as unknown as AnyReconciler]]),
    skipped: [], audit: await AuditLog.open(stateDir), metrics: new ControllerMetrics({ processMetrics: false }), logger: silentLogger,
  });
  const results = await c.runOnce();
  return { results, status: c.status.snapshot(), code: onceExitCode(results, c.status.snapshot()) };
}

describe('run --once exit code', () => {
  it('is 4 when the head was applied but a conflict is left to resolve, and 0 when what is left is only a note', async () => {
    const src = new FakeSource();
    const ad = new FakeSystem('active-directory');
    src.push('r1', { a: '1' });
    ad.conflicts = [{ system: 'active-directory', kind: 'User', name: 'svcbackup', message: 'exists and is not managed by infrasec' }];
    const conflicted = await once(src, ad);
    expect(conflicted.results.map((r) => r.status)).toEqual(['applied']);
    expect(conflicted.code).toBe(4);
    ad.conflicts = [{ system: 'active-directory', kind: 'User', name: 'a', message: 'cannot be expressed', advisory: true }];
    expect((await once(src, ad)).code).toBe(0);
  });

  it('is 0 when the head is applied, 1 when it is invalid even though the previous one was enforced, 3 when a signature check refused it', async () => {
    const src = new FakeSource();
    const ad = new FakeSystem('active-directory');
    src.push('r1', { a: '1' });
    expect((await once(src, ad)).code).toBe(0);

    src.push('r2', { a: '2' }, { valid: false });
    const invalid = await once(src, ad);
    expect(invalid.results.map((r) => [r.revision, r.status])).toEqual([['r1', 'in-sync']]);
    expect(invalid.status.source.notApplied).toMatchObject({ revision: 'r2', code: 'validation-failed' });
    expect(invalid.code).toBe(1);

    src.push('r3', { a: '3' }, { signature: 'untrusted' });
    const refused = await once(src, ad);
    expect(refused.results.map((r) => r.revision)).toEqual(['r1']);
    expect(refused.code).toBe(3);
    expect(ad.live.get('a')).toBe('1');
  });

  it('is 1 when the source could not be fetched, even though the previous revision was enforced', async () => {
    const src = new FakeSource();
    const ad = new FakeSystem('active-directory');
    src.push('r1', { a: '1' });
    expect((await once(src, ad)).code).toBe(0);
    src.unreachable = true;
    const down = await once(src, ad);
    expect(down.results.map((r) => r.revision)).toEqual(['r1']);
    expect(down.code).toBe(1);
  });
});

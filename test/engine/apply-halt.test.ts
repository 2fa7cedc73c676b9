// A lost connection in apply, the same for every system: the rest is not attempted, recorded so in the result, the report and the audit trail.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PassRecorder } from '../../src/controller/pass-recorder.ts';
import { preparePass, type PassOptions } from '../../src/engine/pass.ts';
import { DEFAULT_POLICY } from '../../src/engine/types.ts';
import { AuditLog, readAuditEntries } from '../../src/report/audit.ts';
import { renderReport } from '../../src/report/plan.ts';
import { expectHaltedAfterLoss } from './halted-apply.ts';
import { MemorySystem, type MemoryDesired } from './memory-system.ts';

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'infrasec-halt-'));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

const desired: MemoryDesired = new Map(['a', 'b', 'c', 'd'].map((n) => [n, { kind: 'User', value: n.toUpperCase() }]));

async function applyRecorded(system: MemorySystem) {
  const audit = await AuditLog.open(stateDir);
  const recorder = new PassRecorder(audit, system.system, { commit: 'c1', author: null, signature: 'none', drift: false, actor: { via: 'cli', user: 'test' } }, () => new Date());
  const opts: PassOptions = { mode: 'apply', revision: 'c1', hooks: recorder.hooks() };
  const prepared = await preparePass(system, desired, DEFAULT_POLICY, opts);
  const result = await recorder.apply(system, prepared, opts);
  expect(await recorder.finish()).toBeUndefined();
  const trail = (await readAuditEntries(stateDir)).filter((e) => e.object !== null && e.result !== 'pending').map((e) => `${e.object} ${e.result}`);
  return { result, trail };
}

describe('a lost connection during apply', () => {
  it('stops the remaining changes: the pass fails, they are not attempted, and the audit trail says so for each', async () => {
    const system = new MemorySystem();
    system.dropOn = 'b';
    const { result, trail } = await applyRecorded(system);
    expect(result.status).toBe('failed');
    expectHaltedAfterLoss(result.applied, 4, 1);
    expect(result.applied.map((a) => [a.change.name, a.ok, a.notAttempted ?? false])).toEqual([['a', true, false], ['b', false, false], ['c', false, true], ['d', false, true]]);
    expect(result.error?.message).toBe('1 of 4 change(s) failed; 2 of 4 not attempted: memory system went away (the next pass tries them again)');
    expect(trail).toEqual(['User/a ok', 'User/b failed', 'User/c not-attempted', 'User/d not-attempted']);
    const text = renderReport({ mode: 'apply', revision: 'c1', results: [result], skipped: [] }, 'text');
    expect(text).toContain('User/c  create  (not attempted: memory system went away)');
    expect(text).toContain('1 failed, 2 not attempted');
    expect(system.live.has('c')).toBe(false);
  });

  it('a reconciler that returns early still accounts for every change: the missing ones are recorded as not attempted', async () => {
    const system = new MemorySystem();
    system.stopAfter = 1;
    const { result, trail } = await applyRecorded(system);
    expect(result.status).toBe('failed');
    expect(result.applied).toHaveLength(4);
    expect(result.applied.filter((a) => a.notAttempted).map((a) => a.change.name)).toEqual(['b', 'c', 'd']);
    expect(trail).toEqual(['User/a ok', 'User/b not-attempted', 'User/c not-attempted', 'User/d not-attempted']);
  });
});

describe('a failure that escapes apply or verify', () => {
  it('keeps every outcome on the record: the change in flight failed, the rest not attempted, what was applied kept', async () => {
    const system = new MemorySystem();
    const apply = system.apply.bind(system);
    system.apply = async (plan, signal, hooks) => {
      await apply({ ...plan, changes: plan.changes.slice(0, 1) }, signal, hooks);
      throw new Error('client crashed');
    };
    const { result, trail } = await applyRecorded(system);
    expect(result.status).toBe('failed');
    expect(result.applied.map((a) => [a.change.name, a.ok, a.notAttempted ?? false])).toEqual([['a', true, false], ['b', false, false], ['c', false, true], ['d', false, true]]);
    expect(trail).toEqual(['User/a ok', 'User/b failed', 'User/c not-attempted', 'User/d not-attempted']);
  });

  it('a verify that cannot run fails the pass but keeps what was applied', async () => {
    const system = new MemorySystem();
    system.verify = async () => {
      throw new Error('observe after apply: connection refused');
    };
    const { result } = await applyRecorded(system);
    expect(result.status).toBe('failed');
    expect(result.error?.message).toContain('connection refused');
    expect(result.applied.filter((a) => a.ok)).toHaveLength(4);
    expect(result.writes).toBe(4);
  });
});

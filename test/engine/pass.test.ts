import { describe, expect, it } from 'vitest';
import { completePass, preparePass, runPass } from '../../src/engine/pass.ts';
import { DEFAULT_POLICY, type Policy } from '../../src/engine/types.ts';
import { TargetUnavailableError } from '../../src/errors.ts';
import { MemorySystem, type MemoryDesired } from './memory-system.ts';

const desired = (entries: Array<[string, string, string?]>): MemoryDesired => new Map(entries.map(([name, value, kind]) => [name, { kind: kind ?? 'User', value }]));
const policy = (over: Partial<Policy> = {}): Policy => ({ ...DEFAULT_POLICY, ...over });

describe('runPass', () => {
  it('plans without writing', async () => {
    const sys = new MemorySystem();
    const r = await runPass(sys, desired([['a', '1']]), policy(), { mode: 'plan', revision: 'r1' });
    expect(r.status).toBe('changes');
    expect(r.changes.map((c) => `${c.action} ${c.name}`)).toEqual(['create a']);
    expect(sys.writes).toBe(0);
  });

  it('applies, then a second apply of the same state makes zero writes', async () => {
    const sys = new MemorySystem();
    const want = desired([['g', 'x', 'Group'], ['a', '1']]);
    const first = await runPass(sys, want, policy(), { mode: 'apply', revision: 'r1' });
    expect(first.status).toBe('applied');
    expect(first.writes).toBe(2);
    expect(first.applied.map((a) => a.change.name)).toEqual(['g', 'a']);
    const second = await runPass(sys, want, policy(), { mode: 'apply', revision: 'r1' });
    expect(second.status).toBe('in-sync');
    expect(second.writes).toBe(0);
    expect(sys.writes).toBe(2);
  });

  it('reports a failed change as a failed pass, never as applied', async () => {
    const sys = new MemorySystem();
    sys.failOn.add('b');
    const r = await runPass(sys, desired([['a', '1'], ['b', '2']]), policy(), { mode: 'apply', revision: 'r1' });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('apply-failed');
    expect(r.applied.filter((a) => !a.ok).map((a) => a.change.name)).toEqual(['b']);
  });

  it('fails the pass on a blocking conflict, after applying everything else, and only then', async () => {
    const sys = new MemorySystem();
    sys.live.set('taken', { kind: 'User', value: 'theirs', owned: false });
    const want = desired([['a', '1'], ['taken', '2']]);
    // A plain conflict is reported and the pass still succeeds: apply leaves that object alone by design.
    const plain = await runPass(sys, want, policy(), { mode: 'plan', revision: 'r1' });
    expect(plain.status).toBe('changes');
    sys.blockingConflicts = true;
    const planned = await runPass(sys, want, policy(), { mode: 'plan', revision: 'r1' });
    expect(planned.status).toBe('failed');
    expect(planned.error).toEqual({ code: 'conflict', message: expect.stringContaining('User/taken'), class: 'transient' });
    const r = await runPass(sys, want, policy(), { mode: 'apply', revision: 'r1' });
    expect(r.applied.map((a) => `${a.change.name}:${a.ok}`)).toEqual(['a:true']);
    expect(sys.live.get('a')?.value).toBe('1');
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('conflict');
    expect(sys.live.get('taken')).toEqual({ kind: 'User', value: 'theirs', owned: false });
    const again = await runPass(sys, want, policy(), { mode: 'apply', revision: 'r1' });
    expect([again.status, again.writes]).toEqual(['failed', 0]);
  });

  it('carries what the system cannot read back into the result', async () => {
    const sys = new MemorySystem();
    sys.unreadable = ['User/*: password (never readable)'];
    const r = await runPass(sys, desired([]), policy(), { mode: 'drift', revision: 'r1', isDriftPass: true });
    expect(r.status).toBe('in-sync');
    expect(r.unreadable).toEqual(['User/*: password (never readable)']);
  });

  it('turns an unreachable system into a failed result carrying the error code', async () => {
    const sys = new MemorySystem();
    sys.observeError = new TargetUnavailableError('connect ECONNREFUSED 127.0.0.9:636');
    const r = await runPass(sys, desired([['a', '1']]), policy(), { mode: 'apply', revision: 'r1' });
    expect(r.status).toBe('failed');
    expect(r.error).toEqual({ code: 'target-unavailable', message: 'connect ECONNREFUSED 127.0.0.9:636', class: 'transient' });
  });

  it('stops on a guard refusal before writing anything', async () => {
    const sys = new MemorySystem();
    for (const n of ['a', 'b', 'c']) sys.live.set(n, { kind: 'User', value: '1', owned: true });
    const r = await runPass(sys, desired([]), policy({ prune: true, deletionThreshold: { count: 1, percent: 100 } }), { mode: 'apply', revision: 'r2' });
    expect(r.status).toBe('refused');
    expect(r.refused[0]).toMatch(/3 objects/);
    expect(sys.live.size).toBe(3);
    expect(sys.writes).toBe(0);
  });

  it('skips a suspended system without observing it', async () => {
    const sys = new MemorySystem();
    sys.observeError = new Error('must not be called');
    const r = await runPass(sys, desired([['a', '1']]), policy({ suspended: true }), { mode: 'apply', revision: 'r1' });
    expect(r.status).toBe('skipped');
  });

  it('reports drift without correcting it when the kind is under a report policy', async () => {
    const sys = new MemorySystem();
    sys.live.set('a', { kind: 'User', value: 'edited by hand', owned: true });
    sys.live.set('g', { kind: 'Group', value: 'edited too', owned: true });
    const r = await runPass(sys, desired([['a', '1'], ['g', 'x', 'Group']]), policy({ drift: { '*': 'correct', User: 'report' } }), { mode: 'apply', revision: 'r1', isDriftPass: true });
    expect(sys.live.get('a')?.value).toBe('edited by hand');
    expect(sys.live.get('g')?.value).toBe('x');
    expect(r.held.map((h) => `${h.change.name}: ${h.why}`)).toEqual(['a: drift policy is report']);
    expect(r.status).toBe('changes');
  });

  it('ignores drift of a kind whose policy is ignore', async () => {
    const sys = new MemorySystem();
    sys.live.set('a', { kind: 'User', value: 'edited by hand', owned: true });
    const r = await runPass(sys, desired([['a', '1']]), policy({ drift: { User: 'ignore' } }), { mode: 'drift', revision: 'r1', isDriftPass: true });
    expect(r.changes).toEqual([]);
    expect(r.status).toBe('in-sync');
  });

  it('applies exactly the prepared plan, even if the live side changed in between', async () => {
    const sys = new MemorySystem();
    const opts = { mode: 'apply' as const, revision: 'r1' };
    const prepared = await preparePass(sys, desired([['a', '1']]), policy(), opts);
    sys.live.set('zzz', { kind: 'User', value: 'appeared', owned: true });
    const r = await completePass(sys, prepared, opts);
    expect(r.applied.map((a) => a.change.name)).toEqual(['a']);
    expect(sys.live.has('zzz')).toBe(true);
  });

  it('carries conflicts with unowned objects in the result and leaves them alone', async () => {
    const sys = new MemorySystem();
    sys.live.set('a', { kind: 'User', value: 'someone else', owned: false });
    const r = await runPass(sys, desired([['a', '1']]), policy(), { mode: 'apply', revision: 'r1' });
    expect(r.conflicts.map((c) => c.name)).toEqual(['a']);
    expect(sys.live.get('a')?.value).toBe('someone else');
  });
});

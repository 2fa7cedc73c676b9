import { describe, expect, it } from 'vitest';
import { guard, orderChanges } from '../../src/engine/guard.ts';
import { DEFAULT_POLICY, type Change, type Plan, type Policy } from '../../src/engine/types.ts';

const change = (name: string, action: Change['action'], rank: number, pruned = false): Change => ({
  system: 'active-directory', kind: 'User', name, key: `User/${name}`, action, prune: pruned, adopt: false, rank, reason: 'test', fields: [],
});
const plan = (changes: Change[], ownedCount = 100): Plan => ({ system: 'active-directory', changes, conflicts: [], ownedCount });
const policy = (over: Partial<Policy> = {}): Policy => ({ ...DEFAULT_POLICY, ...over });

describe('guard', () => {
  it('holds back removals of objects that left Git when pruning is off', () => {
    const r = guard(plan([change('a', 'create', 1), change('b', 'delete', 1, true)]), policy());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.plan.changes.map((c) => c.name)).toEqual(['a']);
    expect(r.dropped.map((c) => c.name)).toEqual(['b']);
  });

  it('keeps pruned removals when pruning is on', () => {
    const r = guard(plan([change('b', 'delete', 1, true)]), policy({ prune: true }));
    expect(r.ok && r.plan.changes.map((c) => c.name)).toEqual(['b']);
  });

  it('refuses a plan above the deletion count threshold and names the numbers', () => {
    const removals = Array.from({ length: 4 }, (_, i) => change(`u${i}`, 'delete', 1, true));
    const r = guard(plan(removals, 1000), policy({ prune: true, deletionThreshold: { count: 3, percent: 100 } }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reasons.join()).toMatch(/delete or disable 4 objects .* threshold of 3/);
  });

  it('refuses a plan above the deletion percentage threshold', () => {
    const removals = Array.from({ length: 3 }, (_, i) => change(`u${i}`, 'disable', 1, true));
    const r = guard(plan(removals, 10), policy({ prune: true, deletionThreshold: { count: 100, percent: 20 } }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reasons.join()).toMatch(/30\.0% of the 10 objects/);
  });

  it('accepts removals exactly at the thresholds', () => {
    const removals = Array.from({ length: 2 }, (_, i) => change(`u${i}`, 'delete', 1));
    expect(guard(plan(removals, 10), policy({ deletionThreshold: { count: 2, percent: 20 } })).ok).toBe(true);
  });

  it('does not count explicit `enabled: false` disables toward the threshold: each names its object on purpose', () => {
    const leavers = Array.from({ length: 3 }, (_, i) => change(`u${i}`, 'disable', 1));
    const r = guard(plan(leavers, 10), policy({ deletionThreshold: { count: 1, percent: 10 } }));
    expect(r.ok && r.plan.changes).toHaveLength(3);
  });

  it('refuses to remove a protected object', () => {
    const r = guard(plan([change('boss', 'disable', 1)]), policy({ protected: ['User/boss'] }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reasons[0]).toContain('User/boss is protected');
  });

  it('refuses every removal in additive-only (crisis) mode but would allow creates', () => {
    expect(guard(plan([change('a', 'create', 1)]), policy({ additiveOnly: true })).ok).toBe(true);
    expect(guard(plan([change('a', 'disable', 1)]), policy({ additiveOnly: true })).ok).toBe(false);
  });

  it('refuses a suspended system outright', () => {
    const r = guard(plan([change('a', 'create', 1)]), policy({ suspended: true }));
    expect(r.ok).toBe(false);
  });
});

describe('orderChanges', () => {
  it('runs creates and updates by ascending rank, then deletes by descending rank', () => {
    const ordered = orderChanges([
      change('member', 'create', 4), change('del-user', 'delete', 3), change('ou', 'create', 1), change('del-group', 'delete', 2),
      change('user', 'update', 3), change('group', 'create', 2), change('disabled', 'disable', 3),
    ]);
    expect(ordered.map((c) => c.name)).toEqual(['ou', 'group', 'user', 'disabled', 'member', 'del-user', 'del-group']);
  });
});

// A tiny in-memory system for engine tests: live objects in a Map, a real diffing planner, writes counted.
import type { Diagnostic } from '../../src/desired/diagnostic.ts';
import { ApplyHalt } from '../../src/engine/apply-halt.ts';
import { TargetUnavailableError } from '../../src/errors.ts';
import type { Applied, ApplyHooks, Change, GuardedPlan, Plan, Policy, Reconciler } from '../../src/engine/types.ts';

export interface MemoryObject {
  readonly kind: string;
  readonly value: string;
  readonly owned: boolean;
}

export type MemoryDesired = ReadonlyMap<string, { kind: string; value: string }>;

export class MemorySystem implements Reconciler<MemoryDesired, Map<string, MemoryObject>> {
  readonly system = 'active-directory' as const;
  readonly live = new Map<string, MemoryObject>();
  writes = 0;
  failOn = new Set<string>();
  observeError?: Error;
  /** Conflicts with unowned objects keep the desired object out of service (Conflict.blocking). */
  blockingConflicts = false;
  unreadable?: string[];
  /** The connection drops when this change is sent (TargetUnavailableError); the engine's ApplyHalt stops the rest. */
  dropOn?: string;
  /** apply returns after this many outcomes, leaving the rest out (a reconciler breaking the one-outcome-per-change contract). */
  stopAfter?: number;

  async observe(): Promise<Map<string, MemoryObject>> {
    if (this.observeError) throw this.observeError;
    return new Map(this.live);
  }

  plan(desired: MemoryDesired, live: Map<string, MemoryObject>, _policy: Policy): Plan {
    const changes: Change[] = [];
    const conflicts = [];
    for (const [name, d] of desired) {
      const l = live.get(name);
      const rank = d.kind === 'Group' ? 1 : 2;
      if (!l) changes.push({ system: this.system, kind: d.kind, name, key: `${d.kind}/${name}`, action: 'create', prune: false, adopt: false, rank, reason: 'missing', fields: [{ path: 'value', before: undefined, after: d.value }] });
      else if (!l.owned) conflicts.push({ system: this.system, kind: d.kind, name, message: 'exists but is not owned', ...(this.blockingConflicts ? { blocking: true } : {}) });
      else if (l.value !== d.value) changes.push({ system: this.system, kind: d.kind, name, key: `${d.kind}/${name}`, action: 'update', prune: false, adopt: false, rank, reason: 'differs', fields: [{ path: 'value', before: l.value, after: d.value }] });
    }
    for (const [name, l] of live) {
      if (l.owned && !desired.has(name)) changes.push({ system: this.system, kind: l.kind, name, key: `${l.kind}/${name}`, action: 'delete', prune: true, adopt: false, rank: l.kind === 'Group' ? 1 : 2, reason: 'left Git', fields: [] });
    }
    return { system: this.system, changes, conflicts, ownedCount: [...live.values()].filter((o) => o.owned).length, ...(this.unreadable ? { unreadable: this.unreadable } : {}) };
  }

  async apply(plan: GuardedPlan, _signal: AbortSignal, hooks?: ApplyHooks): Promise<Applied[]> {
    const out: Applied[] = [];
    const halt = new ApplyHalt();
    for (const change of plan.changes) {
      if (this.stopAfter !== undefined && out.length >= this.stopAfter) break;
      let applied: Applied;
      if (halt.reason !== undefined) applied = halt.notAttempted(change);
      else if (this.dropOn === change.name) {
        const err = new TargetUnavailableError('memory system went away', {});
        halt.failed(err, _signal, () => err.message);
        applied = { change, ok: false, writes: 0, error: err.message };
      } else if (this.failOn.has(change.name)) applied = { change, ok: false, writes: 0, error: 'refused by the system' };
      else {
        if (change.action === 'delete') this.live.delete(change.name);
        else this.live.set(change.name, { kind: change.kind, value: String(change.fields[0]?.after), owned: true });
        this.writes++;
        applied = { change, ok: true, writes: 1 };
      }
      out.push(applied);
      hooks?.onApplied?.(applied, out.length, plan.changes.length);
    }
    return out;
  }

  async verify(): Promise<Diagnostic[]> {
    return [];
  }

  async close(): Promise<void> {}
}

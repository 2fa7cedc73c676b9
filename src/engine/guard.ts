// Pure: the safety rules a plan must pass before anything writes. Returns a GuardedPlan or the reasons it was refused.
import { generatedSecretRotation } from './secret-rotation.ts';
import type { Change, GuardedPlan, Plan, Policy } from './types.ts';

export type GuardResult<Payload = unknown> =
  | { readonly ok: true; readonly plan: GuardedPlan<Payload>; readonly dropped: readonly Change<Payload>[] }
  | { readonly ok: false; readonly reasons: readonly string[] };

const isRemoval = (c: Change) => c.action === 'delete' || c.action === 'disable';

/** A change removes or disables something that exists only because it left Git (as opposed to `enabled: false`). */
export function isPrune(c: Change): boolean {
  return isRemoval(c) && c.prune;
}

/** What the guards know of the desired state beyond the plan. */
export interface GuardContext {
  /** `Kind/name` of the desired objects whose secrets are all generated (see engine/secret-rotation.ts). */
  readonly generatedSecrets?: ReadonlySet<string>;
}

export function guard<Payload>(plan: Plan<Payload>, policy: Policy, context: GuardContext = {}): GuardResult<Payload> {
  if (policy.suspended) return { ok: false, reasons: [`system ${plan.system} is suspended by policy`] };

  const reasons: string[] = [];
  const protectedSet = new Set(policy.protected);
  const dropped: Change<Payload>[] = [];
  const kept: Change<Payload>[] = [];

  for (const c of plan.changes) {
    const id = `${c.kind}/${c.name}`;
    if (isPrune(c) && !policy.prune) {
      dropped.push(c); // pruning off: objects that left Git are reported, not touched
      continue;
    }
    if (isRemoval(c) && protectedSet.has(id)) {
      reasons.push(`${id} is protected: refusing to ${c.action} it`);
      continue;
    }
    if (isRemoval(c) && policy.additiveOnly) {
      reasons.push(`additive-only (crisis) mode: refusing to ${c.action} ${id}`);
      continue;
    }
    kept.push(c);
  }

  // The threshold guards against losing objects by accident (a deleted file, a bad merge): it counts deletions and
  // objects disabled because they left Git, not an explicit `enabled: false`, which names each object on purpose.
  const removals = kept.filter((c) => c.action === 'delete' || isPrune(c)).length;
  const { count, percent } = policy.deletionThreshold;
  if (removals > count) {
    reasons.push(`plan would delete or disable ${removals} objects in ${plan.system}, above the threshold of ${count}`);
  }
  const base = Math.max(plan.ownedCount, 1);
  const pct = (removals / base) * 100;
  if (removals > 0 && pct > percent) {
    reasons.push(`plan would delete or disable ${pct.toFixed(1)}% of the ${plan.ownedCount} objects infrasec owns in ${plan.system}, above the threshold of ${percent}%`);
  }

  if (context.generatedSecrets && !policy.rotateGeneratedSecrets) {
    const rotation = generatedSecretRotation(plan.system, kept, context.generatedSecrets);
    if (rotation) reasons.push(rotation);
  }

  if (reasons.length > 0) return { ok: false, reasons };
  return { ok: true, plan: { ...plan, changes: orderChanges(kept) } as unknown as GuardedPlan<Payload>, dropped };
}

/** Creates and updates by ascending rank, then removals by descending rank (dependents go first). Stable. */
export function orderChanges<Payload>(changes: readonly Change<Payload>[]): Change<Payload>[] {
  const runsBackward = (c: Change) => c.action === 'delete' || isPrune(c);
  const forward = changes.filter((c) => !runsBackward(c));
  const backward = changes.filter(runsBackward);
  const byRank = (dir: 1 | -1) => (a: Change<Payload>, b: Change<Payload>) => dir * (a.rank - b.rank);
  return [...forward.sort(byRank(1)), ...backward.sort(byRank(-1))];
}

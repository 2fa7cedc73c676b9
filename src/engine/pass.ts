// One reconcile pass for one system: observe → plan → guard → apply → verify. The outcome is returned once, as data.
import type { Logger } from 'pino';
import type { Diagnostic } from '../desired/diagnostic.ts';
import { GuardRefusedError, InfrasecError } from '../errors.ts';
import { silentLogger } from '../log.ts';
import { guard } from './guard.ts';
import type { Applied, ApplyHooks, Change, Conflict, DriftMode, Policy, Reconciler, SystemName } from './types.ts';

export type PassMode = 'plan' | 'apply' | 'drift';

/**
 * in-sync: nothing to do. changes: plan/drift found differences. applied: apply wrote them.
 * refused: a guard stopped the pass. failed: an error or a failed change. skipped: suspended or not configured.
 */
export type PassStatus = 'in-sync' | 'changes' | 'applied' | 'refused' | 'failed' | 'skipped';

export interface PassResult {
  readonly system: SystemName;
  readonly mode: PassMode;
  readonly revision: string;
  readonly status: PassStatus;
  /** Everything the plan found, in execution order where known. */
  readonly changes: readonly Change[];
  /** Planned but not applied: pruning off, or drift under a `report` policy. */
  readonly held: ReadonlyArray<{ readonly change: Change; readonly why: string }>;
  readonly conflicts: readonly Conflict[];
  readonly refused: readonly string[];
  readonly applied: readonly Applied[];
  readonly verify: readonly Diagnostic[];
  readonly error?: { readonly code: string; readonly message: string };
  readonly startedAt: string;
  readonly durationMs: number;
  readonly writes: number;
}

export interface PassOptions {
  readonly mode: PassMode;
  readonly revision: string;
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  readonly hooks?: ApplyHooks;
  /** The live state is compared with the commit already applied: changes are drift and follow policy.drift. */
  readonly isDriftPass?: boolean;
  readonly now?: () => Date;
}

export function driftModeOf(policy: Policy, kind: string): DriftMode {
  return policy.drift[kind] ?? policy.drift['*'] ?? 'correct';
}

export async function runPass<D, L>(reconciler: Reconciler<D, L>, desired: D, policy: Policy, opts: PassOptions): Promise<PassResult> {
  const now = opts.now ?? (() => new Date());
  const started = now();
  const log = (opts.logger ?? silentLogger).child({ system: reconciler.system, revision: opts.revision, mode: opts.mode });
  const signal = opts.signal ?? new AbortController().signal;
  let result: Omit<PassResult, 'startedAt' | 'durationMs' | 'writes' | 'system' | 'mode' | 'revision'> = {
    status: 'in-sync', changes: [], held: [], conflicts: [], refused: [], applied: [], verify: [],
  };

  try {
    if (policy.suspended) {
      result = { ...result, status: 'skipped', refused: [`system ${reconciler.system} is suspended by policy`] };
      return finish();
    }
    log.debug({ event: 'pass.observe.start' }, 'observing');
    const live = await reconciler.observe(signal);
    const plan = reconciler.plan(desired, live, policy);
    log.info({ event: 'pass.plan.done', changes: plan.changes.length, conflicts: plan.conflicts.length }, 'planned');

    // Drift under `report` is shown but not corrected; `ignore` is not even shown.
    const held: Array<{ change: Change; why: string }> = [];
    let actionable: Change[] = [...plan.changes];
    if (opts.isDriftPass) {
      actionable = [];
      for (const c of plan.changes) {
        const mode = driftModeOf(policy, c.kind);
        if (mode === 'ignore') continue;
        if (mode === 'report' || opts.mode !== 'apply') held.push({ change: c, why: mode === 'report' ? 'drift policy is report' : 'drift' });
        if (mode === 'correct') actionable.push(c);
      }
    }

    const guarded = guard({ ...plan, changes: actionable }, policy);
    if (!guarded.ok) {
      log.warn({ event: 'pass.guard.refused', reasons: guarded.reasons }, 'guard refused the plan');
      result = { ...result, status: 'refused', changes: plan.changes, conflicts: plan.conflicts, refused: guarded.reasons, held,
        error: { code: 'guard-refused', message: new GuardRefusedError(guarded.reasons.join('; '), guarded.reasons).message } };
      return finish();
    }
    for (const c of guarded.dropped) held.push({ change: c, why: 'pruning is off' });
    const ordered = guarded.plan.changes;
    const visible = opts.isDriftPass ? [...ordered, ...held.map((h) => h.change).filter((c) => !ordered.includes(c))] : [...ordered, ...guarded.dropped];

    if (opts.mode !== 'apply' || ordered.length === 0) {
      const pending = opts.mode === 'apply' ? held.length > 0 && opts.isDriftPass : visible.length > 0;
      result = { ...result, status: pending ? 'changes' : 'in-sync', changes: visible, conflicts: plan.conflicts, held };
      return finish();
    }

    const applied = await reconciler.apply(guarded.plan, signal, opts.hooks);
    const failed = applied.filter((a) => !a.ok);
    for (const a of failed) log.error({ event: 'apply.change.failed', kind: a.change.kind, name: a.change.name, action: a.change.action, error: a.error }, 'change failed');
    const verify = failed.length === applied.length ? [] : await reconciler.verify(applied.filter((a) => a.ok), signal);
    result = {
      ...result,
      status: failed.length > 0 || verify.some((d) => d.severity === 'error') ? 'failed' : 'applied',
      changes: visible, conflicts: plan.conflicts, held, applied, verify,
      error: failed.length > 0 ? { code: 'apply-failed', message: `${failed.length} of ${applied.length} change(s) failed` } : undefined,
    };
    return finish();
  } catch (err) {
    const e = err instanceof InfrasecError ? err : undefined;
    log.error({ event: 'pass.failed', code: e?.code ?? 'internal', err: e ? undefined : err }, e?.message ?? 'pass failed');
    result = { ...result, status: 'failed', error: { code: e?.code ?? 'internal', message: e?.message ?? (err as Error).message } };
    return finish();
  }

  function finish(): PassResult {
    const durationMs = now().getTime() - started.getTime();
    const writes = result.applied.reduce((n, a) => n + a.writes, 0);
    log.info({ event: 'pass.done', status: result.status, changes: result.changes.length, writes, durationMs }, 'pass finished');
    return { system: reconciler.system, mode: opts.mode, revision: opts.revision, startedAt: started.toISOString(), durationMs, writes, ...result };
  }
}

// One reconcile pass for one system: observe → plan → guard → apply → verify. The outcome is returned once, as data.
import type { Logger } from 'pino';
import type { Diagnostic } from '../desired/diagnostic.ts';
import { GuardRefusedError, InfrasecError } from '../errors.ts';
import { silentLogger } from '../log.ts';
import { classify, type FailureClass } from './classify.ts';
import { notAttempted } from './apply-halt.ts';
import { guard } from './guard.ts';
import type { Applied, ApplyHooks, Change, Conflict, DriftMode, GuardedPlan, Policy, Reconciler, SystemName } from './types.ts';

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
  /** Fields the running system cannot show (see Plan.unreadable): drift there goes unseen. */
  readonly unreadable?: readonly string[];
  readonly refused: readonly string[];
  readonly applied: readonly Applied[];
  readonly verify: readonly Diagnostic[];
  /** Why the pass failed or was refused; `class` decides whether the controller retries (see classify.ts). */
  readonly error?: PassError;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly writes: number;
}

export interface PassError {
  readonly code: string;
  readonly message: string;
  readonly class: FailureClass;
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
  /** `Kind/name` of the desired objects whose secrets are all generated: a plan changing all of them at once is refused. */
  readonly generatedSecrets?: ReadonlySet<string>;
}

export function driftModeOf(policy: Policy, kind: string): DriftMode {
  return policy.drift[kind] ?? policy.drift['*'] ?? 'correct';
}

/** The pass left the system on its revision: applied, nothing to do, or only changes held back by policy. */
export function reachedRevision(r: Pick<PassResult, 'status'>): boolean {
  return r.status === 'applied' || r.status === 'in-sync' || r.status === 'changes';
}

/** A pass stopped after guard: what apply would execute, and what to report if it doesn't. */
export interface PreparedPass {
  readonly result: PassResult;
  /** Present when there is something to apply and the guards allowed it. */
  readonly plan?: GuardedPlan;
}

/** Observe, plan and guard. Writes nothing. */
export async function preparePass<D, L>(reconciler: Reconciler<D, L>, desired: D, policy: Policy, opts: PassOptions): Promise<PreparedPass> {
  const clock = startClock(opts);
  const log = passLogger(reconciler.system, opts);
  const signal = opts.signal ?? new AbortController().signal;
  const base = { status: 'in-sync' as PassStatus, changes: [] as Change[], held: [] as Held[], conflicts: [] as Conflict[], unreadable: [] as string[], refused: [] as string[], applied: [] as Applied[], verify: [] as Diagnostic[] };
  try {
    if (policy.suspended) {
      return { result: finish(reconciler.system, opts, clock, log, { ...base, status: 'skipped', refused: [`system ${reconciler.system} is suspended by policy`] }) };
    }
    log.debug({ event: 'pass.observe.start' }, 'observing');
    const live = await reconciler.observe(signal);
    const plan = reconciler.plan(desired, live, policy);
    log.info({ event: 'pass.plan.done', changes: plan.changes.length, conflicts: plan.conflicts.length }, 'planned');
    const seen = { conflicts: plan.conflicts, unreadable: plan.unreadable ?? [] };

    // Drift under `report` is shown but not corrected; `ignore` is not even shown.
    const held: Held[] = [];
    let actionable: Change[] = [...plan.changes];
    if (opts.isDriftPass) {
      actionable = [];
      for (const c of plan.changes) {
        const mode = driftModeOf(policy, c.kind);
        if (mode === 'ignore') continue;
        if (mode === 'report') held.push({ change: c, why: 'drift policy is report' });
        else actionable.push(c);
      }
    }

    const guarded = guard({ ...plan, changes: actionable }, policy, { generatedSecrets: opts.generatedSecrets });
    if (!guarded.ok) {
      log.warn({ event: 'pass.guard.refused', reasons: guarded.reasons }, 'guard refused the plan');
      const error = new GuardRefusedError(guarded.reasons.join('; '), guarded.reasons);
      return { result: finish(reconciler.system, opts, clock, log, { ...base, ...seen, status: 'refused', changes: plan.changes, refused: guarded.reasons, held, error: describeError(error, log) }) };
    }
    for (const c of guarded.dropped) held.push({ change: c, why: 'pruning is off' });
    const ordered = guarded.plan.changes;
    const visible = [...ordered, ...held.map((h) => h.change).filter((c) => !ordered.includes(c))];
    const blocked = blockingError(plan.conflicts);
    const status: PassStatus = blocked ? 'failed' : visible.length > 0 ? 'changes' : 'in-sync';
    const result = finish(reconciler.system, opts, clock, log, { ...base, ...seen, status, changes: visible, held, ...(blocked ? { error: blocked } : {}) });
    return { result, plan: ordered.length > 0 && opts.mode === 'apply' ? guarded.plan : undefined };
  } catch (err) {
    return { result: finish(reconciler.system, opts, clock, log, { ...base, status: 'failed', error: describeError(err, log) }) };
  }
}

/** Applies a prepared pass's guarded plan exactly as it was shown, then verifies. */
export async function completePass<D, L>(reconciler: Reconciler<D, L>, prepared: PreparedPass, opts: PassOptions): Promise<PassResult> {
  if (!prepared.plan) return prepared.result;
  const clock = startClock(opts);
  const log = passLogger(reconciler.system, opts);
  const signal = opts.signal ?? new AbortController().signal;
  const before = prepared.result;
  // Outcomes as the reconciler reports them, so a failure that escapes apply still leaves each change accounted for.
  const reported: Applied[] = [];
  const hooks: ApplyHooks = {
    onApplied: (a, done, total) => {
      reported.push(a);
      opts.hooks?.onApplied?.(a, done, total);
    },
  };
  let applied: Applied[];
  let escaped: PassError | undefined;
  try {
    applied = accountForEveryChange(prepared.plan.changes, await reconciler.apply(prepared.plan, signal, hooks), hooks);
  } catch (err) {
    escaped = describeError(err, log);
    // The change in flight when apply threw may have been sent; the ones after it were not.
    const inFlight = prepared.plan.changes.find((c) => !reported.some((a) => a.change === c));
    if (inFlight) hooks.onApplied?.({ change: inFlight, ok: false, writes: 0, error: escaped.message }, reported.length + 1, prepared.plan.changes.length);
    applied = accountForEveryChange(prepared.plan.changes, reported, hooks, escaped.message);
  }
  const failed = applied.filter((a) => !a.ok);
  for (const a of failed.filter((x) => !x.notAttempted)) log.error({ event: 'apply.change.failed', kind: a.change.kind, name: a.change.name, action: a.change.action, error: a.error }, 'change failed');
  const notSent = failed.filter((a) => a.notAttempted).length;
  if (notSent > 0) log.warn({ event: 'apply.halted', notAttempted: notSent, reason: failed.find((a) => a.notAttempted)?.error }, 'remaining changes not attempted');
  let verify: Diagnostic[] = [];
  if (!escaped && failed.length < applied.length) {
    try {
      verify = await reconciler.verify(applied.filter((a) => a.ok), signal);
    } catch (err) {
      // What was applied stays on the record; the pass fails and the next one checks again.
      escaped = describeError(err, log);
    }
  }
  const pendingHeld = before.held.length > 0;
  // What could be applied was; a conflict that keeps desired objects out of service still fails the pass.
  const blocked = blockingError(before.conflicts);
  const status: PassStatus = escaped || failed.length > 0 || verify.some((d) => d.severity === 'error') || blocked ? 'failed' : pendingHeld ? 'changes' : 'applied';
  return finish(reconciler.system, opts, clock, log, {
    ...before, status, applied, verify,
    error: failed.length > 0 ? { code: 'apply-failed', message: failureSummary(failed, applied.length), class: escaped?.class ?? 'transient' } : escaped ?? blocked,
  }, before.startedAt);
}

/** observe → plan → guard → (apply → verify when mode is apply). */
export async function runPass<D, L>(reconciler: Reconciler<D, L>, desired: D, policy: Policy, opts: PassOptions): Promise<PassResult> {
  const prepared = await preparePass(reconciler, desired, policy, opts);
  return completePass(reconciler, prepared, opts);
}

type Held = { readonly change: Change; readonly why: string };

/**
 * The failure a blocking conflict makes of a pass. Transient: the fix is often made on the system itself (a line the
 * admin adds, a namesake removed), which no new commit or configuration announces, so the pass is simply retried.
 */
function blockingError(conflicts: readonly Conflict[]): PassError | undefined {
  const blocking = conflicts.filter((c) => c.blocking);
  if (blocking.length === 0) return undefined;
  const names = [...new Set(blocking.map((c) => `${c.kind}/${c.name}`))];
  const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
  return {
    code: 'conflict',
    message: `${blocking.length} conflict(s) keep desired objects out of service (${shown}); each conflict line says what to change`,
    class: 'transient',
  };
}

function failureSummary(failed: readonly Applied[], total: number): string {
  const notSent = failed.filter((a) => a.notAttempted);
  const parts = [
    failed.length > notSent.length ? `${failed.length - notSent.length} of ${total} change(s) failed` : '',
    notSent.length > 0 ? `${notSent.length} of ${total} ${notSent[0]!.error ?? 'not attempted'} (the next pass tries them again)` : '',
  ];
  return parts.filter(Boolean).join('; ');
}

/**
 * The contract: apply returns one outcome per planned change. A change a reconciler left out (it stopped early) was
 * not sent: it is added as not attempted, and reported through the hooks so the audit trail records it too.
 */
function accountForEveryChange(planned: readonly Change[], applied: readonly Applied[], hooks: ApplyHooks, why = 'the system stopped before this change'): Applied[] {
  const seen = new Set(applied.map((a) => a.change));
  const missing = planned.filter((c) => !seen.has(c));
  const out = [...applied];
  for (const c of missing) {
    const a = notAttempted(c, why);
    out.push(a);
    hooks.onApplied?.(a, out.length, planned.length);
  }
  return out;
}
type Clock = { readonly now: () => Date; readonly started: Date };
type Outcome = Omit<PassResult, 'startedAt' | 'durationMs' | 'writes' | 'system' | 'mode' | 'revision'>;

function startClock(opts: PassOptions): Clock {
  const now = opts.now ?? (() => new Date());
  return { now, started: now() };
}

function passLogger(system: SystemName, opts: PassOptions): Logger {
  return (opts.logger ?? silentLogger).child({ system, revision: opts.revision, mode: opts.mode });
}

function describeError(err: unknown, log: Logger): PassError {
  const e = err instanceof InfrasecError ? err : undefined;
  const failure = classify(err);
  if (!(err instanceof GuardRefusedError)) log.error({ event: 'pass.failed', code: e?.code ?? 'internal', class: failure, err: e ? undefined : err }, e?.message ?? 'pass failed');
  return { code: e?.code ?? 'internal', message: e?.message ?? (err as Error).message, class: failure };
}

function finish(system: SystemName, opts: PassOptions, clock: Clock, log: Logger, outcome: Outcome, startedAt?: string): PassResult {
  const durationMs = clock.now().getTime() - (startedAt ? Date.parse(startedAt) : clock.started.getTime());
  const writes = outcome.applied.reduce((n, a) => n + a.writes, 0);
  log.info({ event: 'pass.done', status: outcome.status, changes: outcome.changes.length, writes, durationMs }, 'pass finished');
  return { ...outcome, system, mode: opts.mode, revision: opts.revision, startedAt: startedAt ?? clock.started.toISOString(), durationMs, writes };
}

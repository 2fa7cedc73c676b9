// One pass of one system inside the controller, with its bookkeeping: deadline, audit, drift report, stall, status, notifications, next delay.
import { userInfo } from 'node:os';
import type { Logger } from 'pino';
import { policyOf, type Config } from '../config.ts';
import { backoffDelay, type BackoffPolicy } from '../engine/backoff.ts';
import type { AnyReconciler } from '../engine/module.ts';
import { preparePass, reachedRevision, type PassOptions, type PassResult } from '../engine/pass.ts';
import { generatedSecretOwners } from '../desired/secret-fields.ts';
import type { SystemName } from '../engine/types.ts';
import { InfrasecError } from '../errors.ts';
import type { AuditLog } from '../report/audit.ts';
import type { DriftBook } from './drift-book.ts';
import type { Notifications } from './notifications.ts';
import { PassRecorder } from './pass-recorder.ts';
import type { Desired } from './source-tracker.ts';
import type { StallBook } from './stall-book.ts';
import type { Stall, StatusBoard } from './status.ts';

const CONTROLLER_ACTOR = { via: 'controller', user: userInfo().username } as const;

/** The revision each system last converged to, and when. */
export type AppliedRevisions = Map<SystemName, { revision: string; at: string }>;

export interface SystemPassDeps {
  readonly config: Config;
  readonly reconcilers: ReadonlyMap<SystemName, AnyReconciler>;
  readonly audit: AuditLog;
  readonly log: Logger;
  readonly status: StatusBoard;
  readonly stalls: StallBook;
  readonly drift: DriftBook;
  readonly notifications: Notifications;
  readonly applied: AppliedRevisions;
  readonly now: () => Date;
  readonly random: () => number;
  readonly backoff: BackoffPolicy;
  /** The controller's stop signal. */
  readonly signal: AbortSignal;
  /** How long past passTimeoutSeconds a pass may take to settle before its worker shows as stuck. */
  readonly stuckGraceMs: number;
  /** Something controller-state.json holds changed. */
  readonly persistState: () => void;
  /** The drift report changed. */
  readonly persistDrift: () => void;
}

export interface SystemPassOutcome {
  readonly result: PassResult;
  /** Whether the system converged on the pass's revision (its dependents may now run on it). */
  readonly converged: boolean;
  /** undefined when the system stalled: the worker waits for a new revision. */
  readonly nextDelayMs: number | undefined;
}

export class SystemPassRunner {
  private readonly lastRefusal = new Map<SystemName, string>();

  constructor(private readonly deps: SystemPassDeps) {}

  /**
   * One pass for one system; the worker guarantees there is never more than one per system at a time (`whileWaiting`:
   * a drift pass on the commit it last converged on, while it waits for its dependencies on a newer one). Past
   * passTimeoutSeconds the pass's signal aborts (every client call follows it); a pass that has still not settled
   * stuckGraceMs later marks its worker stuck (/status, /readyz, infrasec_worker_stuck) rather than look healthy.
   */
  async run(system: SystemName, desired: Desired, whileWaiting = false): Promise<SystemPassOutcome> {
    const { status, log } = this.deps;
    const timeoutSeconds = this.deps.config.controller.passTimeoutSeconds;
    const deadline = new AbortController();
    const deadlineTimer = setTimeout(() => deadline.abort(new InfrasecError('pass-timeout', `pass timed out after ${timeoutSeconds} s (passTimeoutSeconds)`)), timeoutSeconds * 1000);
    const stuckAfterMs = timeoutSeconds * 1000 + this.deps.stuckGraceMs;
    const stuckTimer = setTimeout(() => {
      const message = `the pass has not settled ${Math.round(stuckAfterMs / 1000)} s after it started, past its ${timeoutSeconds} s timeout`;
      status.passStuck(system, message);
      log.error({ event: 'pass.stuck', system, passTimeoutSeconds: timeoutSeconds }, message);
    }, stuckAfterMs);
    try {
      return await this.passWithin(system, desired, AbortSignal.any([this.deps.signal, deadline.signal]), whileWaiting);
    } finally {
      clearTimeout(deadlineTimer);
      clearTimeout(stuckTimer);
    }
  }

  private async passWithin(system: SystemName, desired: Desired, signal: AbortSignal, whileWaiting: boolean): Promise<SystemPassOutcome> {
    const { config, stalls, status } = this.deps;
    const reconciler = this.deps.reconcilers.get(system)!;
    const revision = desired.state.revision;
    const drift = this.deps.applied.get(system)?.revision === revision;
    const policy = policyOf(config, system);
    const snap = desired.snapshot;
    const log = this.deps.log.child({ system, commit: revision });
    const recorder = new PassRecorder(this.deps.audit, system, { commit: revision, author: snap.author ?? null, signature: snap.signature.state, drift, actor: CONTROLLER_ACTOR }, this.deps.now);

    status.passStarted(system, whileWaiting);
    const generatedSecrets = generatedSecretOwners(desired.state.resources);
    const passOpts: PassOptions = { mode: 'apply', revision, signal, logger: log, isDriftPass: drift, now: this.deps.now, hooks: recorder.hooks(), generatedSecrets };
    const prepared = await preparePass(reconciler, desired.state, policy, passOpts);
    const result = await recorder.apply(reconciler, prepared, passOpts);

    const refusalKey = result.status === 'refused' ? `${revision}\u0000${result.refused.join('\n')}` : undefined;
    const newRefusal = refusalKey !== undefined && this.lastRefusal.get(system) !== refusalKey;
    if (refusalKey) this.lastRefusal.set(system, refusalKey);
    else this.lastRefusal.delete(system);
    if (newRefusal) recorder.refused(result);
    // A pass the audit trail could not record in full is a failed pass: it neither converges nor stalls, and counts once.
    const recordingError = await recorder.finish();
    const converged = !drift && !recordingError && reachedRevision(result);
    const stall: Stall | undefined = !recordingError && result.error?.class === 'stalled'
      ? { code: result.error.code, reason: result.error.message, revision, configDigest: stalls.configDigest(system), since: this.deps.now().toISOString() }
      : undefined;
    const driftUpdate = this.deps.drift.afterPass(system, result, policy, { drift, converged }, this.deps.now());
    if (driftUpdate.changed) this.deps.persistDrift();

    status.passFinished(system, result, { drift, driftOpen: driftUpdate.open, converged, stall, recordingError });
    const wasStalled = stalls.record(system, stall);
    if (stall) log.warn({ event: 'pass.stalled', code: stall.code, reason: stall.reason }, 'not retried until the commit or the configuration changes');
    if (converged) this.deps.applied.set(system, { revision, at: this.deps.now().toISOString() });
    if (converged || stall || wasStalled) this.deps.persistState();
    if (recordingError) log.error({ event: 'audit.write.failed', error: recordingError.message }, 'audit trail write failed; the pass counts as failed');
    status.auditHead(this.deps.audit.current);

    this.deps.notifications.afterPass(system, result, drift, driftUpdate.found, refusalKey);

    const failures = status.snapshot().systems.find((s) => s.system === system)?.consecutiveFailures ?? 0;
    const nextDelayMs = stall ? undefined
      : result.status === 'failed' || recordingError ? backoffDelay(Math.max(1, failures), this.deps.backoff, this.deps.random)
      : config.controller.driftIntervalSeconds * 1000;
    return { result, converged, nextDelayMs };
  }
}

// The controller's status board: the one place where per-system and source status, and every Prometheus metric, are written.
import type { Diagnostic } from '../desired/diagnostic.ts';
import { formatDiagnostic } from '../desired/diagnostic.ts';
import type { ControllerMetrics, PassOutcome, WebhookResult } from '../server/metrics.ts';
import type { SignatureCheck, SourceDescription, SourceSnapshot } from '../sources/source.ts';
import type { PassResult, PassStatus } from '../engine/pass.ts';
import type { SystemName } from '../engine/types.ts';

/**
 * stuck: a pass ran past its timeout and has not settled; the worker waits for it rather than start a second one.
 * stalled: not retried until the commit or the configuration changes (see `stalled` for why).
 * waiting: a new revision waits until the systems this one depends on converged on it (see `waitingFor`).
 */
export type SystemState = 'starting' | 'running' | 'stuck' | 'idle' | 'backoff' | 'stalled' | 'waiting' | 'stopped';

/** A dependent system holding a new revision until the systems it depends on converged on it. */
export interface Waiting {
  readonly revision: string;
  readonly on: readonly SystemName[];
  readonly since: string;
}

/** A failure that retrying the same commit with the same configuration would repeat. */
export interface Stall {
  readonly code: string;
  readonly reason: string;
  /** The revision it stalled on; a new desired revision (or a restart with another configuration) resumes. */
  readonly revision: string;
  /** Digest of the system's configuration section when it stalled. */
  readonly configDigest: string;
  readonly since: string;
}

export interface LastPass {
  readonly revision: string;
  readonly drift: boolean;
  readonly status: PassStatus;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly changes: number;
  readonly writes: number;
  readonly failedChanges: number;
}

export interface SystemStatus {
  readonly system: SystemName;
  state: SystemState;
  appliedRevision: string | null;
  appliedAt: string | null;
  lastPass: LastPass | null;
  lastSuccessAt: string | null;
  lastError: { code: string; message: string; at: string } | null;
  consecutiveFailures: number;
  nextAttemptAt: string | null;
  driftOpen: number;
  /** Since when the running pass is past its timeout without settling; null when not stuck. */
  stuckSince: string | null;
  stalled: Stall | null;
  waitingFor: Waiting | null;
}

export interface SourceStatus {
  readonly kind: SourceDescription['kind'];
  readonly location: string;
  readonly ref: string | null;
  readonly path: string | null;
  head: { revision: string; author: string | null; subject: string | null; committedAt: string | null; signature: SignatureCheck } | null;
  /** The revision the systems converge to: the last head that loaded, validated and passed signature checks. */
  desiredRevision: string | null;
  /** Why the head is not the desired revision. */
  notApplied: { revision: string; code: string; reason: string; diagnostics: string[] } | null;
  lastFetchAt: string | null;
  lastFetchError: { message: string; at: string } | null;
  consecutiveFailures: number;
}

export interface ControllerStatus {
  readonly startedAt: string;
  readonly source: SourceStatus;
  readonly systems: readonly SystemStatus[];
  readonly skipped: ReadonlyArray<{ system: SystemName; reason: string }>;
  /** The audit head; `problem` when the trail is damaged and refuses appends (see `infrasec audit repair`). */
  readonly audit: { seq: number; hash: string; problem: string | null };
}

const DIAGNOSTICS_SHOWN = 20;

export class StatusBoard {
  private readonly systems = new Map<SystemName, SystemStatus>();
  private readonly source: SourceStatus;
  private audit: { seq: number; hash: string; problem: string | null } = { seq: 0, hash: '', problem: null };
  private readonly startedAt: string;

  constructor(
    private readonly metrics: ControllerMetrics,
    source: SourceDescription,
    systems: readonly SystemName[],
    private readonly skipped: ReadonlyArray<{ system: SystemName; reason: string }>,
    private readonly now: () => Date,
  ) {
    this.startedAt = now().toISOString();
    this.source = {
      kind: source.kind, location: source.location, ref: source.ref ?? null, path: source.path ?? null,
      head: null, desiredRevision: null, notApplied: null, lastFetchAt: null, lastFetchError: null, consecutiveFailures: 0,
    };
    for (const system of systems) {
      this.systems.set(system, {
        system, state: 'starting', appliedRevision: null, appliedAt: null, lastPass: null, lastSuccessAt: null,
        lastError: null, consecutiveFailures: 0, nextAttemptAt: null, driftOpen: 0, stuckSince: null, stalled: null, waitingFor: null,
      });
      metrics.addSystem(system);
    }
  }

  /** Restores what the previous run persisted, so /status and the metric show the enforced commit from the start. */
  restoreApplied(system: SystemName, revision: string, at: string): void {
    const s = this.get(system);
    s.appliedRevision = revision;
    s.appliedAt = at;
    this.publishApplied();
  }

  /** A stall the previous run recorded, still in force for this revision and configuration. */
  restoreStall(system: SystemName, stall: Stall): void {
    const s = this.get(system);
    s.stalled = stall;
    s.state = 'stalled';
    s.lastError = { code: stall.code, message: stall.reason, at: stall.since };
    this.metrics.stalled.set({ system, reason: stall.code }, 1);
    this.publishReady(s);
  }

  sourceFetched(snapshot: SourceSnapshot): void {
    this.source.head = {
      revision: snapshot.revision, author: snapshot.author ?? null, subject: snapshot.subject ?? null,
      committedAt: snapshot.committedAt ?? null, signature: snapshot.signature,
    };
    this.source.lastFetchAt = this.now().toISOString();
    this.source.lastFetchError = null;
    this.source.consecutiveFailures = 0;
  }

  sourceFailed(message: string, code: string): void {
    this.source.lastFetchError = { message, at: this.now().toISOString() };
    this.source.consecutiveFailures++;
    this.metrics.sourceFailures.inc({ code });
  }

  /** The head loaded and may be applied. */
  sourceAccepted(revision: string): void {
    this.source.desiredRevision = revision;
    this.source.notApplied = null;
    this.metrics.sourceHead.reset();
    this.metrics.sourceHead.set({ commit: revision, applicable: 'true' }, 1);
  }

  /** The head is invalid or untrusted: the previous desired revision stays enforced. */
  sourceRejected(revision: string, reason: string, diagnostics: readonly Diagnostic[], code: string): void {
    const shown = diagnostics.slice(0, DIAGNOSTICS_SHOWN).map(formatDiagnostic);
    if (diagnostics.length > DIAGNOSTICS_SHOWN) shown.push(`… and ${diagnostics.length - DIAGNOSTICS_SHOWN} more`);
    this.source.notApplied = { revision, code, reason, diagnostics: shown };
    this.metrics.sourceHead.reset();
    this.metrics.sourceHead.set({ commit: revision, applicable: 'false' }, 1);
    this.metrics.sourceFailures.inc({ code });
  }

  /** The desired revision used while the head is unusable (restored from the last run). */
  sourceFallback(revision: string): void {
    this.source.desiredRevision = revision;
  }

  /** `whileWaiting`: a drift pass on the previous commit of a system still waiting for a newer one, which it keeps. */
  passStarted(system: SystemName, whileWaiting = false): void {
    const s = this.get(system);
    s.state = 'running';
    s.nextAttemptAt = null;
    if (!whileWaiting) this.setWaiting(s, null);
    this.publishReady(s);
  }

  /** The system holds `revision` until the systems it depends on converged on it (shown in /status and infrasec_system_waiting). */
  waiting(system: SystemName, revision: string, on: readonly SystemName[]): void {
    const s = this.get(system);
    if (s.waitingFor?.revision !== revision || s.waitingFor.on.join() !== on.join()) this.setWaiting(s, { revision, on: [...on], since: this.now().toISOString() });
    s.state = 'waiting';
    s.nextAttemptAt = null;
    this.publishReady(s);
  }

  private setWaiting(s: SystemStatus, waiting: Waiting | null): void {
    for (const d of s.waitingFor?.on ?? []) this.metrics.waiting.remove({ system: s.system, on: d });
    s.waitingFor = waiting;
    for (const d of waiting?.on ?? []) this.metrics.waiting.set({ system: s.system, on: d }, 1);
  }

  /** The running pass is past its timeout and has not settled: shown in /status, /readyz and infrasec_worker_stuck. */
  passStuck(system: SystemName, message: string): void {
    const s = this.get(system);
    s.state = 'stuck';
    s.stuckSince = this.now().toISOString();
    s.lastError = { code: 'pass-stuck', message, at: s.stuckSince };
    this.metrics.stuckWorkers.set({ system }, 1);
    this.publishReady(s);
  }

  /**
   * Records one finished pass, from its one outcome: status, applied commit, errors, stall and every pass metric.
   * `recordingError` is set when the pass could not be recorded in full (the audit trail refused a write): the
   * pass then counts as failed, once, whatever its result said.
   */
  passFinished(
    system: SystemName,
    result: PassResult,
    opts: { drift: boolean; driftOpen: number; converged: boolean; stall?: Stall; recordingError?: { code: string; message: string } },
  ): void {
    const s = this.get(system);
    this.recordPass(s, result, opts);
    this.publishReady(s);
  }

  private recordPass(
    s: SystemStatus,
    result: PassResult,
    opts: { drift: boolean; driftOpen: number; converged: boolean; stall?: Stall; recordingError?: { code: string; message: string } },
  ): void {
    const system = s.system;
    s.stuckSince = null;
    this.metrics.stuckWorkers.set({ system }, 0);
    const at = this.now().toISOString();
    const failedChanges = result.applied.filter((a) => !a.ok).length;
    s.lastPass = {
      revision: result.revision, drift: opts.drift, status: result.status, startedAt: result.startedAt, durationMs: result.durationMs,
      changes: result.changes.length, writes: result.writes, failedChanges,
    };
    s.driftOpen = opts.driftOpen;
    const pass = opts.drift ? 'drift' : 'apply';
    this.metrics.passDuration.observe({ system, pass }, result.durationMs / 1000);
    for (const a of result.applied) this.metrics.changes.inc({ system, action: a.change.action, result: a.ok ? 'ok' : a.notAttempted ? 'not-attempted' : 'failed' });
    // Held is a standing condition, not an event: a gauge of what the last pass that planned holds back, not re-counted per pass.
    if (planned(result)) this.metrics.setHeld(system, result.held.map((h) => h.change.action));
    this.metrics.driftedObjects.set({ system }, opts.driftOpen);
    this.setStall(s, opts.stall);

    const error = opts.recordingError ?? (result.status === 'failed' || result.status === 'refused'
      ? { code: result.error?.code ?? (result.status === 'refused' ? 'guard-refused' : 'failed'), message: result.error?.message ?? result.refused.join('; ') }
      : undefined);
    this.metrics.passes.inc({ system, pass, result: passOutcome(result.status, opts.recordingError !== undefined) });
    if (error) {
      s.lastError = { ...error, at };
      this.metrics.passFailures.inc({ system, code: error.code });
      if (result.status !== 'refused' || opts.recordingError) s.consecutiveFailures++;
      s.state = opts.stall ? 'stalled' : 'backoff';
      return;
    }
    s.consecutiveFailures = 0;
    s.lastError = null;
    s.lastSuccessAt = at;
    s.state = 'idle';
    this.metrics.lastSuccess.set({ system }, this.now().getTime() / 1000);
    if (opts.converged && s.appliedRevision !== result.revision) {
      s.appliedRevision = result.revision;
      s.appliedAt = at;
      this.publishApplied();
    }
  }

  private publishApplied(): void {
    this.metrics.appliedCommit.reset();
    for (const x of this.systems.values()) if (x.appliedRevision) this.metrics.appliedCommit.set({ system: x.system, commit: x.appliedRevision }, 1);
  }

  /** infrasec_system_ready: the last pass succeeded and nothing since holds the system back (stuck, stalled, waiting, a failed write). */
  private publishReady(s: SystemStatus): void {
    const ready = s.state !== 'stopped' && s.lastSuccessAt !== null && s.lastError === null && s.stuckSince === null && s.stalled === null && s.waitingFor === null;
    this.metrics.ready.set({ system: s.system }, ready ? 1 : 0);
  }

  /** A state file could not be written: shown on every system until a pass succeeds. */
  recordFailure(system: SystemName, code: string, message: string): void {
    const s = this.get(system);
    s.lastError = { code, message, at: this.now().toISOString() };
    this.metrics.passFailures.inc({ system, code });
    this.publishReady(s);
  }

  private setStall(s: SystemStatus, stall: Stall | undefined): void {
    if (s.stalled) this.metrics.stalled.remove({ system: s.system, reason: s.stalled.code });
    s.stalled = stall ?? null;
    if (stall) this.metrics.stalled.set({ system: s.system, reason: stall.code }, 1);
  }

  scheduled(system: SystemName, at: Date | null): void {
    this.get(system).nextAttemptAt = at ? at.toISOString() : null;
  }

  stopped(system: SystemName): void {
    const s = this.get(system);
    s.state = 'stopped';
    this.publishReady(s);
  }

  webhook(result: WebhookResult): void {
    this.metrics.webhookRequests.inc({ result });
  }

  notificationFailed(event: string): void {
    this.metrics.notificationFailures.inc({ event });
  }

  auditHead(head: { seq: number; hash: string }): void {
    this.audit = { seq: head.seq, hash: head.hash, problem: this.audit.problem };
  }

  /** The audit trail refuses appends: no change is applied until the gap is acknowledged. */
  auditDamaged(message: string): void {
    this.audit = { ...this.audit, problem: message };
  }

  /** Ready once every enabled system has finished a pass that reached it (not failed), and no worker is stuck. */
  ready(): { ready: boolean; waiting: SystemName[]; stuck: SystemName[] } {
    const waiting = [...this.systems.values()].filter((s) => s.lastSuccessAt === null && !(s.lastPass && s.lastPass.status === 'refused')).map((s) => s.system);
    const stuck = [...this.systems.values()].filter((s) => s.stuckSince !== null).map((s) => s.system);
    return { ready: waiting.length === 0 && stuck.length === 0, waiting, stuck };
  }

  snapshot(): ControllerStatus {
    return structuredClone({
      startedAt: this.startedAt,
      source: this.source,
      systems: [...this.systems.values()],
      skipped: [...this.skipped],
      audit: this.audit,
    });
  }

  private get(system: SystemName): SystemStatus {
    const s = this.systems.get(system);
    if (!s) throw new Error(`unknown system ${system}`);
    return s;
  }
}

/** Pure: whether a pass got as far as a plan (a pass that failed before it, or a suspended one, says nothing of held changes). */
function planned(result: PassResult): boolean {
  if (result.status === 'skipped') return false;
  return result.status !== 'failed' || result.changes.length > 0 || result.conflicts.length > 0 || result.applied.length > 0;
}

/** Pure: a pass's result label in infrasec_passes_total; a pass that could not be recorded in full counts as failed. */
function passOutcome(status: PassStatus, recordingFailed: boolean): PassOutcome {
  if (recordingFailed || status === 'failed') return 'failed';
  return status === 'refused' ? 'refused' : status === 'skipped' ? 'skipped' : 'ok';
}

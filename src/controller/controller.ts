// The long-running controller: starts the source loop and one worker per system, holds new revisions for dependencies, and stops cleanly.
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Resolved } from '../desired/resolve.ts';
import type { BackoffPolicy } from '../engine/backoff.ts';
import { dependentsOf, waitingOn, type DependencyGraph } from '../engine/dependencies.ts';
import { runInDependencyOrder } from '../engine/dependency-order.ts';
import type { AnyReconciler } from '../engine/module.ts';
import type { PassResult } from '../engine/pass.ts';
import type { SystemName } from '../engine/types.ts';
import type { Notifier } from '../notify/notification.ts';
import { AuditDamagedError, type AuditLog } from '../report/audit.ts';
import type { DriftReport } from '../report/drift.ts';
import type { ControllerMetrics } from '../server/metrics.ts';
import type { Source } from '../sources/source.ts';
import { CONTROLLER_STATE_FILE } from '../state/state-catalog.ts';
import { readStateFile } from '../state/state-file.ts';
import { acquireStateLock, type StateLock } from '../state/state-lock.ts';
import type { PersistedState } from './applied-state.ts';
import { DriftBook } from './drift-book.ts';
import { dependencyNotConverged } from './dependency-result.ts';
import { Notifications } from './notifications.ts';
import { controllerPaths, type ControllerPaths } from './paths.ts';
import { SourceTracker, type Desired } from './source-tracker.ts';
import { StallBook } from './stall-book.ts';
import { StateWriter } from './state-writer.ts';
import { StatusBoard, type Stall } from './status.ts';
import { SystemPassRunner, type AppliedRevisions } from './system-pass.ts';
import { Wakeup } from './wakeup.ts';

export { controllerPaths } from './paths.ts';
export type { PersistedState } from './applied-state.ts';

export interface ControllerDeps {
  readonly config: Config;
  readonly source: Source;
  readonly reconcilers: ReadonlyMap<SystemName, AnyReconciler>;
  readonly skipped: ReadonlyArray<{ system: SystemName; reason: string }>;
  /** Which system waits for which on a new revision (config.ts `dependencyGraph`); none when absent. */
  readonly dependencies?: DependencyGraph;
  readonly audit: AuditLog;
  readonly metrics: ControllerMetrics;
  readonly logger: Logger;
  readonly notifier?: Notifier;
  readonly now?: () => Date;
  readonly random?: () => number;
  /** Loads and resolves a checked-out revision; defaults to loadResolvedState with the controller's config. */
  readonly load?: (root: string, revision: string) => Promise<Resolved>;
  /** How long stop() waits for in-flight passes before giving up on them. */
  readonly shutdownGraceMs?: number;
  /** How long past passTimeoutSeconds a pass may take to settle before its worker shows as stuck. Default 10 s. */
  readonly stuckGraceMs?: number;
}

export class Controller {
  readonly status: StatusBoard;
  private readonly paths: ControllerPaths;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly stopper = new AbortController();
  private readonly sourceWake = new Wakeup();
  private readonly wakes = new Map<SystemName, Wakeup>();
  private readonly applied: AppliedRevisions = new Map();
  /**
   * The desired state each system last converged on, while this process runs: a dependent waiting for its dependencies
   * on a newer commit keeps enforcing this one (drift passes), so an outage elsewhere does not leave it unwatched.
   */
  private readonly convergedDesired = new Map<SystemName, Desired>();
  private readonly dependencies: DependencyGraph;
  private readonly stalls: StallBook;
  private readonly drift = new DriftBook();
  private readonly notifications: Notifications;
  private readonly writer: StateWriter;
  private readonly tracker: SourceTracker;
  private readonly passes: SystemPassRunner;
  private loops: Promise<void>[] = [];
  private stopWatching: (() => Promise<void>) | undefined;
  private stateLock: StateLock | undefined;

  constructor(private readonly deps: ControllerDeps) {
    this.paths = controllerPaths(deps.config.stateDir);
    this.log = deps.logger;
    this.now = deps.now ?? (() => new Date());
    const random = deps.random ?? Math.random;
    const retry = deps.config.controller.retry;
    const backoff: BackoffPolicy = { baseMs: retry.initialSeconds * 1000, maxMs: retry.maxSeconds * 1000, factor: 2, jitter: 0.5 };
    for (const system of deps.reconcilers.keys()) this.wakes.set(system, new Wakeup());
    this.dependencies = deps.dependencies ?? new Map();
    this.status = new StatusBoard(deps.metrics, deps.source.describe(), [...deps.reconcilers.keys()], deps.skipped, this.now);
    this.stalls = new StallBook(deps.config);
    this.notifications = new Notifications(deps.notifier, this.stopper.signal, this.now);
    this.writer = new StateWriter(this.paths, (what, err) => {
      this.log.error({ event: 'state.write.failed', file: what, error: err.message }, 'cannot write a state file');
      for (const system of deps.reconcilers.keys()) this.status.recordFailure(system, 'state-write-failed', `${what}: ${err.message}`);
    });
    const wakeAll = () => {
      for (const w of this.wakes.values()) w.wake();
    };
    this.tracker = new SourceTracker({
      config: deps.config, source: deps.source, audit: deps.audit, status: this.status, notifications: this.notifications, log: this.log,
      now: this.now, random, backoff, signal: this.stopper.signal, load: deps.load,
      onAdopted: () => {
        this.persistState();
        wakeAll();
      },
      onFallback: wakeAll,
    });
    this.passes = new SystemPassRunner({
      config: deps.config, reconcilers: deps.reconcilers, audit: deps.audit, log: this.log, status: this.status, stalls: this.stalls,
      drift: this.drift, notifications: this.notifications, applied: this.applied, now: this.now, random, backoff, signal: this.stopper.signal,
      stuckGraceMs: deps.stuckGraceMs ?? 10_000, persistState: () => this.persistState(), persistDrift: () => this.writer.driftReport(this.drift.report),
    });
  }

  /** The latest drift report (also persisted under the state directory). */
  get driftReport(): DriftReport {
    return this.drift.report;
  }

  /** Starts the source loop and one worker per system. Returns once they are running. */
  async start(): Promise<void> {
    await this.restore();
    this.log.info({ event: 'controller.start', systems: [...this.deps.reconcilers.keys()], source: this.deps.source.describe() }, 'controller starting');
    this.loops.push(this.sourceLoop());
    for (const system of this.deps.reconcilers.keys()) this.loops.push(this.worker(system));
    this.stopWatching = this.deps.source.watch?.(() => this.trigger('watch'));
  }

  /** Fetches now (webhook, watcher) instead of waiting for the poll interval. */
  trigger(reason: string): void {
    this.log.info({ event: 'source.trigger', reason }, 'fetch requested');
    this.sourceWake.wake();
  }

  /**
   * Stops cleanly: waits are cut short, passes in flight see their signal abort (a reconciler finishes the change it
   * is sending and starts no other), then audit, drift and state writes are flushed and the lock released.
   */
  async stop(): Promise<void> {
    if (this.stopper.signal.aborted) return;
    this.log.info({ event: 'controller.stopping' }, 'stopping');
    this.stopper.abort(new Error('controller stopping'));
    await this.stopWatching?.();
    const grace = this.deps.shutdownGraceMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      Promise.allSettled(this.loops).then(() => 'done' as const),
      new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), grace))),
    ]);
    if (timer) clearTimeout(timer);
    if (outcome === 'timeout') this.log.error({ event: 'controller.stop.timeout', graceMs: grace }, 'passes still running after the grace period');
    await this.notifications.flush();
    await this.writer.flush();
    for (const r of this.deps.reconcilers.values()) await r.close().catch((err) => this.log.warn({ event: 'controller.close.failed', system: r.system, err: (err as Error).message }, 'close failed'));
    await this.unlock();
    this.log.info({ event: 'controller.stop' }, 'stopped');
  }

  /**
   * One fetch and one pass per system, then stop: `infrasec run --once`. A system runs once the systems it depends
   * on have run; when one of them did not converge, the dependent is not run and its result says why.
   */
  async runOnce(): Promise<PassResult[]> {
    await this.restore();
    try {
      await this.tracker.syncOnce();
      const desired = this.tracker.desired;
      if (!desired) return [];
      const revision = desired.state.revision;
      return await runInDependencyOrder([...this.deps.reconcilers.keys()], this.dependencies, async (system) => {
        const outcome = await this.passes.run(system, desired);
        // A drift pass on a revision applied before also counts: the system is on it.
        return { result: outcome.result, converged: outcome.converged || (outcome.result.status !== 'failed' && this.convergedOn(system, revision)) };
      }, (system, on) => dependencyNotConverged(system, revision, on, this.now()));
    } finally {
      await this.notifications.flush();
      await this.writer.flush();
      for (const r of this.deps.reconcilers.values()) await r.close();
      await this.unlock();
    }
  }

  // ---- start-up -------------------------------------------------------------------------------------------------

  private async restore(): Promise<void> {
    await this.lock();
    try {
      await this.readPersisted();
    } catch (err) {
      await this.unlock();
      throw err;
    }
  }

  private async readPersisted(): Promise<void> {
    const persisted = await readStateFile<PersistedState>(this.paths.state, CONTROLLER_STATE_FILE);
    this.tracker.restore(persisted?.desiredRevision ?? null);
    for (const [system, s] of Object.entries(persisted?.systems ?? {}) as Array<[SystemName, { appliedRevision: string; appliedAt: string }]>) {
      if (!this.deps.reconcilers.has(system)) continue;
      this.applied.set(system, { revision: s.appliedRevision, at: s.appliedAt });
      this.status.restoreApplied(system, s.appliedRevision, s.appliedAt);
    }
    for (const [system, stall] of Object.entries(persisted?.stalled ?? {}) as Array<[SystemName, Stall]>) {
      if (this.deps.reconcilers.has(system) && this.stalls.restore(system, stall)) this.status.restoreStall(system, stall);
    }
    await this.drift.restore(this.paths.driftJson, this.log);
    this.status.auditHead(this.deps.audit.current);
    if (this.deps.audit.recovered > 0) {
      this.log.warn({ event: 'audit.recovered', bytes: this.deps.audit.recovered }, 'cut a torn final line from the audit log (crash during an append); the cut is audited');
    }
    if (this.deps.audit.damage) {
      const message = new AuditDamagedError(this.deps.audit.damage).message;
      this.status.auditDamaged(message);
      this.log.error({ event: 'audit.damaged', problem: this.deps.audit.damage }, message);
    }
  }

  /** One controller per state directory; `infrasec apply` takes the same lock. */
  private async lock(): Promise<void> {
    if (this.stateLock) return;
    this.stateLock = await acquireStateLock(this.paths.lock, this.log, 'another controller or apply');
  }

  private async unlock(): Promise<void> {
    await this.stateLock?.release();
    this.stateLock = undefined;
  }

  // ---- loops ----------------------------------------------------------------------------------------------------

  private async sourceLoop(): Promise<void> {
    let delay: number | undefined = 0;
    while (await this.sourceWake.wait(delay, this.stopper.signal)) {
      delay = await this.tracker.syncOnce();
    }
  }

  private async worker(system: SystemName): Promise<void> {
    const wake = this.wakes.get(system)!;
    let delay: number | undefined;
    while (await wake.wait(delay, this.stopper.signal)) {
      const desired = this.tracker.desired;
      // Nothing to do until a new desired revision wakes this worker (a stall ends there, or at a restart with another configuration).
      delay = undefined;
      if (!desired || this.stalls.isStalled(system, desired.state.revision)) continue;
      const revision = desired.state.revision;
      const waiting = waitingOn(system, this.dependencies, (d) => this.convergedOn(d, revision));
      if (waiting.length > 0) {
        // Woken again when one of them converges.
        this.status.waiting(system, revision, waiting);
        this.log.info({ event: 'pass.waiting', system, revision, on: waiting }, 'waiting for the systems this one depends on to converge on the revision');
        delay = await this.enforcePrevious(system);
        if (this.stopper.signal.aborted) break;
        this.status.waiting(system, revision, waiting);
        continue;
      }
      const { converged, nextDelayMs } = await this.passes.run(system, desired);
      if (this.stopper.signal.aborted) break;
      if (converged) {
        this.convergedDesired.set(system, desired);
        for (const d of dependentsOf(system, this.dependencies)) this.wakes.get(d)?.wake();
      }
      delay = nextDelayMs;
      this.status.scheduled(system, nextDelayMs === undefined ? null : new Date(this.now().getTime() + nextDelayMs));
    }
    this.status.stopped(system);
  }

  /**
   * While waiting, a drift pass on the commit the system last converged on (known only since this process started):
   * it still corrects what drifted from it. Returns when to look again; undefined when there is nothing to enforce.
   */
  private async enforcePrevious(system: SystemName): Promise<number | undefined> {
    const previous = this.convergedDesired.get(system);
    if (!previous || !this.convergedOn(system, previous.state.revision) || this.stalls.isStalled(system, previous.state.revision)) return undefined;
    const { nextDelayMs } = await this.passes.run(system, previous, true);
    return nextDelayMs;
  }

  private convergedOn(system: SystemName, revision: string): boolean {
    return this.applied.get(system)?.revision === revision;
  }

  // ---- persistence ----------------------------------------------------------------------------------------------

  /** Queues an atomic write of the controller state. */
  private persistState(): void {
    this.writer.controllerState({
      version: 1,
      desiredRevision: this.tracker.desiredRevision,
      systems: Object.fromEntries([...this.applied].map(([s, a]) => [s, { appliedRevision: a.revision, appliedAt: a.at }])),
      stalled: this.stalls.persisted(),
    });
  }
}

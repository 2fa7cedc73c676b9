// The long-running controller: a source loop (poll, webhook, watcher) choosing the desired revision, and one independent worker per system running level-triggered passes.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { policyOf, type Config } from '../config.ts';
import { formatDiagnostic, type Diagnostic } from '../desired/diagnostic.ts';
import { LIMIT_SETTINGS } from '../desired/limits.ts';
import type { ResolvedState } from '../desired/model.ts';
import { loadResolvedState, type Resolved } from '../desired/resolve.ts';
import { InfrasecError } from '../errors.ts';
import type { Notification, Notifier } from '../notify/webhook.ts';
import { AuditDamagedError, type AuditLog, type AuditRecord } from '../report/audit.ts';
import { clearOpenDrift, EMPTY_DRIFT_REPORT, openDrift, renderDriftHtml, renderDriftJson, renderDriftMarkdown, updateDriftReport, type DriftReport } from '../report/drift.ts';
import { changeToJson } from '../report/plan.ts';
import type { ControllerMetrics } from '../server/metrics.ts';
import { fastForwardVerdict, type FastForwardVerdict } from '../sources/fast-forward.ts';
import type { Source, SourceSnapshot } from '../sources/source.ts';
import { backoffDelay, type BackoffPolicy } from '../engine/backoff.ts';
import { preparePass, type PassOptions, type PassResult } from '../engine/pass.ts';
import { CONTROLLER_STATE_FILE, DRIFT_REPORT_CHECK } from '../state/state-catalog.ts';
import { readDerivedFile, readStateFile, writeFileAtomic } from '../state/state-file.ts';
import { acquireStateLock, stateLockPath, type StateLock } from '../state/state-lock.ts';
import { userInfo } from 'node:os';
import type { PersistedState } from './applied-state.ts';
import { PassRecorder } from './pass-recorder.ts';
import { sha256Hex } from '../desired/secret.ts';
import { StatusBoard, type Stall } from './status.ts';
import type { AnyReconciler } from '../engine/systems.ts';
import type { SystemName } from '../engine/types.ts';

const CONTROLLER_ACTOR = { via: 'controller', user: userInfo().username } as const;

export interface ControllerDeps {
  readonly config: Config;
  readonly source: Source;
  readonly reconcilers: ReadonlyMap<SystemName, AnyReconciler>;
  readonly skipped: ReadonlyArray<{ system: SystemName; reason: string }>;
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

export type { PersistedState } from './applied-state.ts';

interface Desired {
  readonly snapshot: SourceSnapshot;
  readonly state: ResolvedState;
}

/** Sleep that ends early on wake() or abort; a wake() while nobody waits is remembered. */
class Wakeup {
  private pending = false;
  private resolve: (() => void) | undefined;

  wake(): void {
    this.pending = true;
    this.resolve?.();
  }

  /** Resolves true when woken or the delay elapsed, false when the signal aborted. `undefined` waits for a wake. */
  wait(ms: number | undefined, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.pending) {
      this.pending = false;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (v: boolean) => {
        if (timer) clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.resolve = undefined;
        this.pending = false;
        resolve(v);
      };
      const onAbort = () => done(false);
      signal.addEventListener('abort', onAbort, { once: true });
      this.resolve = () => done(true);
      if (ms !== undefined) timer = setTimeout(() => done(true), Math.max(0, ms));
    });
  }
}

export function controllerPaths(stateDir: string) {
  return {
    state: join(stateDir, 'controller-state.json'),
    lock: stateLockPath(stateDir),
    driftJson: join(stateDir, 'drift', 'report.json'),
    driftMarkdown: join(stateDir, 'drift', 'report.md'),
    driftHtml: join(stateDir, 'drift', 'report.html'),
    source: join(stateDir, 'source'),
    fingerprints: join(stateDir, 'fingerprints.json'),
  };
}

export class Controller {
  readonly status: StatusBoard;
  private readonly paths: ReturnType<typeof controllerPaths>;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly random: () => number;
  private readonly backoff: BackoffPolicy;
  private readonly stopper = new AbortController();
  private readonly sourceWake = new Wakeup();
  private readonly wakes = new Map<SystemName, Wakeup>();
  private readonly applied = new Map<SystemName, { revision: string; at: string }>();
  private readonly lastRefusal = new Map<SystemName, string>();
  private readonly stalls = new Map<SystemName, Stall>();
  private readonly configDigests = new Map<SystemName, string>();
  private readonly lastFailure = new Map<SystemName, string>();
  private readonly notifiedRefusal = new Set<string>();
  private readonly auditedRejections = new Set<string>();
  private readonly notifiedRejections = new Set<string>();
  private readonly notifications = new Set<Promise<unknown>>();
  private desired: Desired | undefined;
  private desiredRevision: string | null = null;
  private lastHandledHead: string | undefined;
  private fallbackTried: string | undefined;
  private drift: DriftReport = EMPTY_DRIFT_REPORT;
  private writes: Promise<void> = Promise.resolve();
  private loops: Promise<void>[] = [];
  private stopWatching: (() => Promise<void>) | undefined;
  private stateLock: StateLock | undefined;

  constructor(private readonly deps: ControllerDeps) {
    this.paths = controllerPaths(deps.config.stateDir);
    this.log = deps.logger;
    this.now = deps.now ?? (() => new Date());
    this.random = deps.random ?? Math.random;
    const retry = deps.config.controller.retry;
    this.backoff = { baseMs: retry.initialSeconds * 1000, maxMs: retry.maxSeconds * 1000, factor: 2, jitter: 0.5 };
    for (const system of deps.reconcilers.keys()) this.wakes.set(system, new Wakeup());
    this.status = new StatusBoard(deps.metrics, deps.source.describe(), [...deps.reconcilers.keys()], deps.skipped, this.now);
  }

  /** The latest drift report (also persisted under the state directory). */
  get driftReport(): DriftReport {
    return this.drift;
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
    await Promise.allSettled([...this.notifications]);
    await this.writes;
    for (const r of this.deps.reconcilers.values()) await r.close().catch((err) => this.log.warn({ event: 'controller.close.failed', system: r.system, err: (err as Error).message }, 'close failed'));
    await this.unlock();
    this.log.info({ event: 'controller.stop' }, 'stopped');
  }

  /** One fetch and one pass per system, then stop: `infrasec run --once`. */
  async runOnce(): Promise<PassResult[]> {
    await this.restore();
    try {
      await this.syncOnce();
      const desired = this.desired;
      if (!desired) return [];
      return await Promise.all([...this.deps.reconcilers.keys()].map((s) => this.runSystemPass(s, desired).then((r) => r.result)));
    } finally {
      await Promise.allSettled([...this.notifications]);
      await this.writes;
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
    this.desiredRevision = persisted?.desiredRevision ?? null;
    for (const [system, s] of Object.entries(persisted?.systems ?? {}) as Array<[SystemName, { appliedRevision: string; appliedAt: string }]>) {
      if (!this.deps.reconcilers.has(system)) continue;
      this.applied.set(system, { revision: s.appliedRevision, at: s.appliedAt });
      this.status.restoreApplied(system, s.appliedRevision, s.appliedAt);
    }
    for (const [system, stall] of Object.entries(persisted?.stalled ?? {}) as Array<[SystemName, Stall]>) {
      // A stall holds only for the configuration it happened under: new credentials are worth one more try.
      if (!this.deps.reconcilers.has(system) || stall.configDigest !== this.configDigest(system)) continue;
      this.stalls.set(system, stall);
      this.status.restoreStall(system, stall);
    }
    const rebuilt = (problem: string, movedTo: string) =>
      this.log.warn({ event: 'state.file.rebuilt', file: this.paths.driftJson, problem, movedTo }, 'the drift report was unusable; set aside and rebuilt from the next passes');
    this.drift = (await readDerivedFile<DriftReport>(this.paths.driftJson, DRIFT_REPORT_CHECK, rebuilt)) ?? EMPTY_DRIFT_REPORT;
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

  // ---- source ---------------------------------------------------------------------------------------------------

  private async sourceLoop(): Promise<void> {
    let delay: number | undefined = 0;
    while (await this.sourceWake.wait(delay, this.stopper.signal)) {
      delay = await this.syncOnce();
    }
  }

  /** Fetches once and adopts the head if it is new and valid. Returns the delay until the next fetch. */
  private async syncOnce(): Promise<number> {
    const poll = this.deps.config.controller.pollIntervalSeconds * 1000;
    const timeout = AbortSignal.timeout((this.deps.config.controller.git?.timeoutSeconds ?? 120) * 1000);
    let snapshot: SourceSnapshot;
    try {
      snapshot = await this.deps.source.sync(AbortSignal.any([this.stopper.signal, timeout]));
    } catch (err) {
      if (this.stopper.signal.aborted) return poll;
      const e = err instanceof InfrasecError ? err : undefined;
      this.status.sourceFailed((err as Error).message, e?.code ?? 'source-unavailable');
      const failures = this.status.snapshot().source.consecutiveFailures;
      this.log.warn({ event: 'source.fetch.failed', code: e?.code ?? 'internal', error: (err as Error).message, failures }, 'source unavailable; the last applied revision stays enforced');
      await this.fallbackIfNothingDesired();
      return Math.min(poll, backoffDelay(failures, this.backoff, this.random));
    }
    this.status.sourceFetched(snapshot);
    if (snapshot.revision !== this.lastHandledHead) {
      this.lastHandledHead = snapshot.revision;
      await this.consider(snapshot);
    }
    return poll;
  }

  private async consider(snapshot: SourceSnapshot): Promise<void> {
    const refusal = this.deps.source.refusal(snapshot);
    if (refusal) return this.reject(snapshot, refusal, [], 'signature-refused');
    if (snapshot.tooLarge) {
      const { bytes, limit } = snapshot.tooLarge;
      const d: Diagnostic = { file: '', line: 0, col: 0, path: '', code: 'state-too-large', severity: 'error',
        message: `the desired state is ${bytes} bytes of YAML, above ${limit}; not checked out. Raise ${LIMIT_SETTINGS.maxTotalBytes} if this is intended` };
      return this.reject(snapshot, '1 problem(s) in the desired state', [d], 'validation-failed');
    }
    let ff: FastForwardVerdict;
    try {
      ff = await this.fastForward(snapshot);
    } catch (err) {
      this.lastHandledHead = undefined; // a git failure, not the commit's fault: try again at the next poll
      return this.reject(snapshot, `cannot check that the head descends from the applied commit: ${(err as Error).message}`, [], 'lineage-failed');
    }
    if (ff.verdict === 'refuse') return this.reject(snapshot, ff.reason, [], 'non-fast-forward');
    let loaded: Resolved;
    try {
      loaded = await this.load(snapshot);
    } catch (err) {
      // Not the commit's fault (unreadable key, I/O): try this head again at the next poll.
      this.lastHandledHead = undefined;
      return this.reject(snapshot, `cannot load the desired state: ${(err as Error).message}`, [], 'load-failed');
    }
    if (!loaded.state) {
      const errors = loaded.diagnostics.filter((d) => d.severity === 'error').length;
      return this.reject(snapshot, `${errors} problem(s) in the desired state`, loaded.diagnostics, 'validation-failed');
    }
    if (ff.verdict === 'override') {
      // The admin's override is on the record before the head it lets through is applied.
      try {
        await this.appendAudit([{
          time: this.now().toISOString(), commit: snapshot.revision, author: snapshot.author ?? null, signature: snapshot.signature.state,
          system: 'source', object: null, action: 'accept-non-fast-forward', fields: [], result: 'ok', drift: false, reason: ff.reason,
        }]);
      } catch (err) {
        this.lastHandledHead = undefined;
        return this.reject(snapshot, `not applied: the audit trail refused the write (${(err as Error).message})`, [], 'audit-write-failed');
      }
      this.log.warn({ event: 'source.revision.non-fast-forward', revision: snapshot.revision, from: this.desiredRevision, reason: ff.reason }, 'accepting a head that is not a fast-forward, as configured');
    }
    this.adopt({ snapshot, state: loaded.state });
    this.log.info({ event: 'source.revision.accepted', revision: snapshot.revision, author: snapshot.author, signature: snapshot.signature.state }, 'new desired revision');
  }

  /** Fast-forward only: a history source's head must descend from the adopted commit unless the admin named the move. */
  private async fastForward(snapshot: SourceSnapshot): Promise<FastForwardVerdict> {
    const adopted = this.desiredRevision;
    const source = this.deps.source;
    // Nothing adopted yet, a directory source, or a revision from a directory source (content digest): nothing to descend from.
    if (!adopted || !source.lineage || !/^[0-9a-f]{40}$/.test(adopted)) return { verdict: 'accept' };
    const git = this.deps.config.controller.git;
    const ref = git?.ref.trim() ?? '';
    const lineage = await source.lineage(adopted, snapshot.revision, this.stopper.signal);
    return fastForwardVerdict(lineage, adopted, snapshot.revision, {
      allowNonFastForward: git?.allowNonFastForward ?? false,
      acceptNonFastForward: git?.acceptNonFastForward,
      pinnedCommit: /^[0-9a-f]{40}$/i.test(ref) ? ref.toLowerCase() : undefined,
    });
  }

  private adopt(desired: Desired): void {
    this.desired = desired;
    this.desiredRevision = desired.state.revision;
    this.status.sourceAccepted(desired.state.revision);
    this.persistState();
    for (const w of this.wakes.values()) w.wake();
  }

  private async reject(snapshot: SourceSnapshot, reason: string, diagnostics: readonly Diagnostic[], code: string): Promise<void> {
    this.status.sourceRejected(snapshot.revision, reason, diagnostics, code);
    this.log.warn({ event: 'source.revision.rejected', revision: snapshot.revision, code, reason, diagnostics: diagnostics.length }, 'head revision not applied; the previous one stays enforced');
    const key = `${snapshot.revision}\u0000${code}\u0000${reason}`;
    if (!this.notifiedRejections.has(key) && !this.stopper.signal.aborted) {
      this.notifiedRejections.add(key);
      this.notify({
        event: 'source.rejected', time: this.now().toISOString(), system: 'source', revision: snapshot.revision,
        summary: `head ${snapshot.revision.slice(0, 12)} not applied: ${reason}`, error: { code, message: reason },
        reasons: diagnostics.slice(0, 20).map(formatDiagnostic),
      });
    }
    if (!this.auditedRejections.has(key)) {
      try {
        await this.appendAudit([{
          time: this.now().toISOString(), commit: snapshot.revision, author: snapshot.author ?? null, signature: snapshot.signature.state,
          system: 'source', object: null, action: 'reject', fields: [], result: 'rejected', drift: false, reason,
        }]);
        this.auditedRejections.add(key);
      } catch (err) {
        this.log.error({ event: 'audit.write.failed', error: (err as Error).message }, 'audit write failed');
        this.status.sourceFailed(`audit trail write failed: ${(err as Error).message}`, 'audit-write-failed');
      }
    }
    await this.fallbackIfNothingDesired();
  }

  /** After a restart with an unusable head (invalid, untrusted, unreachable), enforce the last revision that was desired. */
  private async fallbackIfNothingDesired(): Promise<void> {
    const rev = this.desiredRevision;
    if (this.desired || !rev || this.fallbackTried === rev) return;
    this.fallbackTried = rev;
    const snapshot = await this.deps.source.checkout(rev, this.stopper.signal).catch((err) => {
      this.log.warn({ event: 'source.fallback.failed', revision: rev, error: (err as Error).message }, 'cannot check out the last applied revision');
      return undefined;
    });
    if (!snapshot) return;
    const loaded = await this.load(snapshot).catch(() => undefined);
    if (!loaded?.state) {
      this.log.error({ event: 'source.fallback.failed', revision: rev }, 'the last applied revision no longer loads');
      return;
    }
    this.desired = { snapshot, state: loaded.state };
    this.status.sourceFallback(rev);
    this.log.warn({ event: 'source.fallback', revision: rev }, 'enforcing the last applied revision');
    for (const w of this.wakes.values()) w.wake();
  }

  private load(snapshot: SourceSnapshot): Promise<Resolved> {
    return this.deps.load ? this.deps.load(snapshot.root, snapshot.revision) : loadResolvedState(snapshot.root, this.deps.config, snapshot.revision);
  }

  // ---- systems --------------------------------------------------------------------------------------------------

  private async worker(system: SystemName): Promise<void> {
    const wake = this.wakes.get(system)!;
    let delay: number | undefined;
    while (await wake.wait(delay, this.stopper.signal)) {
      const desired = this.desired;
      if (!desired || this.isStalled(system, desired.state.revision)) {
        // Nothing to do until a new desired revision wakes this worker (a stall ends there, or at a restart with another configuration).
        delay = undefined;
        continue;
      }
      const { nextDelayMs } = await this.runSystemPass(system, desired);
      if (this.stopper.signal.aborted) break;
      delay = nextDelayMs;
      this.status.scheduled(system, nextDelayMs === undefined ? null : new Date(this.now().getTime() + nextDelayMs));
    }
    this.status.stopped(system);
  }

  private isStalled(system: SystemName, revision: string): boolean {
    const stall = this.stalls.get(system);
    return stall !== undefined && stall.revision === revision && stall.configDigest === this.configDigest(system);
  }

  /** Digest of a system's configuration section (secrets included, as a hash only): a stall lasts until it changes. */
  private configDigest(system: SystemName): string {
    let digest = this.configDigests.get(system);
    if (!digest) {
      digest = sha256Hex(JSON.stringify(this.deps.config.systems[system] ?? null));
      this.configDigests.set(system, digest);
    }
    return digest;
  }


  /**
   * One pass for one system; the worker guarantees there is never more than one per system at a time. Past
   * passTimeoutSeconds the pass's signal aborts (every client call follows it); a pass that has still not settled
   * stuckGraceMs later marks its worker stuck (/status, /readyz, infrasec_worker_stuck) rather than look healthy.
   */
  /** nextDelayMs is undefined when the system stalled: the worker waits for a new revision. */
  private async runSystemPass(system: SystemName, desired: Desired): Promise<{ result: PassResult; nextDelayMs: number | undefined }> {
    const timeoutSeconds = this.deps.config.controller.passTimeoutSeconds;
    const deadline = new AbortController();
    const deadlineTimer = setTimeout(() => deadline.abort(new InfrasecError('pass-timeout', `pass timed out after ${timeoutSeconds} s (passTimeoutSeconds)`)), timeoutSeconds * 1000);
    const stuckAfterMs = timeoutSeconds * 1000 + (this.deps.stuckGraceMs ?? 10_000);
    const stuckTimer = setTimeout(() => {
      const message = `the pass has not settled ${Math.round(stuckAfterMs / 1000)} s after it started, past its ${timeoutSeconds} s timeout`;
      this.status.passStuck(system, message);
      this.log.error({ event: 'pass.stuck', system, passTimeoutSeconds: timeoutSeconds }, message);
    }, stuckAfterMs);
    try {
      return await this.passWithin(system, desired, AbortSignal.any([this.stopper.signal, deadline.signal]));
    } finally {
      clearTimeout(deadlineTimer);
      clearTimeout(stuckTimer);
    }
  }

  private async passWithin(system: SystemName, desired: Desired, signal: AbortSignal): Promise<{ result: PassResult; nextDelayMs: number | undefined }> {
    const reconciler = this.deps.reconcilers.get(system)!;
    const cfg = this.deps.config.controller;
    const revision = desired.state.revision;
    const drift = this.applied.get(system)?.revision === revision;
    const policy = policyOf(this.deps.config, system);
    const snap = desired.snapshot;
    const log = this.log.child({ system, commit: revision });
    const recorder = new PassRecorder(this.deps.audit, system, { commit: revision, author: snap.author ?? null, signature: snap.signature.state, drift, actor: CONTROLLER_ACTOR }, this.now);

    this.status.passStarted(system);
    const passOpts: PassOptions = { mode: 'apply', revision, signal, logger: log, isDriftPass: drift, now: this.now, hooks: recorder.hooks() };
    const prepared = await preparePass(reconciler, desired.state, policy, passOpts);
    const result = await recorder.apply(reconciler, prepared, passOpts);

    const refusalKey = result.status === 'refused' ? `${revision}\u0000${result.refused.join('\n')}` : undefined;
    const newRefusal = refusalKey !== undefined && this.lastRefusal.get(system) !== refusalKey;
    if (refusalKey) this.lastRefusal.set(system, refusalKey);
    else this.lastRefusal.delete(system);
    if (newRefusal) recorder.refused(result);
    // A pass the audit trail could not record in full is a failed pass: it neither converges nor stalls, and counts once.
    const recordingError = await recorder.finish();
    const converged = !drift && !recordingError && (result.status === 'applied' || result.status === 'in-sync' || result.status === 'changes');
    const stall: Stall | undefined = !recordingError && result.error?.class === 'stalled'
      ? { code: result.error.code, reason: result.error.message, revision, configDigest: this.configDigest(system), since: this.now().toISOString() }
      : undefined;
    const before = new Set(openDrift(this.drift, system).map((e) => `${e.kind}/${e.name}`));
    if (drift) this.drift = updateDriftReport(this.drift, result, policy, this.now());
    else if (converged) this.drift = clearOpenDrift(this.drift, system, this.now());
    if (drift || converged) this.persistDrift();
    const open = openDrift(this.drift, system);

    this.status.passFinished(system, result, { drift, driftOpen: open.length, converged, stall, recordingError });
    const wasStalled = this.stalls.delete(system);
    if (stall) {
      this.stalls.set(system, stall);
      log.warn({ event: 'pass.stalled', code: stall.code, reason: stall.reason }, 'not retried until the commit or the configuration changes');
    }
    if (converged) {
      const at = this.now().toISOString();
      this.applied.set(system, { revision, at });
    }
    if (converged || stall || wasStalled) this.persistState();
    if (recordingError) log.error({ event: 'audit.write.failed', error: recordingError.message }, 'audit trail write failed; the pass counts as failed');
    this.status.auditHead(this.deps.audit.current);

    // Drift is news when this pass saw it and it was not already open: corrected at once or not, someone changed the system by hand.
    const found = drift ? this.drift.entries.filter((e) => e.system === system && e.lastSeen === this.drift.generatedAt && !before.has(`${e.kind}/${e.name}`)) : [];
    if (!this.stopper.signal.aborted) this.notifyAbout(system, result, drift, found);

    const failures = this.status.snapshot().systems.find((s) => s.system === system)?.consecutiveFailures ?? 0;
    const nextDelayMs = stall ? undefined : result.status === 'failed' || recordingError ? backoffDelay(Math.max(1, failures), this.backoff, this.random) : cfg.driftIntervalSeconds * 1000;
    return { result, nextDelayMs };
  }

  private notifyAbout(system: SystemName, result: PassResult, drift: boolean, newDrift: ReturnType<typeof openDrift>): void {
    const base = { time: this.now().toISOString(), system, revision: result.revision };
    if (drift && newDrift.length > 0) {
      this.notify({
        ...base, event: 'drift.found', summary: `${newDrift.length} object(s) in ${system} drifted from ${result.revision.slice(0, 12)}`,
        objects: newDrift.map((e) => ({ object: `${e.kind}/${e.name}`, action: e.action, mode: e.mode, corrected: e.corrected, fields: e.fields })),
      });
    }
    if (result.status === 'failed') {
      const key = `${result.revision}\u0000${result.error?.message ?? ''}`;
      if (this.lastFailure.get(system) !== key) {
        this.lastFailure.set(system, key);
        const failed = result.applied.filter((a) => !a.ok);
        this.notify({
          ...base, event: 'apply.failed', summary: `${system}: ${result.error?.message ?? 'pass failed'}`,
          error: result.error ?? { code: 'failed', message: 'pass failed' },
          objects: failed.map((a) => ({ ...changeToJson(a.change), error: a.error ?? null })),
        });
      }
    } else {
      this.lastFailure.delete(system);
    }
    if (result.status === 'refused' && this.lastRefusal.get(system) && !this.notifiedRefusal.has(this.lastRefusal.get(system)!)) {
      this.notifiedRefusal.add(this.lastRefusal.get(system)!);
      this.notify({ ...base, event: 'guard.refused', summary: `${system}: a guard refused the plan`, reasons: result.refused });
    }
  }

  private notify(n: Notification): void {
    const notifier = this.deps.notifier;
    if (!notifier) return;
    const p = notifier.send(n, this.stopper.signal).finally(() => this.notifications.delete(p));
    this.notifications.add(p);
  }

  // ---- persistence ----------------------------------------------------------------------------------------------

  private appendAudit(records: readonly AuditRecord[]): Promise<unknown> {
    return this.deps.audit.append(records);
  }

  /** Queues an atomic write of the controller state; writes are serialized, and a failure is logged and surfaces in status. */
  private persistState(): void {
    const state: PersistedState = {
      version: 1,
      desiredRevision: this.desiredRevision,
      systems: Object.fromEntries([...this.applied].map(([s, a]) => [s, { appliedRevision: a.revision, appliedAt: a.at }])),
      stalled: Object.fromEntries(this.stalls),
    };
    this.queueWrite('state', () => writeFileAtomic(this.paths.state, `${JSON.stringify(state, null, 2)}\n`));
  }

  private persistDrift(): void {
    const report = this.drift;
    this.queueWrite('drift', async () => {
      await writeFileAtomic(this.paths.driftJson, renderDriftJson(report), 0o640);
      await writeFileAtomic(this.paths.driftMarkdown, renderDriftMarkdown(report), 0o640);
      await writeFileAtomic(this.paths.driftHtml, renderDriftHtml(report), 0o640);
    });
  }

  private queueWrite(what: string, write: () => Promise<void>): void {
    this.writes = this.writes.then(write).catch((err) => {
      this.log.error({ event: 'state.write.failed', file: what, error: (err as Error).message }, 'cannot write a state file');
      for (const system of this.deps.reconcilers.keys()) this.status.recordFailure(system, 'state-write-failed', `${what}: ${(err as Error).message}`);
    });
  }
}


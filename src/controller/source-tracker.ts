// Which revision the systems converge to: fetches the source, checks a new head (signature, size, fast-forward, validity) and adopts it or says why not.
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Diagnostic } from '../desired/diagnostic.ts';
import { LIMIT_SETTINGS } from '../desired/limits.ts';
import type { ResolvedState } from '../desired/model.ts';
import { loadResolvedState, type Resolved } from '../desired/resolve.ts';
import { backoffDelay, type BackoffPolicy } from '../engine/backoff.ts';
import { InfrasecError } from '../errors.ts';
import type { AuditLog, AuditRecord } from '../report/audit.ts';
import { fastForwardVerdict, type FastForwardVerdict } from '../sources/fast-forward.ts';
import type { Source, SourceSnapshot } from '../sources/source.ts';
import type { Notifications } from './notifications.ts';
import type { StatusBoard } from './status.ts';

/** A checked-out revision that loaded and validated: what every worker converges to. */
export interface Desired {
  readonly snapshot: SourceSnapshot;
  readonly state: ResolvedState;
}

export interface SourceTrackerDeps {
  readonly config: Config;
  readonly source: Source;
  readonly audit: AuditLog;
  readonly status: StatusBoard;
  readonly notifications: Notifications;
  readonly log: Logger;
  readonly now: () => Date;
  readonly random: () => number;
  readonly backoff: BackoffPolicy;
  /** The controller's stop signal. */
  readonly signal: AbortSignal;
  /** Loads and resolves a checked-out revision. */
  readonly load?: (root: string, revision: string) => Promise<Resolved>;
  /** A new desired revision was adopted (persist it, wake the workers). */
  readonly onAdopted: () => void;
  /** The last applied revision is enforced again after a restart with an unusable head (wake the workers). */
  readonly onFallback: () => void;
}

export class SourceTracker {
  private current: Desired | undefined;
  private revision: string | null = null;
  private lastHandledHead: string | undefined;
  private fallbackTried: string | undefined;
  private readonly auditedRejections = new Set<string>();

  constructor(private readonly deps: SourceTrackerDeps) {}

  /** The revision the systems converge to, once one loaded. */
  get desired(): Desired | undefined {
    return this.current;
  }

  /** The desired revision's id, persisted across restarts (it may not have loaded yet in this run). */
  get desiredRevision(): string | null {
    return this.revision;
  }

  restore(revision: string | null): void {
    this.revision = revision;
  }

  /** Fetches once and adopts the head if it is new and valid. Returns the delay until the next fetch. */
  async syncOnce(): Promise<number> {
    const { config, source, status, log, signal } = this.deps;
    const poll = config.controller.pollIntervalSeconds * 1000;
    const timeout = AbortSignal.timeout((config.controller.git?.timeoutSeconds ?? 120) * 1000);
    let snapshot: SourceSnapshot;
    try {
      snapshot = await source.sync(AbortSignal.any([signal, timeout]));
    } catch (err) {
      if (signal.aborted) return poll;
      const e = err instanceof InfrasecError ? err : undefined;
      status.sourceFailed((err as Error).message, e?.code ?? 'source-unavailable');
      const failures = status.snapshot().source.consecutiveFailures;
      log.warn({ event: 'source.fetch.failed', code: e?.code ?? 'internal', error: (err as Error).message, failures }, 'source unavailable; the last applied revision stays enforced');
      await this.fallbackIfNothingDesired();
      return Math.min(poll, backoffDelay(failures, this.deps.backoff, this.deps.random));
    }
    status.sourceFetched(snapshot);
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
        await this.appendAudit({
          time: this.deps.now().toISOString(), commit: snapshot.revision, author: snapshot.author ?? null, signature: snapshot.signature.state,
          system: 'source', object: null, action: 'accept-non-fast-forward', fields: [], result: 'ok', drift: false, reason: ff.reason,
        });
      } catch (err) {
        this.lastHandledHead = undefined;
        return this.reject(snapshot, `not applied: the audit trail refused the write (${(err as Error).message})`, [], 'audit-write-failed');
      }
      this.deps.log.warn({ event: 'source.revision.non-fast-forward', revision: snapshot.revision, from: this.revision, reason: ff.reason }, 'accepting a head that is not a fast-forward, as configured');
    }
    this.adopt({ snapshot, state: loaded.state });
    this.deps.log.info({ event: 'source.revision.accepted', revision: snapshot.revision, author: snapshot.author, signature: snapshot.signature.state }, 'new desired revision');
  }

  /** Fast-forward only: a history source's head must descend from the adopted commit unless the admin named the move. */
  private async fastForward(snapshot: SourceSnapshot): Promise<FastForwardVerdict> {
    const adopted = this.revision;
    const source = this.deps.source;
    // Nothing adopted yet, a directory source, or a revision from a directory source (content digest): nothing to descend from.
    if (!adopted || !source.lineage || !/^[0-9a-f]{40}$/.test(adopted)) return { verdict: 'accept' };
    const git = this.deps.config.controller.git;
    const ref = git?.ref.trim() ?? '';
    const lineage = await source.lineage(adopted, snapshot.revision, this.deps.signal);
    return fastForwardVerdict(lineage, adopted, snapshot.revision, {
      allowNonFastForward: git?.allowNonFastForward ?? false,
      acceptNonFastForward: git?.acceptNonFastForward,
      pinnedCommit: /^[0-9a-f]{40}$/i.test(ref) ? ref.toLowerCase() : undefined,
    });
  }

  private adopt(desired: Desired): void {
    this.current = desired;
    this.revision = desired.state.revision;
    this.deps.status.sourceAccepted(desired.state.revision);
    this.deps.onAdopted();
  }

  private async reject(snapshot: SourceSnapshot, reason: string, diagnostics: readonly Diagnostic[], code: string): Promise<void> {
    const { status, log } = this.deps;
    status.sourceRejected(snapshot.revision, reason, diagnostics, code);
    log.warn({ event: 'source.revision.rejected', revision: snapshot.revision, code, reason, diagnostics: diagnostics.length }, 'head revision not applied; the previous one stays enforced');
    const key = `${snapshot.revision}\u0000${code}\u0000${reason}`;
    this.deps.notifications.rejected(snapshot.revision, key, reason, code, diagnostics);
    if (!this.auditedRejections.has(key)) {
      try {
        await this.appendAudit({
          time: this.deps.now().toISOString(), commit: snapshot.revision, author: snapshot.author ?? null, signature: snapshot.signature.state,
          system: 'source', object: null, action: 'reject', fields: [], result: 'rejected', drift: false, reason,
        });
        this.auditedRejections.add(key);
      } catch (err) {
        log.error({ event: 'audit.write.failed', error: (err as Error).message }, 'audit write failed');
        status.sourceFailed(`audit trail write failed: ${(err as Error).message}`, 'audit-write-failed');
      }
    }
    await this.fallbackIfNothingDesired();
  }

  /** After a restart with an unusable head (invalid, untrusted, unreachable), enforce the last revision that was desired. */
  private async fallbackIfNothingDesired(): Promise<void> {
    const rev = this.revision;
    if (this.current || !rev || this.fallbackTried === rev) return;
    this.fallbackTried = rev;
    const { log } = this.deps;
    const snapshot = await this.deps.source.checkout(rev, this.deps.signal).catch((err) => {
      log.warn({ event: 'source.fallback.failed', revision: rev, error: (err as Error).message }, 'cannot check out the last applied revision');
      return undefined;
    });
    if (!snapshot) return;
    const loaded = await this.load(snapshot).catch(() => undefined);
    if (!loaded?.state) {
      log.error({ event: 'source.fallback.failed', revision: rev }, 'the last applied revision no longer loads');
      return;
    }
    this.current = { snapshot, state: loaded.state };
    this.deps.status.sourceFallback(rev);
    log.warn({ event: 'source.fallback', revision: rev }, 'enforcing the last applied revision');
    this.deps.onFallback();
  }

  private load(snapshot: SourceSnapshot): Promise<Resolved> {
    return this.deps.load ? this.deps.load(snapshot.root, snapshot.revision) : loadResolvedState(snapshot.root, this.deps.config, snapshot.revision);
  }

  private appendAudit(record: AuditRecord): Promise<unknown> {
    return this.deps.audit.append([record]);
  }
}

// What the controller tells the notifier, each piece of news once: new drift, a failed pass, a guard refusal, a rejected head.
import { formatDiagnostic, type Diagnostic } from '../desired/diagnostic.ts';
import type { PassResult } from '../engine/pass.ts';
import type { SystemName } from '../engine/types.ts';
import type { Notification, Notifier } from '../notify/notification.ts';
import { changeToJson } from '../report/plan.ts';
import type { DriftEntry } from './drift-book.ts';

export class Notifications {
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly lastFailure = new Map<SystemName, string>();
  private readonly notifiedRefusals = new Set<string>();
  private readonly notifiedRejections = new Set<string>();

  constructor(
    private readonly notifier: Notifier | undefined,
    private readonly signal: AbortSignal,
    private readonly now: () => Date,
  ) {}

  /** After a pass: drift newly found, a failure not already reported for this revision, a refusal not already reported. */
  afterPass(system: SystemName, result: PassResult, drift: boolean, newDrift: readonly DriftEntry[], refusalKey: string | undefined): void {
    if (this.signal.aborted) return;
    const base = { time: this.now().toISOString(), system, revision: result.revision };
    if (drift && newDrift.length > 0) {
      this.send({
        ...base, event: 'drift.found', summary: `${newDrift.length} object(s) in ${system} drifted from ${result.revision.slice(0, 12)}`,
        objects: newDrift.map((e) => ({ object: `${e.kind}/${e.name}`, action: e.action, mode: e.mode, corrected: e.corrected, fields: e.fields })),
      });
    }
    if (result.status === 'failed') {
      const key = `${result.revision}\u0000${result.error?.message ?? ''}`;
      if (this.lastFailure.get(system) !== key) {
        this.lastFailure.set(system, key);
        const failed = result.applied.filter((a) => !a.ok);
        this.send({
          ...base, event: 'apply.failed', summary: `${system}: ${result.error?.message ?? 'pass failed'}`,
          error: result.error ?? { code: 'failed', message: 'pass failed' },
          objects: failed.map((a) => ({ ...changeToJson(a.change), error: a.error ?? null })),
        });
      }
    } else {
      this.lastFailure.delete(system);
    }
    if (result.status === 'refused' && refusalKey !== undefined && !this.notifiedRefusals.has(refusalKey)) {
      this.notifiedRefusals.add(refusalKey);
      this.send({ ...base, event: 'guard.refused', summary: `${system}: a guard refused the plan`, reasons: result.refused });
    }
  }

  /** A head not applied (invalid, untrusted, not a fast-forward); `key` identifies the news. */
  rejected(revision: string, key: string, reason: string, code: string, diagnostics: readonly Diagnostic[]): void {
    if (this.notifiedRejections.has(key) || this.signal.aborted) return;
    this.notifiedRejections.add(key);
    this.send({
      event: 'source.rejected', time: this.now().toISOString(), system: 'source', revision,
      summary: `head ${revision.slice(0, 12)} not applied: ${reason}`, error: { code, message: reason },
      reasons: diagnostics.slice(0, 20).map(formatDiagnostic),
    });
  }

  /** Waits for notifications in flight (each ends on its own timeout or the stop signal). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private send(n: Notification): void {
    if (!this.notifier) return;
    const p = this.notifier.send(n, this.signal).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }
}

// Records one apply pass in the audit trail, for the controller and `infrasec apply` alike: write-ahead, each outcome, a refusal.
import { completePass, type PassOptions, type PassResult, type PreparedPass } from '../engine/pass.ts';
import type { Applied, ApplyHooks, Reconciler, SystemName } from '../engine/types.ts';
import { changeRecord, type Actor, type AuditLog } from '../report/audit.ts';

/** What every audit entry of the pass says about where it comes from. */
export interface RecordContext {
  readonly commit: string;
  readonly author: string | null;
  readonly signature: string;
  readonly drift: boolean;
  /** The commit's work tree had uncommitted changes (`infrasec apply` in a Git work tree). */
  readonly dirty?: boolean;
  readonly actor: Actor;
}

export class PassRecorder {
  readonly #writes: Array<Promise<unknown>> = [];
  #intentError: string | undefined;

  constructor(
    private readonly audit: AuditLog,
    private readonly system: SystemName,
    private readonly ctx: RecordContext,
    private readonly now: () => Date,
  ) {}

  /** Hooks that record each change as soon as it is done (so a crash later in the pass loses none), then call `also`. */
  hooks(also?: ApplyHooks): ApplyHooks {
    return {
      onApplied: (a: Applied, done: number, total: number) => {
        this.#writes.push(this.audit.append([changeRecord(a.change, { ...this.ctx, time: this.now().toISOString() }, a.ok ? 'ok' : a.notAttempted ? 'not-attempted' : 'failed', a.error)]));
        also?.onApplied?.(a, done, total);
      },
    };
  }

  /**
   * Applies a prepared pass. Write-ahead: the changes about to be sent are on disk before the first write, so a
   * crash between a write reaching the system and its outcome being recorded still leaves the attempt in the trail;
   * when that write fails nothing is sent and the pass fails.
   */
  async apply<D, L>(reconciler: Reconciler<D, L>, prepared: PreparedPass, opts: PassOptions): Promise<PassResult> {
    if (!prepared.plan) return prepared.result;
    const time = this.now().toISOString();
    try {
      await this.audit.append(prepared.plan.changes.map((c) => changeRecord(c, { ...this.ctx, time }, 'pending')));
    } catch (err) {
      this.#intentError = (err as Error).message;
      return { ...prepared.result, status: 'failed', error: { code: 'audit-write-failed', message: `not applied: the audit trail refused the write (${this.#intentError})`, class: 'transient' } };
    }
    return completePass(reconciler, prepared, opts);
  }

  /** Records a guard refusal (the caller decides whether this one is news). */
  refused(result: PassResult): void {
    this.#writes.push(this.audit.append([{
      time: this.now().toISOString(), ...this.ctx, system: this.system, object: null, action: 'refuse', fields: [], result: 'refused', reason: result.refused.join('; '),
    }]));
  }

  /** Waits for every record; the error says the pass could not be recorded in full (it then counts as failed). */
  async finish(): Promise<{ code: 'audit-write-failed'; message: string } | undefined> {
    let message = this.#intentError;
    for (const s of await Promise.allSettled(this.#writes)) if (s.status === 'rejected') message = (s.reason as Error).message;
    return message === undefined ? undefined : { code: 'audit-write-failed', message };
  }
}

// The one rule for a lost connection during apply, shared by every system: the first one stops the system's remaining changes, recorded as not attempted.
import { TargetUnavailableError } from '../errors.ts';
import type { Applied, Change } from './types.ts';

export class ApplyHalt {
  #reason: string | undefined;

  /** Why the remaining changes are not sent, once the system became unavailable (or the pass was stopped). */
  get reason(): string | undefined {
    return this.#reason;
  }

  /**
   * Looks at a failed change's error: a lost connection (TargetUnavailableError) or a stopped pass halts the rest.
   * `describe` gives the message to record (already free of secrets). Returns whether the pass is now halted.
   */
  failed(err: unknown, signal: AbortSignal, describe: () => string): boolean {
    if (this.#reason === undefined && (err instanceof TargetUnavailableError || signal.aborted)) this.#reason = describe();
    return this.#reason !== undefined;
  }

  /** Halts before a change is sent when the pass was stopped. Returns whether the pass is halted. */
  checkSignal(signal: AbortSignal): boolean {
    if (this.#reason === undefined && signal.aborted) this.#reason = 'the pass was stopped';
    return this.#reason !== undefined;
  }

  /** The outcome of a change the halt kept from being sent. */
  notAttempted<P>(change: Change<P>): Applied<P> {
    return notAttempted(change, this.#reason ?? 'the pass was halted');
  }
}

export function notAttempted<P>(change: Change<P>, why: string): Applied<P> {
  return { change, ok: false, writes: 0, notAttempted: true, error: `not attempted: ${why}` };
}

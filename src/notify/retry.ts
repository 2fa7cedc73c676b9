// Delivery with a capped, jittered retry, shared by every notification target: one attempt function, a ceiling, the stop signal.
import { backoffDelay, sleep, type BackoffPolicy } from '../engine/backoff.ts';

/** One attempt's outcome; `reason` is logged, so it names a status or an error code, never a body or a credential. */
export type AttemptResult = { readonly ok: true } | { readonly ok: false; readonly retryable: boolean; readonly reason: string };

export interface RetryOptions {
  readonly attempts: number;
  readonly backoff: BackoffPolicy;
  readonly signal?: AbortSignal;
}

export const DEFAULT_NOTIFY_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 10_000, factor: 2, jitter: 0.5 };

/** Runs `attempt` until it succeeds, fails for good, the ceiling is reached or the signal aborts; the attempt count says how far it got. */
export async function deliver(attempt: (n: number) => Promise<AttemptResult>, opts: RetryOptions): Promise<{ ok: boolean; attempts: number; reason: string }> {
  const ceiling = Math.max(1, Math.min(opts.attempts, 10));
  let reason = 'aborted';
  for (let n = 1; n <= ceiling; n++) {
    if (opts.signal?.aborted) return { ok: false, attempts: n - 1, reason: 'aborted' };
    const r = await attempt(n);
    if (r.ok) return { ok: true, attempts: n, reason: '' };
    reason = r.reason;
    if (!r.retryable || n === ceiling) return { ok: false, attempts: n, reason };
    try {
      await sleep(backoffDelay(n, opts.backoff), opts.signal);
    } catch {
      return { ok: false, attempts: n, reason }; // aborted while waiting: shutting down
    }
  }
  return { ok: false, attempts: ceiling, reason };
}

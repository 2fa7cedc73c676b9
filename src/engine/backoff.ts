// Pure: capped exponential backoff with full jitter, and an abortable sleep. Every retry loop in the controller takes its delays from here.
export interface BackoffPolicy {
  /** Delay before the first retry, before jitter. */
  readonly baseMs: number;
  /** Ceiling of any single delay. */
  readonly maxMs: number;
  /** Growth per attempt (2 doubles). */
  readonly factor: number;
  /** Share of the delay that is randomised: 0 = none, 1 = full jitter (uniform in [0, delay]). */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 5 * 60_000, factor: 2, jitter: 0.5 };

/**
 * Delay before retry number `attempt` (1-based). Always within [ (1 - jitter) * d, d ] where
 * d = min(maxMs, baseMs * factor^(attempt-1)), so it never exceeds maxMs and never goes negative.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(attempt));
  // Exponent capped so factor^n cannot overflow to Infinity on a long outage.
  const raw = policy.baseMs * policy.factor ** Math.min(n - 1, 64);
  const ceiling = Math.min(policy.maxMs, Number.isFinite(raw) ? raw : policy.maxMs);
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(ceiling * (1 - jitter * r));
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// Pure: what follows a failure. Transient ones are retried with the capped backoff; stalled ones wait for a new commit or configuration.
import { AuthenticationError, ConfigError, ConflictError, GuardRefusedError, ValidationError } from '../errors.ts';

/**
 * transient: unreachable, timeout, busy, a failed write: the same attempt may work later.
 * stalled: authentication refused, guard refusal, conflict, invalid configuration or desired state: retrying the same
 * commit with the same configuration would fail the same way, and a refused bind retried every backoff step locks
 * the service account out.
 */
export type FailureClass = 'transient' | 'stalled';

export function classify(err: unknown): FailureClass {
  if (err instanceof AuthenticationError || err instanceof GuardRefusedError || err instanceof ConflictError) return 'stalled';
  if (err instanceof ValidationError || err instanceof ConfigError) return 'stalled';
  return 'transient';
}

// Shared assertion for every system's lost-connection test: the first lost connection stops the rest, which are recorded as not attempted.
import { expect } from 'vitest';
import type { Applied } from '../../src/engine/types.ts';

/**
 * `applied` is one pass's outcomes for `planned` changes. At most `inFlight` changes may have failed for the loss
 * itself (sent side by side when it happened); every other unsuccessful change was never sent.
 */
export function expectHaltedAfterLoss(applied: readonly Applied[], planned: number, inFlight = 1): void {
  expect(applied).toHaveLength(planned);
  const notAttempted = applied.filter((a) => a.notAttempted);
  const lost = applied.filter((a) => !a.ok && !a.notAttempted);
  expect(notAttempted.length, 'changes after the loss are not attempted').toBeGreaterThan(0);
  expect(lost.length, 'changes that failed with the loss itself').toBeGreaterThanOrEqual(1);
  expect(lost.length).toBeLessThanOrEqual(inFlight);
  for (const a of notAttempted) {
    expect(a.ok).toBe(false);
    expect(a.writes).toBe(0);
    expect(a.error).toMatch(/^not attempted: /);
  }
}

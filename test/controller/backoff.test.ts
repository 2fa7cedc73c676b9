// Unit: capped exponential backoff with jitter, and the abortable sleep every retry loop uses.
import { describe, expect, it } from 'vitest';
import { backoffDelay, sleep, type BackoffPolicy } from '../../src/engine/backoff.ts';

const policy: BackoffPolicy = { baseMs: 1000, maxMs: 60_000, factor: 2, jitter: 0.5 };

describe('backoffDelay', () => {
  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [6, 32_000],
    [7, 60_000],
    [50, 60_000],
    [10_000, 60_000],
  ])('attempt %i without jitter waits the capped exponential %i ms', (attempt, expected) => {
    expect(backoffDelay(attempt, policy, () => 0)).toBe(expected);
  });

  it('never goes below (1 - jitter) of the ceiling nor above the ceiling, for any random draw', () => {
    for (let attempt = 1; attempt <= 80; attempt++) {
      const ceiling = Math.min(60_000, 1000 * 2 ** (attempt - 1));
      for (const r of [0, 0.25, 0.5, 0.999, 1]) {
        const d = backoffDelay(attempt, policy, () => r);
        expect(d).toBeGreaterThanOrEqual(Math.floor(ceiling * 0.5));
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('spreads retries when jitter is on (two draws give two delays)', () => {
    expect(backoffDelay(5, policy, () => 0.1)).not.toBe(backoffDelay(5, policy, () => 0.9));
  });

  it('clamps nonsense input: attempt 0 counts as 1, out-of-range random and jitter are clamped', () => {
    expect(backoffDelay(0, policy, () => 0)).toBe(1000);
    expect(backoffDelay(1, { ...policy, jitter: 7 }, () => 5)).toBe(0);
    expect(backoffDelay(3, policy, () => -3)).toBe(4000);
  });

  it('stays finite for huge factors', () => {
    expect(backoffDelay(2000, { baseMs: 1, maxMs: 10, factor: 1e9, jitter: 0 })).toBe(10);
  });
});

describe('sleep', () => {
  it('rejects at once with the reason when the signal aborts', async () => {
    const ac = new AbortController();
    const p = sleep(60_000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });

  it('rejects immediately for an already aborted signal and resolves otherwise', async () => {
    await expect(sleep(10, AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
    await expect(sleep(1)).resolves.toBeUndefined();
  });
});

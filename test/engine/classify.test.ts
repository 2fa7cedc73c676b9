// Unit: which failures are retried with backoff and which stall until the commit or the configuration changes.
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/engine/classify.ts';
import { ApplyError, AuthenticationError, ConfigError, ConflictError, GuardRefusedError, TargetUnavailableError, ValidationError } from '../../src/errors.ts';

describe('classify', () => {
  it.each([
    ['an unreachable target', new TargetUnavailableError('connect ECONNREFUSED'), 'transient'],
    ['a timeout', new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'transient'],
    ['a failed write', new ApplyError('busy'), 'transient'],
    ['an unknown error', new Error('socket hang up'), 'transient'],
    ['a refused bind', new AuthenticationError('invalid credentials'), 'stalled'],
    ['a guard refusal', new GuardRefusedError('too many deletions', ['too many deletions']), 'stalled'],
    ['a conflict', new ConflictError('unowned'), 'stalled'],
    ['an invalid desired state', new ValidationError([]), 'stalled'],
    ['an invalid configuration', new ConfigError('bad url'), 'stalled'],
  ] as const)('%s is %s', (_, err, expected) => {
    expect(classify(err)).toBe(expected);
  });
});

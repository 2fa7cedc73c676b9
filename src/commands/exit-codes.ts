// Pure: the exit codes of plan, apply, drift and run --once, one table for all, and how pass results map to one.
import type { PassMode, PassResult } from '../engine/pass.ts';

/**
 * Worst first when several apply: a failed system (1) outranks a guard's refusal (3), which outranks conflicts (4),
 * which outrank pending changes (2). Codes 0-3 keep the meaning they had before conflicts got their own.
 */
export const EXIT = {
  /** plan: nothing to do; apply: done; drift: none; run --once: the head was applied. */
  ok: 0,
  /** A system failed (unreachable, refused credentials, a setting to fix, a failed write, a conflict that keeps a desired object out of service), or the desired state, the configuration or the command line is invalid. */
  error: 1,
  /** plan: changes pending; drift: live objects differ. */
  changes: 2,
  /** A guard refused the plan (deletion threshold, protected objects, crisis mode); run --once: also a signature or fast-forward check. */
  refused: 3,
  /** Nothing failed, but live objects infrasec does not own are in the way of desired ones: someone has to resolve them. */
  conflicts: 4,
} as const;

/** The table in one line, for option descriptions. */
export const EXIT_HELP = 'exit 0 in sync/done, 1 error or a system failed, 2 changes pending, 3 refused by a guard, 4 conflicts to resolve';

/** The table as `--help` of plan, apply and drift prints it after the options. */
export const EXIT_TABLE = [
  '',
  'Exit codes (the first that applies, in this order):',
  '  1  error: a system failed (unreachable, refused credentials, a setting to fix, a failed write, a conflict that',
  '     keeps a desired object out of service), or the configuration, the desired state or the command line is invalid',
  '  3  a guard refused the plan (deletion threshold, protected object, crisis mode)',
  '  4  conflicts: live objects infrasec does not own are in the way of desired ones; each `?` line says what to do',
  '  2  plan: changes pending; drift: live objects differ (apply: never, it applied them)',
  '  0  nothing to do, or done',
].join('\n');

/** Conflicts someone has to resolve; advisory ones (a setting the system cannot express) are notes and change no exit code. */
export function openConflicts(result: Pick<PassResult, 'conflicts'>): number {
  return result.conflicts.filter((c) => !c.advisory).length;
}

export function reconcileExitCode(mode: PassMode, results: ReadonlyArray<Pick<PassResult, 'status' | 'conflicts'>>): number {
  if (results.some((r) => r.status === 'failed')) return EXIT.error;
  if (results.some((r) => r.status === 'refused')) return EXIT.refused;
  if (results.some((r) => openConflicts(r) > 0)) return EXIT.conflicts;
  // After apply, changes still listed are held back (pruning off, drift policy report): apply did what it may.
  if (mode !== 'apply' && results.some((r) => r.status === 'changes')) return EXIT.changes;
  return EXIT.ok;
}

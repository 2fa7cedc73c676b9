// The result of a pass that did not run because a system it depends on did not converge on the revision: a failure that says what to fix.
import type { PassResult } from '../engine/pass.ts';
import type { SystemName } from '../engine/types.ts';

export function dependencyNotConverged(system: SystemName, revision: string, on: readonly SystemName[], now: Date): PassResult {
  const names = on.join(', ');
  return {
    system, mode: 'apply', revision, status: 'failed', changes: [], held: [], conflicts: [], refused: [], applied: [], verify: [],
    error: {
      code: 'dependency-not-converged',
      message: `not run: it depends on ${names}, which did not converge on ${revision.slice(0, 12)}; fix ${names} (see its result) and apply again`,
      class: 'transient',
    },
    startedAt: now.toISOString(), durationMs: 0, writes: 0,
  };
}

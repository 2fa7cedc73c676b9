// The controller's persisted state (controller-state.json): which revision each system converged to, and which are stalled.
import { join } from 'node:path';
import { readStateFile, writeFileAtomic } from '../state/state-file.ts';
import { CONTROLLER_STATE_FILE } from '../state/state-catalog.ts';
import type { Stall } from './status.ts';
import type { SystemName } from '../engine/types.ts';

export interface PersistedState {
  readonly version: 1;
  readonly desiredRevision: string | null;
  readonly systems: Partial<Record<SystemName, { readonly appliedRevision: string; readonly appliedAt: string }>>;
  /** Systems stalled on a revision and configuration: a restart with both unchanged does not retry them. */
  readonly stalled?: Partial<Record<SystemName, Stall>>;
}

export function controllerStatePath(stateDir: string): string {
  return join(stateDir, 'controller-state.json');
}

/**
 * `infrasec apply` converged a system: record it where the controller reads it at start (the caller holds the
 * state lock, so no controller runs). A stall of that system ends: the pass just went through.
 */
export async function recordConverged(stateDir: string, system: SystemName, revision: string, at: string): Promise<void> {
  const path = controllerStatePath(stateDir);
  const before = (await readStateFile<PersistedState>(path, CONTROLLER_STATE_FILE)) ?? { version: 1, desiredRevision: null, systems: {} };
  const { [system]: _ended, ...stalled } = before.stalled ?? {};
  const after: PersistedState = { ...before, systems: { ...before.systems, [system]: { appliedRevision: revision, appliedAt: at } }, stalled };
  await writeFileAtomic(path, `${JSON.stringify(after, null, 2)}\n`);
}

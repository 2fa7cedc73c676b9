// Where the controller keeps its files under the state directory.
import { join } from 'node:path';
import { stateLockPath } from '../state/state-lock.ts';
import { controllerStatePath } from './applied-state.ts';

export function controllerPaths(stateDir: string) {
  return {
    state: controllerStatePath(stateDir),
    lock: stateLockPath(stateDir),
    driftJson: join(stateDir, 'drift', 'report.json'),
    driftMarkdown: join(stateDir, 'drift', 'report.md'),
    driftHtml: join(stateDir, 'drift', 'report.html'),
    source: join(stateDir, 'source'),
    fingerprints: join(stateDir, 'fingerprints.json'),
  };
}

export type ControllerPaths = ReturnType<typeof controllerPaths>;

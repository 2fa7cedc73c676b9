// Loads a desired-state directory and decrypts its secrets: the one entry point the CLI and the controller use.
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { compareDiagnostics, type Diagnostic } from './diagnostic.ts';
import type { TotalLimits } from './limits.ts';
import { loadDesiredState } from './load.ts';
import type { ResolvedState } from './model.ts';
import { loadGeneratorKey, resolveSecrets } from './secrets.ts';

export interface Resolved {
  readonly state?: ResolvedState;
  readonly diagnostics: readonly Diagnostic[];
  readonly files: readonly string[];
}

export function generatorKeyPath(config: Pick<Config, 'stateDir'>): string {
  return join(config.stateDir, 'generator.key');
}

export async function loadResolvedState(path: string, config: Pick<Config, 'stateDir' | 'secrets'> & { desiredState?: Partial<TotalLimits> }, revision: string): Promise<Resolved> {
  const loaded = await loadDesiredState(path, { limits: config.desiredState });
  if (!loaded.state) return { diagnostics: loaded.diagnostics, files: loaded.files };
  const generatorKey = await loadGeneratorKey(generatorKeyPath(config));
  const { store, diagnostics } = await resolveSecrets(loaded.state, { ageIdentityFiles: config.secrets.ageIdentityFiles, generatorKey });
  const all = [...loaded.diagnostics, ...diagnostics].sort(compareDiagnostics);
  if (diagnostics.length > 0) return { diagnostics: all, files: loaded.files };
  return { state: { resources: loaded.state, secrets: store, revision }, diagnostics: all, files: loaded.files };
}

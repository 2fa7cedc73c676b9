// Loads a desired-state directory and decrypts its secrets: the one entry point the CLI and the controller use.
import type { Config } from '../config.ts';
import { compareDiagnostics, type Diagnostic } from './diagnostic.ts';
import type { TotalLimits } from './limits.ts';
import { loadDesiredState } from './load.ts';
import type { ResolvedState } from './model.ts';
import { resolveSecrets } from './secrets.ts';
import { readGeneratorKey } from '../state/generator-key.ts';

export interface Resolved {
  readonly state?: ResolvedState;
  readonly diagnostics: readonly Diagnostic[];
  readonly files: readonly string[];
}

export async function loadResolvedState(path: string, config: Pick<Config, 'stateDir' | 'secrets'> & { desiredState?: Partial<TotalLimits> }, revision: string): Promise<Resolved> {
  const loaded = await loadDesiredState(path, { limits: config.desiredState });
  if (!loaded.state) return { diagnostics: loaded.diagnostics, files: loaded.files };
  // Generated secrets need the state directory's key; it is read, never created (`infrasec init` makes it).
  const { store, diagnostics } = await resolveSecrets(loaded.state, { ageIdentityFiles: config.secrets.ageIdentityFiles, generatorKey: () => readGeneratorKey(config.stateDir) });
  const all = [...loaded.diagnostics, ...diagnostics].sort(compareDiagnostics);
  if (diagnostics.length > 0) return { diagnostics: all, files: loaded.files };
  return { state: { resources: loaded.state, secrets: store, revision }, diagnostics: all, files: loaded.files };
}

// The shape every system plugs in with: one SystemModule per src/reconcilers/<system>/index.ts, listed in the registry.
import type { Logger } from 'pino';
import type { z } from 'zod';
import { Secret, sha256Hex } from '../desired/secret.ts';
import type { ResolvedState } from '../desired/model.ts';
import type { FingerprintStore } from '../state/fingerprints.ts';
import type { Reconciler, SystemName } from './types.ts';

export type AnyReconciler = Reconciler<ResolvedState, unknown>;

/** What the engine hands a module's build(): shared controller state, never another system's. */
export interface SystemDeps {
  readonly fingerprints: FingerprintStore;
  /** Already bound to `system`. */
  readonly logger: Logger;
  readonly now?: () => Date;
  /**
   * The controller-wide instance name (infrasec.yaml `instance`): the module's ownership marker uses it unless the
   * system's own `instance` setting is set. Absent: DEFAULT_INSTANCE.
   */
  readonly instance?: string;
}

/** A secret setting and the setting naming a file to read it from (the file wins only when the value is unset). */
export interface SecretSetting {
  /** Field holding the value, e.g. `bindPassword`. */
  readonly value: string;
  /** Field holding a file path, e.g. `bindPasswordFile`; the file is read (trimmed) at configuration load. */
  readonly file: string;
  /** Refuse the configuration when neither is set. Default true. */
  readonly required?: boolean;
}

/**
 * One system, in one place. How a new system plugs in (every folder under src/reconcilers/ follows exactly this):
 *
 * 1. `src/reconcilers/<name>/settings.ts`: a zod object (`.strict()`) of every setting the reconciler has, each with
 *    its default there and nowhere else (a `*_DEFAULTS` constant the schema reads is fine). Secrets are plain
 *    strings here (`apiKey`, plus `apiKeyFile` for a file path); wrap them with `credentialFromConfig()` in build.
 *    Do not declare `policy`: config.ts adds the common `policy` block to every system's section. A system that marks
 *    what it owns declares `instance: instanceNameSchema.optional()` (engine/instance.ts) and uses
 *    `s.instance ?? deps.instance` in build, so the controller-wide `instance` reaches it.
 * 2. `src/reconcilers/<name>/index.ts` exports the module, importing only settings.ts statically, e.g.
 *    ```ts
 *    export const relay: SystemModule<typeof relaySettingsSchema> = {
 *      name: 'relay',                                    // the key under `systems:` in infrasec.yaml
 *      settings: relaySettingsSchema,
 *      env: { url: 'INFRASEC_RELAY_URL', apiKey: 'INFRASEC_RELAY_API_KEY', 'tls.caFile': 'INFRASEC_RELAY_CA_FILE' },
 *      secrets: [{ value: 'apiKey', file: 'apiKeyFile' }],
 *      dependsOn: ['directory'],                         // another module's name
 *      build: async (settings, deps) => new (await import('./reconciler.ts')).RelayReconciler(settings, deps),
 *    };
 *    ```
 *    `env` maps a setting's dotted path to its variable; the value is converted by the zod type at that path
 *    (booleans, numbers and enums refuse spellings they do not understand). Map every setting.
 *    `build` imports the reconciler lazily so `infrasec validate` never loads a system's client library.
 * 3. Add the module to `SYSTEM_MODULES` in `src/reconcilers/registry.ts`. Nothing else names the system: config
 *    loading, env variables, secret files, `--system` choices, workers, status and metrics follow from the registry.
 * 4. Tests under `test/reconcilers/<name>/`, including one that builds the reconciler from `configSchema` through
 *    `buildSystems` (the existing systems' reconciler tests show how).
 */
export interface SystemModule<Schema extends z.ZodObject = z.ZodObject> {
  readonly name: SystemName;
  /** zod schema of `systems.<name>` in infrasec.yaml, defaults included; its output is what build() receives. */
  readonly settings: Schema;
  /** Setting path (dotted for nested objects) → environment variable. The environment wins over the file. */
  readonly env: Readonly<Record<string, string>>;
  /** Secrets that may come from a file instead of the value. */
  readonly secrets?: readonly SecretSetting[];
  /** Systems whose pass must converge on a commit before this one runs on it. */
  readonly dependsOn?: readonly SystemName[];
  /** Makes the reconciler from validated settings (secret files already read into their values). */
  build(settings: z.output<Schema>, deps: SystemDeps): Promise<AnyReconciler>;
}

/** How an admin sets one of a module's settings, for a message asking them to fix it: `systems.NAME.PATH (VARIABLE)`. */
export function describeSetting(module: Pick<SystemModule, 'name' | 'env'>, path: string): string {
  const variable = module.env[path];
  return `systems.${module.name}.${path}${variable ? ` (${variable})` : ''}`;
}

/** A connection credential from configuration (`id` names it, e.g. `ad-bind`), wrapped so it never prints. */
export function credentialFromConfig(value: string, id: string): Secret {
  return new Secret(value, 'env', sha256Hex(`credential:${id}`));
}

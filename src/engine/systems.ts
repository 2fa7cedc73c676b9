// Builds one reconciler per configured system from the registry's modules; knows no system by name.
import type { Config } from '../config.ts';
import { SYSTEM_MODULES } from '../reconcilers/registry.ts';
import type { AnyReconciler, SystemDeps } from './module.ts';
import type { SystemName } from './types.ts';

export type { AnyReconciler, SystemDeps } from './module.ts';

export interface SystemSet {
  readonly reconcilers: ReadonlyMap<SystemName, AnyReconciler>;
  readonly skipped: ReadonlyArray<{ system: SystemName; reason: string }>;
}

/** Reconcilers for the configured systems (restricted to `only` when given); the others are reported as skipped. */
export async function buildSystems(config: Config, deps: SystemDeps, only?: readonly SystemName[]): Promise<SystemSet> {
  const reconcilers = new Map<SystemName, AnyReconciler>();
  const skipped: Array<{ system: SystemName; reason: string }> = [];
  for (const module of SYSTEM_MODULES) {
    if (only && !only.includes(module.name)) continue;
    const section = config.systems[module.name];
    if (section === undefined) {
      skipped.push({ system: module.name, reason: 'not configured' });
      continue;
    }
    // The section was validated when the configuration loaded; parsing again gives the module its own type back.
    const settings = module.settings.parse(withoutShared(section));
    reconcilers.set(module.name, await module.build(settings, { ...deps, instance: config.instance, logger: deps.logger.child({ system: module.name }) }));
  }
  return { reconcilers, skipped };
}

function withoutShared(section: object): Record<string, unknown> {
  const { policy: _, dependsOn: __, ...settings } = section as Record<string, unknown>;
  return settings;
}

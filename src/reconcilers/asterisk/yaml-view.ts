// Pure: an Extension's or Conference's change in the YAML's terms (`spec.nat: false → true`), from its pjsip/dialplan-level fields.
import { isDeepStrictEqual } from 'node:util';
import type { Conference, Extension } from '../../desired/model.ts';
import { yamlFields } from '../../engine/yaml-fields.ts';
import type { ChangeAction, FieldChange, WireFieldChange } from '../../engine/types.ts';
import { type LiveYaml, yamlAsWritten } from './live-yaml.ts';
import type { RunningDiff } from './running-compare.ts';

/**
 * The YAML fields behind `wire`, with the live value read back where it can be (`read`). In an update, a field whose
 * reading equals the YAML although its options differ (one of three nat options removed by hand) shows "(differs)".
 * A created or removed object lists the YAML fields only: the structure every object has (section types, the context
 * from the settings) stays in the wire detail; a leaver's removed extension lists none (its change's reason says why).
 */
export function yamlView(resource: Extension | Conference | undefined, action: ChangeAction, wire: readonly WireFieldChange[], read: LiveYaml): FieldChange[] {
  // A leaver's extension goes away whole because of its owner, not of any field of its own: the reason says so.
  if (action === 'disable') return [];
  const liveValue = action === 'update'
    ? (path: string) => {
        const v = read(path);
        return v === undefined || isDeepStrictEqual(v, yamlAsWritten(resource, path)) ? undefined : v;
      }
    : read;
  return yamlFields(resource, action, wire, { liveValue });
}

/** An object whose file is as Git says but whose running config is not: its YAML fields as "(differs)", the running detail as wire. */
export function runningChangeView(resource: Extension | Conference, diffs: readonly RunningDiff[]): { fields: FieldChange[]; wire: WireFieldChange[]; reason: string } {
  const wire: WireFieldChange[] = diffs.map((d) => ({
    path: `running ${d.path}`,
    before: d.before,
    after: d.after,
    ...(d.sensitive ? { sensitive: true } : {}),
    ...(d.from !== undefined ? { from: d.from } : {}),
  }));
  const modules = [...new Set(diffs.map((d) => d.module))];
  const reasons = diffs.map((d) => d.reason);
  const shown = reasons.length > 3 ? `${reasons.slice(0, 3).join('; ')} and ${reasons.length - 3} more` : reasons.join('; ');
  return {
    fields: yamlFields(resource, 'update', wire),
    wire,
    reason: `the file is as Git says but the running PBX is not (${shown}): reloading ${modules.join(', ')} applies it`,
  };
}

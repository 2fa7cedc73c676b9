// Pure: turns a change written in a system's own fields (pjsip variables, pfRest fields) into the YAML fields they come from, for plans in the YAML's language.
import { REDACTED } from '../desired/secret.ts';
import type { ChangeAction, FieldChange, WireFieldChange } from './types.ts';

/**
 * The before-value of a YAML field when the live system holds something its YAML cannot be read back from (three
 * pjsip variables for one `spec.nat`): the field differs, and `--detail` shows how.
 */
export const DIFFERS = '(differs)';

/** Path of the line that gathers a system's fields no YAML field sets (a section type, a context from the settings). */
export const OTHER_FIELDS = '(fields no YAML field sets)';

/** The value at a dotted path (`spec.voicemail.pin`) of a YAML object, or undefined. */
export function valueAt(resource: unknown, path: string): unknown {
  let at: unknown = resource;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

export interface YamlFieldOptions {
  /**
   * The YAML value the live object holds for a path, when the system can read it back (e.g. a caller-ID name parsed
   * from `callerid`); undefined means it cannot, and the field shows as "(differs)".
   */
  readonly liveValue?: (path: string) => unknown;
}

/**
 * One line per YAML field the wire changes come from, in the order they first appear: `after` is the YAML object's
 * value, `before` what the live side holds in YAML terms when known (nothing for a create, "(differs)" otherwise).
 * A field is sensitive when any wire field behind it is. In an update, wire fields without `from` are gathered in one
 * line counting them, so nothing that changes is hidden; a create or delete leaves them to the wire detail.
 */
export function yamlFields(resource: unknown, action: ChangeAction, wire: readonly WireFieldChange[], options: YamlFieldOptions = {}): FieldChange[] {
  const groups = new Map<string, WireFieldChange[]>();
  for (const f of wire) {
    // A new or removed object is its YAML document: the structure every such object has stays in the wire detail.
    if (f.from === undefined && (action === 'create' || action === 'delete')) continue;
    const key = f.from ?? OTHER_FIELDS;
    const group = groups.get(key);
    if (group) group.push(f);
    else groups.set(key, [f]);
  }
  const out: FieldChange[] = [];
  for (const [path, fields] of groups) {
    if (path === OTHER_FIELDS) {
      out.push({ path, before: null, after: `${fields.length} changed (${fields.map((f) => f.path).join(', ')})` });
      continue;
    }
    const sensitive = fields.some((f) => f.sensitive);
    if (sensitive) {
      out.push({ path, before: action === 'create' ? null : REDACTED, after: action === 'delete' ? null : REDACTED, sensitive: true });
      continue;
    }
    const live = action === 'create' ? null : options.liveValue?.(path);
    out.push({
      path,
      before: action === 'create' ? null : live === undefined ? DIFFERS : live,
      after: action === 'delete' ? null : (valueAt(resource, path) ?? null),
    });
  }
  return out;
}

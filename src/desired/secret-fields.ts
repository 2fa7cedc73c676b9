// Pure: the secret fields of a desired state (the schema's x-sensitive paths that are set), with the id each resolved secret is stored under.
import { resourcesOf } from './load.ts';
import type { AnyResource, DesiredState, SecretSource } from './model.ts';
import { sensitivePaths } from './schema.ts';

export interface SecretField {
  readonly resource: AnyResource;
  /** Path from the document root, e.g. `['spec', 'voicemail', 'pin']`. */
  readonly path: readonly string[];
  /** Path under `spec`, as the SecretStore is asked for it: `voicemail.pin`. */
  readonly field: string;
  /** `Kind/name#field`. */
  readonly id: string;
  readonly source: SecretSource;
}

function getIn(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const p of path) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[p];
  }
  return node;
}

/** Every secret field set in the state, in resource order. */
export function secretFieldsOf(state: DesiredState): SecretField[] {
  const paths = sensitivePaths();
  const out: SecretField[] = [];
  for (const r of resourcesOf(state) as AnyResource[]) {
    for (const dotted of paths.get(r.kind) ?? []) {
      const path = dotted.split('.');
      const source = getIn(r, path) as SecretSource | undefined;
      if (!source) continue;
      const field = path.slice(1).join('.');
      out.push({ resource: r, path, field, id: `${r.kind}/${r.metadata.name}#${field}`, source });
    }
  }
  return out;
}

export function isGenerated(source: SecretSource): source is Extract<SecretSource, { generate: true }> {
  return 'generate' in source;
}

/** `Kind/name` of the objects holding secrets that are all generated (what a new generator key would change). */
export function generatedSecretOwners(state: DesiredState): Set<string> {
  const all = new Map<string, boolean>();
  for (const f of secretFieldsOf(state)) {
    const id = `${f.resource.kind}/${f.resource.metadata.name}`;
    all.set(id, (all.get(id) ?? true) && isGenerated(f.source));
  }
  return new Set([...all].filter(([, generated]) => generated).map(([id]) => id));
}

// Pure: what a kind's JSON Schema allows at a document path — the fields of the mapping there, and whether it is x-sensitive.
import type { JsonSchema } from './schema-files.ts';

type Path = ReadonlyArray<string | number>;

/** The schema files by name (`user.schema.json`), as schema-files.ts reads them. */
export type SchemaSet = ReadonlyMap<string, JsonSchema>;

interface Located {
  readonly file: string;
  readonly node: JsonSchema;
  /** This node or one it was reached through is marked x-sensitive. */
  readonly sensitive: boolean;
}

const isSchema = (v: unknown): v is JsonSchema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `common.schema.json#/definitions/name` or `#/definitions/name`, resolved against the file it appears in. */
function resolveRef(schemas: SchemaSet, from: string, ref: string): Located | undefined {
  const [file, pointer = ''] = ref.split('#', 2) as [string, string?];
  const target = file === '' ? from : file.slice(file.lastIndexOf('/') + 1);
  let node: unknown = schemas.get(target);
  for (const part of pointer.split('/').filter((p) => p !== '')) node = isSchema(node) ? node[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  return isSchema(node) ? { file: target, node, sensitive: false } : undefined;
}

/** The node itself and every node it stands for through $ref, allOf, oneOf and anyOf (bounded: schemas are ours, not input). */
function expand(schemas: SchemaSet, start: Located): Located[] {
  const out: Located[] = [];
  const stack = [start];
  while (stack.length > 0 && out.length < 64) {
    const at = stack.pop()!;
    const sensitive = at.sensitive || at.node['x-sensitive'] === true;
    out.push({ ...at, sensitive });
    // Pushed last to first, so they come out in schema order (which orders fields and breaks ties between suggestions).
    for (const key of ['anyOf', 'oneOf', 'allOf']) {
      const branches = at.node[key];
      if (Array.isArray(branches)) for (const b of [...branches].reverse()) if (isSchema(b)) stack.push({ file: at.file, node: b, sensitive });
    }
    const ref = at.node['$ref'];
    if (typeof ref === 'string') {
      const target = resolveRef(schemas, at.file, ref);
      if (target) stack.push({ ...target, sensitive });
    }
  }
  return out;
}

/** Every schema node that applies at `path` in a document of the kind whose schema is `file`. */
function nodesAt(schemas: SchemaSet, file: string, path: Path): Located[] {
  const root = schemas.get(file);
  if (!root) return [];
  let nodes = expand(schemas, { file, node: root, sensitive: false });
  for (const seg of path) {
    const next: Located[] = [];
    for (const at of nodes) {
      const child = typeof seg === 'number' ? at.node['items'] : (at.node['properties'] as JsonSchema | undefined)?.[seg] ?? at.node['additionalProperties'];
      if (isSchema(child)) next.push(...expand(schemas, { file: at.file, node: child, sensitive: at.sensitive }));
    }
    nodes = next;
    if (nodes.length === 0) break;
  }
  return nodes;
}

/** The schema file of a kind: `User` → `user.schema.json`. */
export const schemaFileOf = (kind: string): string => `${kind.toLowerCase()}.schema.json`;

/** The field names the mapping at `path` may hold, in schema order, without repeats. */
export function fieldsAt(schemas: SchemaSet, kind: string, path: Path): string[] {
  const names = new Set<string>();
  for (const at of nodesAt(schemas, schemaFileOf(kind), path)) {
    const props = at.node['properties'];
    if (isSchema(props)) for (const k of Object.keys(props)) names.add(k);
  }
  return [...names];
}

/** True when the value at `path` is, or lies inside, a field marked x-sensitive: its text must never be echoed. */
export function isSensitiveAt(schemas: SchemaSet, kind: string, path: Path): boolean {
  // Every prefix: below a sensitive field, a path the schema does not know (a typo) must count as sensitive too.
  for (let n = 0; n <= path.length; n++) if (nodesAt(schemas, schemaFileOf(kind), path.slice(0, n)).some((at) => at.sensitive)) return true;
  return false;
}

// Validates one document against its kind's JSON Schema and lists the fields marked x-sensitive. The validators are the ones
// precompiled by `npm run build` when they match the schema files, else compiled at first use (from src/ under tsx).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { formatPath, quoteText } from './diagnostic.ts';
import { KINDS, type Kind } from './model.ts';
import { compileValidators } from './schema-compile.ts';
import { readSchemaFiles, type JsonSchema, type SchemaFiles } from './schema-files.ts';
import { fieldsAt, isSensitiveAt, type SchemaSet } from './schema-paths.ts';
import { didYouMean, Suggester } from './suggest.ts';

export { SCHEMA_BASE, SCHEMA_DIR } from './schema-files.ts';

/** Written next to the compiled schema.js by scripts/build-validators.ts; absent beside schema.ts in src/. */
export const PRECOMPILED_MODULE = new URL('./schema-validators.cjs', import.meta.url);

type Path = ReadonlyArray<string | number>;

export interface SchemaIssue {
  readonly path: ReadonlyArray<string | number>;
  readonly code: string;
  readonly message: string;
}

type Validators = ReadonlyMap<Kind, ValidateFunction>;

let cached: { validators: Validators; schemas: ReadonlyMap<string, JsonSchema> } | undefined;

/**
 * The precompiled validators when `module` exists and was compiled from exactly these schema files (its digest), else
 * undefined: schemas edited since the build are compiled again rather than checked against stale code.
 */
export function precompiledValidators(files: SchemaFiles, module: URL = PRECOMPILED_MODULE): Validators | undefined {
  const path = fileURLToPath(module);
  if (!existsSync(path)) return undefined;
  const exported = createRequire(import.meta.url)(path) as Record<string, unknown>;
  if (exported['schemaDigest'] !== files.digest) return undefined;
  const validators = new Map<Kind, ValidateFunction>();
  for (const kind of KINDS) {
    const v = exported[kind];
    if (typeof v !== 'function') throw new Error(`${path} has no validator for ${kind}: run \`npm run build\``);
    validators.set(kind, v as ValidateFunction);
  }
  return validators;
}

function load() {
  if (cached) return cached;
  const files = readSchemaFiles();
  cached = { validators: precompiledValidators(files) ?? compileValidators(files), schemas: files.schemas };
  return cached;
}

function pointerToPath(pointer: string): Array<string | number> {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => {
    const key = s.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^\d+$/.test(key) ? Number(key) : key;
  });
}

/** The raw source text of the scalar at a path (`0201`, not 201), for hints that quote what the admin wrote. */
export type SourceOf = (path: ReadonlyArray<string | number>) => string | undefined;

/** Validates a document of a known kind (mutating it to fill schema defaults). Returns one issue per problem. */
export function validateAgainstSchema(kind: Kind, document: unknown, sourceOf?: SourceOf): SchemaIssue[] {
  const validate = load().validators.get(kind)!;
  if (validate(document)) return [];
  return summarizeErrors(kind, document, validate.errors ?? [], sourceOf);
}

/** The value at a path of a plain JSON-like document. */
function valueAt(document: unknown, path: ReadonlyArray<string | number>): unknown {
  let node = document;
  for (const seg of path) {
    if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, seg)) return undefined;
    node = (node as Record<string | number, unknown>)[seg];
  }
  return node;
}

/**
 * ajv reports every failed branch of a oneOf; keep one readable message per location instead. An unknown field gets the
 * closest allowed one as a suggestion, and a required field it stands for is not reported missing as well.
 */
function summarizeErrors(kind: Kind, document: unknown, errors: readonly ErrorObject[], sourceOf?: SourceOf): SchemaIssue[] {
  const { schemas } = load();
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  const typoInOneOf = oneOfTypos(errors, oneOfPaths);
  const issues: SchemaIssue[] = [];
  const seen = new Set<string>();
  // Paths of the allowed fields unknown ones were suggested for: a required one missing there is the same mistake.
  const standsFor = new Set<string>();
  const push = (issue: SchemaIssue) => {
    const key = `${formatPath(issue.path)}|${issue.code}|${issue.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    issues.push(issue);
  };
  for (const e of errors) {
    const underOneOf = [...oneOfPaths].some((p) => e.instancePath === p || e.instancePath.startsWith(`${p}/`));
    if (underOneOf) {
      const typos = typoInOneOf.get(e.instancePath);
      if (typos ? !typos.includes(e) : e.keyword !== 'oneOf') continue;
    }
    let path = pointerToPath(e.instancePath);
    let code = `schema-${e.keyword}`;
    let message: string;
    switch (e.keyword) {
      case 'additionalProperties': {
        const prop = (e.params as { additionalProperty: string }).additionalProperty;
        const parent = path;
        path = [...path, prop];
        code = 'field-unknown';
        const hint = fieldHint(schemas, kind, parent, prop, valueAt(document, parent));
        if (hint.standsFor !== undefined) standsFor.add(formatPath(hint.standsFor));
        message = `unknown field ${quoteText(prop)}${hint.text}`; // quoted: a key may hold CR/LF that would forge output lines
        break;
      }
      case 'required':
        path = [...path, (e.params as { missingProperty: string }).missingProperty];
        code = 'field-required';
        message = 'required field is missing';
        break;
      case 'oneOf':
        code = 'secret-invalid';
        message = 'secret must be {encrypted: <age armored ciphertext>} or {generate: true}; plaintext secrets are not allowed in Git';
        break;
      case 'pattern':
        code = 'value-invalid';
        message = describePattern(e);
        break;
      case 'enum':
        message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'const':
        message = `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
        break;
      case 'format':
        code = 'value-invalid';
        message = `must be a valid ${(e.params as { format: string }).format}`;
        break;
      case 'type':
        message = describeType((e.params as { type: string }).type, valueAt(document, path), () => (isSensitiveAt(schemas, kind, path) ? undefined : sourceOf?.(path)));
        break;
      default:
        message = e.message ?? 'is invalid';
    }
    push({ path, code, message });
  }
  // Second pass: a missing required field that an unknown one was suggested for is the same mistake, told once.
  return issues.filter((i) => !(i.code === 'field-required' && standsFor.has(formatPath(i.path))));
}

/**
 * Inside a secret (a oneOf of `{encrypted}` and `{generate, length, charset}`), a misspelt field is reported as such when
 * exactly one branch has its required field present and that branch fails only on unknown fields; otherwise the secret
 * keeps its one summary message. Returns, per oneOf location, the unknown-field errors to report instead of the summary.
 */
function oneOfTypos(errors: readonly ErrorObject[], oneOfPaths: ReadonlySet<string>): Map<string, ErrorObject[]> {
  const out = new Map<string, ErrorObject[]>();
  for (const at of oneOfPaths) {
    const byBranch = new Map<string, ErrorObject[]>();
    for (const e of errors) {
      const branch = /\/oneOf\/(\d+)\//.exec(e.schemaPath)?.[1];
      if (branch === undefined || !(e.instancePath === at || e.instancePath.startsWith(`${at}/`))) continue;
      byBranch.set(branch, [...(byBranch.get(branch) ?? []), e]);
    }
    const chosen = [...byBranch.values()].filter((es) => !es.some((e) => e.keyword === 'required'));
    if (chosen.length !== 1 || !chosen[0]!.every((e) => e.keyword === 'additionalProperties' && e.instancePath === at)) continue;
    out.set(at, chosen[0]!);
  }
  return out;
}

/**
 * The tail of an unknown field's message: the closest allowed field of this mapping (`givenNmae` → `givenName`), else the
 * mapping one level down or up where a field of exactly that name belongs (an indentation mistake YAML reads without error).
 * `standsFor` is the path of the allowed field the hint points to.
 */
function fieldHint(schemas: SchemaSet, kind: Kind, parent: Path, prop: string, holder: unknown): { text: string; standsFor?: Path } {
  const allowed = fieldsAt(schemas, kind, parent);
  const present = holder !== null && typeof holder === 'object' ? new Set(Object.keys(holder)) : new Set<string>();
  const close = new Suggester().closest(prop, allowed.filter((f) => !present.has(f)));
  if (close !== undefined) return { text: didYouMean(close), standsFor: [...parent, close] };
  for (const field of allowed) {
    if (fieldsAt(schemas, kind, [...parent, field]).includes(prop)) {
      return { text: `; it belongs under ${quoteText(field)}: indent it one level deeper, below ${field}:`, standsFor: [...parent, field, prop] };
    }
  }
  const last = parent[parent.length - 1];
  if (typeof last === 'string' && fieldsAt(schemas, kind, parent.slice(0, -1)).includes(prop)) {
    return { text: `; it belongs one level up, beside ${quoteText(last)}: indent it less`, standsFor: [...parent.slice(0, -1), prop] };
  }
  return { text: '' };
}

/** Plain words for a value of the wrong type, with what to change when the YAML reads the right text as the wrong type. */
function describeType(expected: string, value: unknown, source: () => string | undefined): string {
  const empty = value === null ? '; the field is empty' : '';
  switch (expected) {
    case 'string': {
      if (typeof value !== 'number' && typeof value !== 'boolean') return `must be a string${empty}`;
      // YAML reads 201, 0201, 1e3 or true as numbers and booleans; quoted, they stay text. The source is quoted when plainly a scalar.
      const raw = source();
      return raw !== undefined && /^[\w.+-]{1,40}$/.test(raw) ? `must be a string; quote it: "${raw}"` : 'must be a string; put the value in quotes';
    }
    case 'integer':
    case 'number': {
      const what = expected === 'integer' ? 'a whole number' : 'a number';
      return typeof value === 'string' && /^[+-]?\d+(\.\d+)?$/.test(value) ? `must be ${what}; remove the quotes` : `must be ${what}${empty}`;
    }
    case 'boolean':
      return typeof value === 'string' && /^(true|false)$/i.test(value) ? 'must be true or false; remove the quotes' : `must be true or false${empty}`;
    case 'array':
      return `must be a list: [a, b] or one "- item" line per item${empty}`;
    case 'object':
      return `must be a mapping of fields (name: value)${empty}`;
    default:
      return `must be ${expected}`;
  }
}

function describePattern(e: ErrorObject): string {
  const pattern = (e.params as { pattern: string }).pattern;
  if (pattern.includes(';"<>')) return 'must not contain control characters or ; " < > [ ] \\ (they have a meaning in Asterisk configuration)';
  if (pattern.includes('\\u0000-\\u001f')) return 'must not contain control characters (CR, LF, NUL, TAB...)';
  if (pattern.startsWith('^[a-z0-9]([a-z0-9._-]')) return 'must be lower-case letters, digits, ".", "_" or "-", starting and ending with a letter or digit';
  if (pattern.includes('BEGIN AGE')) return 'must be an ASCII-armored age ciphertext (age -a)';
  return `does not match the expected format ${pattern}`;
}

/**
 * Field paths marked `x-sensitive: true`, per kind, as dotted paths under the document (e.g. `spec.password`).
 * One list feeds the logger's redaction, the plan printer and the audit log.
 */
export function sensitivePaths(): ReadonlyMap<Kind, readonly string[]> {
  const { schemas } = load();
  const out = new Map<Kind, string[]>();
  for (const kind of KINDS) {
    const schema = schemas.get(`${kind.toLowerCase()}.schema.json`)!;
    const paths: string[] = [];
    const walk = (node: unknown, path: string[], depth: number) => {
      if (!node || typeof node !== 'object' || depth > 8) return;
      const n = node as JsonSchema;
      if (n['x-sensitive'] === true) {
        paths.push(path.join('.'));
        return;
      }
      const props = n['properties'] as Record<string, unknown> | undefined;
      if (props) for (const [k, v] of Object.entries(props)) walk(v, [...path, k], depth + 1);
    };
    walk(schema, [], 0);
    out.set(kind, paths);
  }
  return out;
}

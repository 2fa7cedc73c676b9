// Validates one document against its kind's JSON Schema and lists the fields marked x-sensitive. The validators are the ones
// precompiled by `npm run build` when they match the schema files, else compiled at first use (from src/ under tsx).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { formatPath } from './diagnostic.ts';
import { KINDS, type Kind } from './model.ts';
import { compileValidators } from './schema-compile.ts';
import { readSchemaFiles, type JsonSchema, type SchemaFiles } from './schema-files.ts';

export { SCHEMA_BASE, SCHEMA_DIR } from './schema-files.ts';

/** Written next to the compiled schema.js by scripts/build-validators.ts; absent beside schema.ts in src/. */
export const PRECOMPILED_MODULE = new URL('./schema-validators.cjs', import.meta.url);

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

/** Validates a document of a known kind (mutating it to fill schema defaults). Returns one issue per problem. */
export function validateAgainstSchema(kind: Kind, document: unknown): SchemaIssue[] {
  const validate = load().validators.get(kind)!;
  if (validate(document)) return [];
  return summarizeErrors(validate.errors ?? []);
}

/** ajv reports every failed branch of a oneOf; keep one readable message per location instead. */
function summarizeErrors(errors: readonly ErrorObject[]): SchemaIssue[] {
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  const issues: SchemaIssue[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const underOneOf = [...oneOfPaths].some((p) => e.instancePath === p || e.instancePath.startsWith(`${p}/`));
    if (underOneOf && e.keyword !== 'oneOf') continue;
    let path = pointerToPath(e.instancePath);
    let code = `schema-${e.keyword}`;
    let message: string;
    switch (e.keyword) {
      case 'additionalProperties': {
        const prop = (e.params as { additionalProperty: string }).additionalProperty;
        path = [...path, prop];
        code = 'field-unknown';
        message = `unknown field ${JSON.stringify(prop)}`; // quoted: a key may hold CR/LF that would forge output lines
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
      default:
        message = e.message ?? 'is invalid';
    }
    const key = `${formatPath(path)}|${code}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path, code, message });
  }
  return issues;
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

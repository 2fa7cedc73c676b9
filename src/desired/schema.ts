// Loads the JSON Schemas in schemas/ into ajv, validates one document against its kind, and lists the fields marked x-sensitive.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { createRequire } from 'node:module';
import { formatPath } from './diagnostic.ts';
import { KINDS, type Kind } from './model.ts';

// ajv-formats is CommonJS with `exports.default`; require() gives the plugin function without ESM interop guesswork.
const addFormats = createRequire(import.meta.url)('ajv-formats') as (ajv: Ajv, formats: string[]) => Ajv;

export const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');
export const SCHEMA_BASE = 'https://infrasec.dev/schemas/v1/';

export interface SchemaIssue {
  readonly path: ReadonlyArray<string | number>;
  readonly code: string;
  readonly message: string;
}

type JsonSchema = Record<string, unknown>;

let cached: { validators: Map<Kind, ValidateFunction>; schemas: Map<string, JsonSchema> } | undefined;

function load() {
  if (cached) return cached;
  const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: true, keywords: ['x-sensitive'] });
  addFormats(ajv, ['email', 'ipv4', 'date', 'date-time']);
  const schemas = new Map<string, JsonSchema>();
  for (const f of readdirSync(SCHEMA_DIR).filter((n) => n.endsWith('.schema.json')).sort()) {
    const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, f), 'utf8')) as JsonSchema;
    schemas.set(f, schema);
    ajv.addSchema(schema);
  }
  const validators = new Map<Kind, ValidateFunction>();
  for (const kind of KINDS) {
    const v = ajv.getSchema(`${SCHEMA_BASE}${kind.toLowerCase()}.schema.json`);
    if (!v) throw new Error(`schema for ${kind} missing from ${SCHEMA_DIR}`);
    validators.set(kind, v);
  }
  cached = { validators, schemas };
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

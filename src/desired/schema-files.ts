// Reads the JSON Schemas in schemas/ and their digest, which ties validators precompiled at build time to these exact files.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');
export const SCHEMA_BASE = 'https://infrasec.dev/schemas/v1/';

export type JsonSchema = Record<string, unknown>;

export interface SchemaFiles {
  /** File name (`user.schema.json`) → parsed schema, in file-name order. */
  readonly schemas: ReadonlyMap<string, JsonSchema>;
  /** SHA-256 over every file's name and bytes. */
  readonly digest: string;
}

export function readSchemaFiles(dir = SCHEMA_DIR): SchemaFiles {
  const hash = createHash('sha256');
  const schemas = new Map<string, JsonSchema>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.schema.json')).sort()) {
    const text = readFileSync(join(dir, f), 'utf8');
    hash.update(`${f}\0${Buffer.byteLength(text)}\0${text}`);
    schemas.set(f, JSON.parse(text) as JsonSchema);
  }
  return { schemas, digest: hash.digest('hex') };
}

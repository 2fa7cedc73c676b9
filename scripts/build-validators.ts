// Build step after tsc: writes dist/desired/schema-validators.cjs, the JSON Schemas compiled by ajv to standalone code, which
// the compiled CLI loads instead of compiling every schema at start-up (it checks the digest of schemas/ first).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { standaloneModule } from '../src/desired/schema-compile.ts';
import { readSchemaFiles } from '../src/desired/schema-files.ts';

const target = join(import.meta.dirname, '..', 'dist', 'desired', 'schema-validators.cjs');
mkdirSync(dirname(target), { recursive: true });
// Written aside then renamed: a build cut short never leaves a half module that the CLI would load.
writeFileSync(`${target}.tmp`, standaloneModule(readSchemaFiles()));
renameSync(`${target}.tmp`, target);

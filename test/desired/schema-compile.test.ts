// Validators precompiled at build time (ajv standalone code) against the ones compiled at run time: same verdicts, same
// errors, same defaults filled in; used only when compiled from the very schema files in use.
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { KINDS, type Kind } from '../../src/desired/model.ts';
import { parseFile } from '../../src/desired/parse.ts';
import { compileValidators, standaloneModule } from '../../src/desired/schema-compile.ts';
import { readSchemaFiles, SCHEMA_DIR } from '../../src/desired/schema-files.ts';
import { precompiledValidators } from '../../src/desired/schema.ts';

const ROOT = join(import.meta.dirname, '..', '..');
// The generated module requires ajv's run-time helpers: it needs a node_modules beside it, as dist/ has one above it.
const work = mkdtempSync(join(tmpdir(), 'infrasec-precompiled-'));
symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const files = readSchemaFiles();
const moduleFile = join(work, 'schema-validators.cjs');
writeFileSync(moduleFile, standaloneModule(files));

const doc = (kind: Kind, spec: unknown, name: unknown = 'x') => ({ apiVersion: 'infrasec/v1', kind, metadata: { name }, spec });
const AGE = '-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n-----END AGE ENCRYPTED FILE-----\n';

/** Every document of the example state, and variants that break each kind in several ways. */
function documents(): Array<[Kind, unknown]> {
  const out: Array<[Kind, unknown]> = [];
  for (const e of readdirSync(join(ROOT, 'desired-state'), { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.yaml')) continue;
    for (const d of parseFile(e.name, readFileSync(join(e.parentPath, e.name))).documents) {
      const value = d.value as { kind: Kind; spec: Record<string, unknown> };
      out.push([value.kind, value]);
      out.push([value.kind, { ...value, spec: { ...value.spec, unknownField: 1 } }]);
      out.push([value.kind, { ...value, spec: Object.fromEntries(Object.entries(value.spec).map(([k, v]) => [k, typeof v === 'string' ? 12 : 'x'])) }]);
      out.push([value.kind, { ...value, metadata: { name: 'Bad Name;' } }]);
      out.push([value.kind, { ...value, spec: {} }]);
    }
  }
  for (const kind of KINDS) out.push([kind, doc(kind, {})], [kind, doc(kind, null, 7)], [kind, {}], [kind, 'text']);
  out.push(['User', doc('User', { givenName: 'J', surname: 'D', password: { encrypted: AGE, generate: true }, email: 'not-an-email' })]);
  out.push(['User', doc('User', { givenName: 'J\u0007', surname: 'x'.repeat(200), password: 'plain' })]);
  return out;
}

describe('precompiled validators', () => {
  const runtime = compileValidators(files);
  const precompiled = precompiledValidators(files, pathToFileURL(moduleFile));

  it('are used when the module was compiled from these schema files', () => {
    expect(precompiled).toBeDefined();
    expect([...precompiled!.keys()]).toEqual([...KINDS]);
  });

  it('give the same verdicts, errors and filled-in defaults as validators compiled at run time', () => {
    const cases = documents();
    expect(cases.length).toBeGreaterThan(300);
    for (const [kind, value] of cases) {
      const [a, b] = [structuredClone(value), structuredClone(value)];
      const [va, vb] = [runtime.get(kind)!, precompiled!.get(kind)!];
      expect(vb(b), JSON.stringify(value)).toBe(va(a));
      expect(vb.errors ?? null).toEqual(va.errors ?? null);
      expect(b).toEqual(a);
    }
  });

  it('are not used once a schema file changed after the build: the schemas are compiled again instead', () => {
    const edited = join(work, 'schemas');
    cpSync(SCHEMA_DIR, edited, { recursive: true });
    const user = join(edited, 'user.schema.json');
    writeFileSync(user, readFileSync(user, 'utf8').replace('"First name (givenName)."', '"First name."'));
    expect(readSchemaFiles(edited).digest).not.toBe(files.digest);
    expect(precompiledValidators(readSchemaFiles(edited), pathToFileURL(moduleFile))).toBeUndefined();
  });

  it('are absent beside the sources (run through tsx), where the schemas are compiled at first use', () => {
    expect(precompiledValidators(files, pathToFileURL(join(work, 'nowhere.cjs')))).toBeUndefined();
  });
});

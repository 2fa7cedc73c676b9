// Whole-state limits: many files each within the per-file limits are refused by total bytes, documents, objects or load time, naming the file, the limit and its setting.
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config.ts';
import { DEFAULT_TOTAL_LIMITS, totalLimits } from '../../src/desired/limits.ts';
import { loadDesiredState } from '../../src/desired/load.ts';
import { LIMITS } from '../../src/desired/parse.ts';
import { loadResolvedState } from '../../src/desired/resolve.ts';
import { resource, writeTree, yamlDocs, type Files } from './documents.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** `files` files of `perFile` valid users each (no references), every file far below the per-file limits. */
async function manyUsers(files: number, perFile: number): Promise<string> {
  const tree: Files = {};
  let n = 0;
  for (let f = 0; f < files; f++) {
    const docs = Array.from({ length: perFile }, () => resource('User', `u${n++}`, { givenName: 'Test', surname: 'User', title: 'Opérateur' }));
    tree[`users/f${String(f).padStart(3, '0')}.yaml`] = yamlDocs(...docs);
  }
  const dir = await writeTree(tree, 'infrasec-limits-');
  dirs.push(dir);
  return dir;
}

const codes = (r: { diagnostics: ReadonlyArray<{ code: string }> }) => r.diagnostics.map((d) => d.code);

describe('whole desired-state limits', () => {
  it('loads a state within every limit', async () => {
    const dir = await manyUsers(12, 10);
    const r = await loadDesiredState(dir, { limits: { maxTotalBytes: 1_000_000, maxDocuments: 120, maxObjects: 120 } });
    expect(r.diagnostics).toEqual([]);
    expect(r.state?.users.size).toBe(120);
  });

  it('refuses a state whose files together exceed maxTotalBytes, at the file that crossed it, without reading the rest', async () => {
    const dir = await manyUsers(12, 10);
    const r = await loadDesiredState(dir, { limits: { maxTotalBytes: 5_000 } });
    expect(r.state).toBeUndefined();
    expect(codes(r)).toEqual(['state-too-large']);
    const d = r.diagnostics[0]!;
    expect(d.file).toMatch(/^users\/f\d{3}\.yaml$/);
    expect(d.file).not.toBe('users/f000.yaml');
    expect(d.message).toBe('the desired state is larger than 5000 bytes in total; nothing after this file was loaded. Raise desiredState.maxTotalBytes (INFRASEC_DESIRED_MAX_BYTES) if this is intended');
    expect(r.resources).toEqual([]);
  });

  it('refuses more documents than maxDocuments, naming the file and the setting', async () => {
    const dir = await manyUsers(12, 10);
    const r = await loadDesiredState(dir, { limits: { maxDocuments: 55 } });
    expect(r.state).toBeUndefined();
    expect(r.diagnostics.map((d) => `${d.file} ${d.code}`)).toEqual(['users/f005.yaml too-many-documents']);
    expect(r.diagnostics[0]!.message).toContain('more than 55 YAML documents');
    expect(r.diagnostics[0]!.message).toContain('desiredState.maxDocuments (INFRASEC_DESIRED_MAX_DOCUMENTS)');
  });

  it('refuses more objects than maxObjects', async () => {
    const dir = await manyUsers(12, 10);
    const r = await loadDesiredState(dir, { limits: { maxObjects: 30 } });
    expect(r.state).toBeUndefined();
    expect(r.diagnostics.map((d) => `${d.file} ${d.code}`)).toEqual(['users/f003.yaml too-many-objects']);
    expect(r.diagnostics[0]!.message).toContain('desiredState.maxObjects (INFRASEC_DESIRED_MAX_OBJECTS)');
  });

  it('refuses a load that runs past loadTimeoutSeconds', async () => {
    const dir = await manyUsers(3, 5);
    const r = await loadDesiredState(dir, { limits: { loadTimeoutSeconds: 0 } });
    expect(r.state).toBeUndefined();
    expect(r.diagnostics.map((d) => `${d.file} ${d.code}`)).toEqual(['users/f000.yaml load-timeout']);
    expect(r.diagnostics[0]!.message).toContain('desiredState.loadTimeoutSeconds (INFRASEC_DESIRED_LOAD_TIMEOUT)');
  });

  it('takes the limits from the configuration (what the controller loads with)', async () => {
    const dir = await manyUsers(12, 10);
    const config = configSchema.parse({ stateDir: dir, desiredState: { maxDocuments: 55 } });
    const r = await loadResolvedState(dir, config, 'r1');
    expect(r.state).toBeUndefined();
    expect(codes(r)).toEqual(['too-many-documents']);
  });

  it('has defaults far above a real COD and far below the attack of issue 14 (1,100 files of 2,000 documents, 215 MB)', () => {
    const limits = totalLimits();
    expect(configSchema.parse({}).desiredState).toEqual(limits);
    expect(limits).toEqual(DEFAULT_TOTAL_LIMITS);
    // The example repository is a few dozen KiB and under a hundred objects; a real one a few hundred KiB.
    expect(limits.maxTotalBytes).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    expect(limits.maxTotalBytes).toBeLessThan(215_000_000 / 10);
    expect(limits.maxDocuments).toBeGreaterThanOrEqual(5_000);
    expect(limits.maxDocuments).toBeLessThan(1_100 * 2_000 / 100);
    // Per-file limits alone allowed the attack: the totals are what stop it.
    expect(LIMITS.maxFiles * LIMITS.maxDocumentsPerFile).toBeGreaterThan(1_100 * 2_000);
  });
});

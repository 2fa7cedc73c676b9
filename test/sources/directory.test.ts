// Integration (real files, chokidar): directory mode — revision is the content digest, snapshots are staged copies, edits are noticed.
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contentDigest, DirectorySource } from '../../src/sources/directory.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infrasec-dir-'));
  await mkdir(join(dir, 'desired', 'users'), { recursive: true });
  await writeFile(join(dir, 'desired', 'users', 'a.yaml'), 'a: 1\n');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('contentDigest', () => {
  it('depends on names and bytes, not on read order', () => {
    const a = { file: 'a.yaml', bytes: Buffer.from('1') };
    const b = { file: 'b.yaml', bytes: Buffer.from('2') };
    expect(contentDigest([a, b])).toBe(contentDigest([b, a]));
    expect(contentDigest([a, b])).not.toBe(contentDigest([a, { ...b, bytes: Buffer.from('3') }]));
    expect(contentDigest([a])).not.toBe(contentDigest([{ ...a, file: 'c.yaml' }]));
    expect(contentDigest([a])).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('DirectorySource', () => {
  it('stages the files it digested; the same content gives the same revision, an edit a new one', async () => {
    const src = new DirectorySource({ directory: join(dir, 'desired'), workDir: join(dir, 'state') });
    const s1 = await src.sync();
    expect(await readFile(join(s1.root, 'users', 'a.yaml'), 'utf8')).toBe('a: 1\n');
    expect((await src.sync()).revision).toBe(s1.revision);
    await writeFile(join(dir, 'desired', 'users', 'a.yaml'), 'a: 2\n');
    const s2 = await src.sync();
    expect(s2.revision).not.toBe(s1.revision);
    expect(await readFile(join(s2.root, 'users', 'a.yaml'), 'utf8')).toBe('a: 2\n');
    expect(s2.signature.state).toBe('not-checked');
    expect(src.refusal()).toBeUndefined();
  });

  it('announces an edit through the watcher (eventually, debounced)', async () => {
    const src = new DirectorySource({ directory: join(dir, 'desired'), workDir: join(dir, 'state'), debounceMs: 50 });
    let changes = 0;
    const stop = src.watch(() => changes++);
    try {
      await new Promise((r) => setTimeout(r, 300)); // chokidar's initial scan
      await writeFile(join(dir, 'desired', 'users', 'b.yaml'), 'b: 1\n');
      const deadline = Date.now() + 10_000;
      while (changes === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(changes).toBeGreaterThan(0);
    } finally {
      await stop();
    }
  });
});

describe('DirectorySource and symbolic links', () => {
  it('stages a symlinked YAML file as a link so the loader still refuses it', async () => {
    const { symlink, lstat } = await import('node:fs/promises');
    await writeFile(join(dir, 'outside.yaml'), 'x: 1\n');
    await symlink(join(dir, 'outside.yaml'), join(dir, 'desired', 'users', 'linked.yaml'));
    const s = await new DirectorySource({ directory: join(dir, 'desired'), workDir: join(dir, 'state') }).sync();
    expect((await lstat(join(s.root, 'users', 'linked.yaml'))).isSymbolicLink()).toBe(true);
  });
});

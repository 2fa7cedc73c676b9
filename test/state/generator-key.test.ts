import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  GeneratorKeyMismatchError, generatorKeyFingerprint, generatorKeyPath, generatorKeyRecordPath, initStateDir, readGeneratorKey, StateNotInitializedError,
} from '../../src/state/generator-key.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infrasec-genkey-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mode = async (path: string) => (await stat(path)).mode & 0o777;
const otherKey = `${'ab'.repeat(32)}\n`;

describe('initStateDir', () => {
  it('creates the directory (0700) with a 32-byte key (0600) and records its fingerprint, never the key', async () => {
    const state = join(dir, 'state');
    const r = await initStateDir(state);
    expect(r.outcome).toBe('created');
    expect(await mode(state)).toBe(0o700);
    expect(await mode(generatorKeyPath(state))).toBe(0o600);
    const hex = (await readFile(generatorKeyPath(state), 'utf8')).trim();
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    const record = await readFile(generatorKeyRecordPath(state), 'utf8');
    expect(JSON.parse(record).fingerprint).toBe(generatorKeyFingerprint(Buffer.from(hex, 'hex')));
    expect(record).not.toContain(hex);
    expect(r.fingerprint).toBe(JSON.parse(record).fingerprint);
  });

  it('changes nothing on a directory it already initialized', async () => {
    await initStateDir(dir);
    const key = await readFile(generatorKeyPath(dir), 'utf8');
    const again = await initStateDir(dir);
    expect(again.outcome).toBe('existing');
    expect(await readFile(generatorKeyPath(dir), 'utf8')).toBe(key);
  });

  it('refuses to make a new key where the recorded one went missing, and says to restore it', async () => {
    await initStateDir(dir);
    await rm(generatorKeyPath(dir));
    await expect(initStateDir(dir)).rejects.toThrow(/generator\.key is missing but this state directory was used with a key.*restore that key.*--rotate-generator-key/);
    expect(existsSync(generatorKeyPath(dir))).toBe(false);
  });

  it('replaces the key only when told to rotate, keeping the old one beside it', async () => {
    const first = await initStateDir(dir);
    const old = await readFile(generatorKeyPath(dir), 'utf8');
    const rotated = await initStateDir(dir, { rotate: true });
    expect(rotated.outcome).toBe('rotated');
    expect(rotated.fingerprint).not.toBe(first.fingerprint);
    expect(await readFile(rotated.keptAs!, 'utf8')).toBe(old);
    expect((await readGeneratorKey(dir)).toString('hex')).not.toBe(old.trim());
  });
});

describe('readGeneratorKey', () => {
  it('refuses a missing state directory, naming infrasec init and INFRASEC_STATE_DIR, and creates nothing', async () => {
    const state = join(dir, '.infrasec-state');
    const err = await readGeneratorKey(state, { record: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateNotInitializedError);
    expect((err as Error).message).toMatch(/does not exist.*infrasec init --state-dir .*INFRASEC_STATE_DIR/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a state directory without a key and does not make one', async () => {
    await expect(readGeneratorKey(dir, { record: true })).rejects.toThrow(/has no generator key .*infrasec init/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a key other than the one recorded (a replaced generator.key)', async () => {
    await initStateDir(dir);
    await writeFile(generatorKeyPath(dir), otherKey, { mode: 0o600 });
    const err = await readGeneratorKey(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GeneratorKeyMismatchError);
    expect((err as Error).message).toMatch(/not the key this state directory was used with.*Restore.*--rotate-generator-key/);
    expect((err as Error).message).not.toContain('ab'.repeat(32));
  });

  it('refuses a corrupt key file instead of silently replacing it', async () => {
    await writeFile(generatorKeyPath(dir), 'not a key');
    await expect(readGeneratorKey(dir)).rejects.toThrow(/not a 32-byte hex key/);
    expect(await readFile(generatorKeyPath(dir), 'utf8')).toBe('not a key');
  });

  it('records the fingerprint of a key from before records existed when a writer opens it, and only then', async () => {
    await writeFile(generatorKeyPath(dir), otherKey, { mode: 0o600 });
    await readGeneratorKey(dir);
    expect(existsSync(generatorKeyRecordPath(dir))).toBe(false);
    const key = await readGeneratorKey(dir, { record: true });
    expect(JSON.parse(await readFile(generatorKeyRecordPath(dir), 'utf8')).fingerprint).toBe(generatorKeyFingerprint(key));
  });
});

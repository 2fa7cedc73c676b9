// The generator key of a state directory: made only by `infrasec init`, read (never created) by every other command, and checked against the fingerprint recorded when it was first used.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InfrasecError } from '../errors.ts';
import { readStateFile, writeFileAtomic } from './state-file.ts';

export function generatorKeyPath(stateDir: string): string {
  return join(stateDir, 'generator.key');
}

/** Where the fingerprint of the key the state directory was used with is kept (never the key). */
export function generatorKeyRecordPath(stateDir: string): string {
  return join(stateDir, 'generator-key.json');
}

interface KeyRecord {
  readonly version: 1;
  /** sha256 of a fixed label and the key: names the key without revealing anything about it. */
  readonly fingerprint: string;
  readonly recordedAt: string;
}

const HOW_TO_INIT = (stateDir: string) =>
  `run \`infrasec init --state-dir ${stateDir}\` once to create it, or point stateDir (INFRASEC_STATE_DIR, --state-dir) at the state directory infrasec used before`;

/** The state directory, or its generator key, is missing: commands never create them on their own. */
export class StateNotInitializedError extends InfrasecError {
  constructor(stateDir: string, what: string) {
    super('state-not-initialized', `${what} (stateDir is ${resolve(stateDir)}): ${HOW_TO_INIT(stateDir)}. Generated secrets (SIP secrets, PINs, initial passwords) derive from that directory's generator key; a new key would change every one of them`, { stateDir });
  }
}

/** The generator key is not the one this state directory was used with: every generated secret would change. */
export class GeneratorKeyMismatchError extends InfrasecError {
  constructor(stateDir: string, recorded: string, found: string) {
    super(
      'generator-key-mismatch',
      `${generatorKeyPath(stateDir)} is not the key this state directory was used with (fingerprint ${short(found)}, recorded ${short(recorded)} in ${generatorKeyRecordPath(stateDir)}): ` +
        'with it every generated secret (SIP secrets, PINs, initial passwords) would change and every phone would be logged out. Restore the generator.key ' +
        'whose fingerprint is recorded from a backup of the state directory; to start over with a new key on purpose, run `infrasec init --rotate-generator-key`',
      { stateDir },
    );
  }
}

const short = (fingerprint: string) => `sha256:${fingerprint.slice(0, 16)}`;

/** Pure: the fingerprint of a key, as recorded and printed. */
export function generatorKeyFingerprint(key: Buffer): string {
  return createHash('sha256').update('infrasec generator key\u0000').update(key).digest('hex');
}

const checkRecord = (v: unknown): string | undefined =>
  typeof v === 'object' && v !== null && (v as KeyRecord).version === 1 && typeof (v as KeyRecord).fingerprint === 'string' && /^[0-9a-f]{64}$/.test((v as KeyRecord).fingerprint)
    ? undefined
    : 'not a generator key record ({version: 1, fingerprint})';

const RECORD_RECOVERY =
  'It records the fingerprint of the generator key this state directory was used with (no secret). Restore it from a backup of the state directory, or ' +
  'move it aside (mv it to a .bad name) if generator.key is certainly the key that set the live secrets: the next apply or controller start records it again';

async function readRecord(stateDir: string): Promise<KeyRecord | undefined> {
  return readStateFile<KeyRecord>(generatorKeyRecordPath(stateDir), { check: checkRecord, recovery: RECORD_RECOVERY });
}

async function writeRecord(stateDir: string, key: Buffer, now: Date): Promise<void> {
  const record: KeyRecord = { version: 1, fingerprint: generatorKeyFingerprint(key), recordedAt: now.toISOString() };
  await writeFileAtomic(generatorKeyRecordPath(stateDir), `${JSON.stringify(record, null, 2)}\n`);
}

/** Reads the key file; undefined when it does not exist, an error naming the file when it is not a key. */
async function readKeyFile(stateDir: string): Promise<Buffer | undefined> {
  const path = generatorKeyPath(stateDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InfrasecError('generator-key-unreadable', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path });
  }
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new InfrasecError('generator-key-corrupt', `${path} is not a 32-byte hex key; restore it from a backup of the state directory`, { path });
  return Buffer.from(hex, 'hex');
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * The generator key of an initialized state directory. Never creates anything: a missing directory or key is a
 * StateNotInitializedError naming `infrasec init`; a key whose fingerprint differs from the recorded one a
 * GeneratorKeyMismatchError. With `record` (the writers: apply, the controller), a state directory that has a key but
 * no record yet (made before records existed) gets one.
 */
export async function readGeneratorKey(stateDir: string, opts: { record?: boolean; now?: () => Date } = {}): Promise<Buffer> {
  if (!(await isDirectory(stateDir))) throw new StateNotInitializedError(stateDir, `the state directory ${stateDir} does not exist`);
  const key = await readKeyFile(stateDir);
  if (!key) throw new StateNotInitializedError(stateDir, `the state directory ${stateDir} has no generator key (${generatorKeyPath(stateDir)})`);
  const record = await readRecord(stateDir);
  const found = generatorKeyFingerprint(key);
  if (record && record.fingerprint !== found) throw new GeneratorKeyMismatchError(stateDir, record.fingerprint, found);
  if (!record && opts.record) await writeRecord(stateDir, key, (opts.now ?? (() => new Date()))());
  return key;
}

export interface InitResult {
  readonly stateDir: string;
  /** created: a new key; existing: the directory was already initialized with the recorded key; rotated: a new key replaced the old one. */
  readonly outcome: 'created' | 'existing' | 'rotated';
  readonly fingerprint: string;
  /** Where the replaced key was kept (rotate only). */
  readonly keptAs?: string;
}

/**
 * `infrasec init`: creates the state directory (0700) with a new generator key (0600) and records its fingerprint.
 * On an initialized directory it changes nothing. A directory whose recorded key is gone is refused (restore the key):
 * only `rotate` replaces a key, keeping the old one beside it.
 */
export async function initStateDir(stateDir: string, opts: { rotate?: boolean; now?: () => Date } = {}): Promise<InitResult> {
  const now = (opts.now ?? (() => new Date()))();
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await chmod(stateDir, 0o700);
  const existing = await readKeyFile(stateDir);
  const record = await readRecord(stateDir);
  if (existing && !opts.rotate) {
    const found = generatorKeyFingerprint(existing);
    if (record && record.fingerprint !== found) throw new GeneratorKeyMismatchError(stateDir, record.fingerprint, found);
    if (!record) await writeRecord(stateDir, existing, now);
    return { stateDir, outcome: 'existing', fingerprint: found };
  }
  if (!existing && record && !opts.rotate) {
    throw new InfrasecError(
      'generator-key-missing',
      `${generatorKeyPath(stateDir)} is missing but this state directory was used with a key (fingerprint ${short(record.fingerprint)} in ${generatorKeyRecordPath(stateDir)}): ` +
        'restore that key from a backup of the state directory. A new key would change every generated secret (SIP secrets, PINs, initial passwords); ' +
        'to do that on purpose, run `infrasec init --rotate-generator-key`',
      { stateDir },
    );
  }
  let keptAs: string | undefined;
  if (existing) {
    keptAs = `${generatorKeyPath(stateDir)}.replaced-${now.toISOString().replace(/[:.]/g, '-')}`;
    await rename(generatorKeyPath(stateDir), keptAs);
  }
  const key = randomBytes(32);
  await writeFileAtomic(generatorKeyPath(stateDir), `${key.toString('hex')}\n`, 0o600);
  await writeRecord(stateDir, key, now);
  return { stateDir, outcome: existing || record ? 'rotated' : 'created', fingerprint: generatorKeyFingerprint(key), ...(keptAs ? { keptAs } : {}) };
}

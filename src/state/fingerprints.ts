// Controller-side memory of write-only secrets: a fingerprint per object, in a JSON file written atomically with its own digest.
import { createHash } from 'node:crypto';
import { FINGERPRINTS_RECOVERY } from './state-catalog.ts';
import { readStateFile, writeFileAtomic } from './state-file.ts';

export interface FingerprintStore {
  get(key: string): string | undefined;
  set(key: string, fingerprint: string): Promise<void>;
  /** Several at once, durable together: what a bulk apply uses instead of one file rewrite per key. */
  setMany(entries: ReadonlyArray<readonly [string, string]>): Promise<void>;
  delete(key: string): Promise<void>;
}

/** In memory only: for planning without a state directory and for pure tests. */
export class MemoryFingerprintStore implements FingerprintStore {
  protected readonly map = new Map<string, string>();
  get(key: string) {
    return this.map.get(key);
  }
  async set(key: string, fingerprint: string) {
    this.map.set(key, fingerprint);
  }
  async setMany(entries: ReadonlyArray<readonly [string, string]>) {
    for (const [k, v] of entries) this.map.set(k, v);
  }
  async delete(key: string) {
    this.map.delete(key);
  }
}

/** On disk: the fingerprints and a digest over them, so a torn, truncated or edited file is detected rather than read as "unknown". */
interface FingerprintFile {
  readonly version: 2;
  readonly fingerprints: Record<string, string>;
  /** sha256 of the canonical JSON of `fingerprints` (keys sorted). */
  readonly digest: string;
}

/** Pure: the digest a fingerprint file must carry for these entries. */
export function fingerprintDigest(entries: Readonly<Record<string, string>>): string {
  const sorted = Object.fromEntries(Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return `sha256:${createHash('sha256').update(JSON.stringify(sorted)).digest('hex')}`;
}

/** Pure: the problem with a parsed fingerprint file, or undefined. Version 1 (a flat map, no digest) is still read. */
export function checkFingerprintFile(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const v = value as Record<string, unknown>;
  if (!('version' in v)) {
    return Object.values(v).every((x) => typeof x === 'string') ? undefined : 'a version 1 file with a non-string fingerprint';
  }
  if (v['version'] !== 2) return `unknown version ${JSON.stringify(v['version'])}`;
  const fps = v['fingerprints'];
  if (typeof fps !== 'object' || fps === null || Array.isArray(fps) || !Object.values(fps).every((x) => typeof x === 'string')) return 'fingerprints is not a map of strings';
  if (v['digest'] !== fingerprintDigest(fps as Record<string, string>)) return 'its digest does not match its content (edited, or a torn write)';
  return undefined;
}

/** Durable fingerprints: written atomically (temp, fsync, rename, fsync dir), checked against their digest when opened. */
export class FileFingerprintStore extends MemoryFingerprintStore {
  /** Flushes run one at a time, each writing the whole map. */
  private flushing: Promise<void> = Promise.resolve();

  private constructor(private readonly path: string) {
    super();
  }

  /** Opens the store; a missing file is an empty store, a corrupt one a StateFileError naming it with the recovery steps. */
  static async open(path: string): Promise<FileFingerprintStore> {
    const store = new FileFingerprintStore(path);
    const data = await readStateFile<FingerprintFile | Record<string, string>>(path, { check: checkFingerprintFile, recovery: FINGERPRINTS_RECOVERY });
    const entries = data === undefined ? {} : 'version' in data && data.version === 2 ? (data as FingerprintFile).fingerprints : (data as Record<string, string>);
    for (const [k, v] of Object.entries(entries)) store.map.set(k, v);
    return store;
  }

  override async set(key: string, fingerprint: string) {
    await super.set(key, fingerprint);
    await this.flush();
  }

  override async setMany(entries: ReadonlyArray<readonly [string, string]>) {
    await super.setMany(entries);
    await this.flush();
  }

  override async delete(key: string) {
    await super.delete(key);
    await this.flush();
  }

  private flush(): Promise<void> {
    const next = this.flushing.then(() => this.writeFile());
    // The caller sees a failure through `next`; later flushes must still run.
    this.flushing = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  private async writeFile() {
    const fingerprints = Object.fromEntries([...this.map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const file: FingerprintFile = { version: 2, fingerprints, digest: fingerprintDigest(fingerprints) };
    await writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`);
  }
}

// Controller-side memory of write-only secrets: a fingerprint per object, in a JSON file written atomically.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

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

export class FileFingerprintStore extends MemoryFingerprintStore {
  /** Flushes run one at a time: two at once would race on the same temporary file. */
  private flushing: Promise<void> = Promise.resolve();

  private constructor(private readonly path: string) {
    super();
  }

  static async open(path: string): Promise<FileFingerprintStore> {
    const store = new FileFingerprintStore(path);
    try {
      const data = JSON.parse(await readFile(path, 'utf8')) as Record<string, string>;
      for (const [k, v] of Object.entries(data)) if (typeof v === 'string') store.map.set(k, v);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
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
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries([...this.map].sort()), null, 2), { mode: 0o600 });
    await rename(tmp, this.path);
  }
}

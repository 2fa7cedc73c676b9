// Local directory source for trying changes before pushing: snapshots the YAML files (revision = content digest) and watches them with chokidar.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { watch } from 'chokidar';
import { findYamlFiles } from '../desired/load.ts';
import { SourceError, type Source, type SourceDescription, type SourceSnapshot } from './source.ts';

export interface DirectorySourceSettings {
  readonly directory: string;
  /** Where snapshots are staged (under the controller's state directory). */
  readonly workDir: string;
  /** Quiet time after the last file event before a change is announced. */
  readonly debounceMs?: number;
}

/** Pure: the revision of a set of files, independent of read order. */
export function contentDigest(files: ReadonlyArray<{ readonly file: string; readonly bytes: Uint8Array }>): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))) {
    h.update(f.file).update('\0').update(String(f.bytes.length)).update('\0').update(f.bytes);
  }
  return `sha256:${h.digest('hex')}`;
}

export class DirectorySource implements Source {
  private readonly dir: string;
  private readonly stageDir: string;

  constructor(private readonly settings: DirectorySourceSettings) {
    this.dir = resolve(settings.directory);
    this.stageDir = join(resolve(settings.workDir), 'directory');
  }

  describe(): SourceDescription {
    return { kind: 'directory', location: this.dir };
  }

  refusal(): string | undefined {
    return undefined; // local files carry no signature; directory mode is for trying changes
  }

  /**
   * Reads every YAML file once, digests exactly those bytes and stages them, so the state loaded for a
   * revision is the content that revision names even if an editor writes in between.
   */
  async sync(): Promise<SourceSnapshot> {
    let listed: Awaited<ReturnType<typeof findYamlFiles>>;
    try {
      listed = await findYamlFiles(this.dir);
    } catch (err) {
      throw new SourceError(`cannot read directory ${this.dir}: ${(err as Error).message}`, { directory: this.dir }, { cause: err });
    }
    const files: Array<{ file: string; bytes: Uint8Array }> = [];
    for (const listedFile of listed.files) {
      const full = isAbsolute(listedFile) ? listedFile : join(this.dir, listedFile);
      const file = relative(this.dir, full).split(sep).join('/');
      try {
        files.push({ file, bytes: await readFile(full) });
      } catch (err) {
        // A file removed between listing and reading: the watcher announces the change and the next sync sees it.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    const revision = contentDigest(files);
    const root = join(this.stageDir, revision.slice('sha256:'.length, 'sha256:'.length + 16));
    const tmp = `${root}.tmp`;
    await rm(tmp, { recursive: true, force: true });
    for (const f of files) {
      await mkdir(dirname(join(tmp, f.file)), { recursive: true });
      await writeFile(join(tmp, f.file), f.bytes);
    }
    // Symbolic links are staged as links, so the loader refuses them as it would in the original tree (never silently drops them).
    for (const d of listed.diagnostics) {
      if (d.code !== 'file-symlink' || !d.file) continue;
      await mkdir(dirname(join(tmp, d.file)), { recursive: true });
      await symlink(await readlink(join(this.dir, d.file)), join(tmp, d.file));
    }
    await mkdir(tmp, { recursive: true });
    await rm(root, { recursive: true, force: true });
    await rename(tmp, root);
    await this.pruneStaged(root);
    return { revision, root, signature: { state: 'not-checked' } };
  }

  async checkout(): Promise<SourceSnapshot | undefined> {
    return undefined; // a directory has no history to fall back to
  }

  watch(onChange: () => void): () => Promise<void> {
    const watcher = watch(this.dir, { ignoreInitial: true, ignored: (p) => /(^|\/)\.git(\/|$)/.test(p) });
    let timer: NodeJS.Timeout | undefined;
    watcher.on('all', () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(onChange, this.settings.debounceMs ?? 200);
    });
    return async () => {
      if (timer) clearTimeout(timer);
      await watcher.close();
    };
  }

  /** Keeps only the current snapshot staged: the loaded state lives in memory, older copies serve nothing. */
  private async pruneStaged(keep: string): Promise<void> {
    const current = keep.slice(this.stageDir.length + 1);
    for (const e of await readdir(this.stageDir)) if (e !== current) await rm(join(this.stageDir, e), { recursive: true, force: true });
  }
}

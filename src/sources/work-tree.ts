// What `infrasec apply` applies: the Git commit of a work tree (and whether it has uncommitted changes), or the content digest of a plain directory.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';

export interface AppliedOrigin {
  /** The label passes and the controller state carry: the commit (`-dirty` appended when dirty), or the digest. */
  readonly revision: string;
  /** The commit, or the content digest of a plain directory. */
  readonly commit: string;
  readonly dirty: boolean;
  readonly author: string | null;
}

/** Reads HEAD and the status of `path` when it lies in a Git work tree; a plain directory gets the directory source's digest. */
export async function describeOrigin(path: string, files: readonly string[]): Promise<AppliedOrigin> {
  const git = simpleGit({ baseDir: path, timeout: { block: 30_000 } });
  let inWorkTree = false;
  try {
    inWorkTree = (await git.revparse(['--is-inside-work-tree'])).trim() === 'true';
  } catch {
    inWorkTree = false;
  }
  if (inWorkTree) {
    const commit = (await git.revparse(['HEAD']).catch(() => '')).trim();
    if (/^[0-9a-f]{40,64}$/.test(commit)) {
      // Untracked files count: they are loaded and applied like the others.
      const dirty = (await git.raw(['status', '--porcelain', '--untracked-files=all', '--', '.'])).trim() !== '';
      const author = (await git.raw(['log', '-1', '--format=%an <%ae>', 'HEAD'])).trim() || null;
      return { revision: dirty ? `${commit}-dirty` : commit, commit, dirty, author };
    }
  }
  // Loaded here: the directory source pulls in chokidar, which `validate` has no use for.
  const { contentDigest } = await import('./directory.ts');
  const digest = contentDigest(await Promise.all(files.map(async (file) => ({ file, bytes: await readFile(join(path, file)) }))));
  return { revision: digest, commit: digest, dirty: false, author: null };
}

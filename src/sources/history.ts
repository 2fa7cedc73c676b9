// Git history of one desired-state object: the commits whose change altered that object's YAML document (for `infrasec audit log`).
import { parseAllDocuments } from 'yaml';
import { simpleGit } from 'simple-git';

export interface ObjectCommit {
  readonly commit: string;
  readonly author: string;
  readonly date: string;
  readonly subject: string;
  readonly files: readonly string[];
}

/** Pure: the canonical JSON of the document `kind/name` in a YAML file, or undefined when the file does not hold it. */
export function documentOf(text: string | undefined, kind: string, name: string): string | undefined {
  if (text === undefined) return undefined;
  for (const doc of parseAllDocuments(text)) {
    if (!('toJS' in doc)) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch {
      continue; // a broken document in an old commit cannot be the object's; the others still count
    }
    const v = value as { kind?: unknown; metadata?: { name?: unknown } } | null;
    if (v && v.kind === kind && v.metadata?.name === name) return JSON.stringify(value);
  }
  return undefined;
}

/**
 * Walks the commits that touched YAML files under `path` (newest first, at most `max`) and keeps those where the
 * object's document differs from the parent's: added, changed, removed or moved between files.
 */
export async function commitsTouchingObject(repoDir: string, path: string, kind: string, name: string, max = 500): Promise<ObjectCommit[]> {
  const git = simpleGit({ baseDir: repoDir, maxConcurrentProcesses: 4 }).env({ PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', LANG: 'C' });
  const head = (await git.raw(['rev-parse', '--verify', 'HEAD^{commit}'])).trim();
  const pathspec = path === '.' || path === '' ? '.' : path;
  const raw = await git.raw(['log', head, `--max-count=${max}`, '--format=%x01%H%x00%an <%ae>%x00%cI%x00%s%x00%P', '--name-only', '--no-renames', '--', pathspec]);
  const out: ObjectCommit[] = [];
  for (const block of raw.split('\x01').filter((b) => b.trim())) {
    const [header, ...rest] = block.split('\n');
    const [commit, author, date, subject, parents] = header!.split('\0') as [string, string, string, string, string];
    const parent = parents.split(' ').filter(Boolean)[0];
    const files = rest.map((l) => l.trim()).filter((f) => /\.ya?ml$/i.test(f));
    const touched: string[] = [];
    for (const file of files) {
      const after = documentOf(await show(git, commit, file), kind, name);
      const before = parent ? documentOf(await show(git, parent, file), kind, name) : undefined;
      if (after !== before) touched.push(file);
    }
    if (touched.length > 0) out.push({ commit, author, date, subject, files: touched });
  }
  return out;
}

async function show(git: ReturnType<typeof simpleGit>, commit: string, file: string): Promise<string | undefined> {
  try {
    return await git.raw(['show', `${commit}:${file}`]);
  } catch {
    return undefined; // the file does not exist at that commit (added or deleted by the change)
  }
}

// Test fixture: a bare Git repository (file:// URL) with a working clone to commit and push from, using the git CLI.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface GitFixture {
  readonly dir: string;
  readonly bare: string;
  readonly url: string;
  readonly work: string;
  git(...args: string[]): string;
  /** Writes files (path → content), commits them and pushes; returns the new commit. */
  commit(files: Record<string, string | null>, message: string, extra?: string[]): string;
  cleanup(): void;
}

export function createGitFixture(prefix = 'infrasec-git-'): GitFixture {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const bare = join(dir, 'remote.git');
  const work = join(dir, 'work');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  execFileSync('git', ['init', '-q', '-b', 'main', work]);
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', work, '-c', 'user.name=Ana Admin', '-c', 'user.email=ana@cod67.example', '-c', 'commit.gpgsign=false', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  git('remote', 'add', 'origin', bare);
  return {
    dir, bare, url: `file://${bare}`, work, git,
    commit(files, message, extra = []) {
      for (const [path, content] of Object.entries(files)) {
        const full = join(work, path);
        if (content === null) rmSync(full, { force: true });
        else {
          mkdirSync(dirname(full), { recursive: true });
          writeFileSync(full, content);
        }
      }
      git('add', '-A');
      git('commit', '-q', '--allow-empty', '-m', message, ...extra);
      git('push', '-q', 'origin', 'HEAD:main');
      return git('rev-parse', 'HEAD').trim();
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

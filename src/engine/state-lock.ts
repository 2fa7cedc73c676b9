// One writer per state directory: a lock file holding the writer's PID; a lock whose process is gone is taken over.
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { InfrasecError } from '../errors.ts';

/** Lock files held by this process (a restarted container is PID 1 again, so our own PID alone proves nothing). */
const HELD_LOCKS = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock of a state directory, shared by the controller and `infrasec apply`. */
export function stateLockPath(stateDir: string): string {
  return join(stateDir, 'controller.lock');
}

export interface StateLock {
  release(): Promise<void>;
}

/** Takes the lock at `path` or throws `state-locked` naming the PID that holds it. */
export async function acquireStateLock(path: string, log: Logger, holder = 'another infrasec process'): Promise<StateLock> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      HELD_LOCKS.add(path);
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          await rm(path, { force: true });
          HELD_LOCKS.delete(path);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        continue;
      }
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    const held = pid === process.pid ? HELD_LOCKS.has(path) : Number.isInteger(pid) && pid > 0 && isAlive(pid);
    if (held) throw new InfrasecError('state-locked', `${holder} (pid ${pid}) is using ${dirname(path)}`, { pid });
    log.warn({ event: 'state.lock.stale', pid }, 'taking over a stale lock');
    await rm(path, { force: true });
  }
  throw new InfrasecError('state-locked', `cannot lock ${path}`);
}

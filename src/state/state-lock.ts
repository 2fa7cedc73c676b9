// One writer per state directory: a lock file holding the writer's PID, boot id and process start time; a lock whose process is gone (or whose PID now names another process) is taken over.
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

/** This boot of the machine (Linux); undefined elsewhere. */
export async function bootId(): Promise<string | undefined> {
  const id = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
  return id || undefined;
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), undefined when unknown. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its closing one.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = rest[22 - 3];
  return start && /^\d+$/.test(start) ? start : undefined;
}

export interface LockOwner {
  readonly pid: number;
  readonly bootId?: string;
  readonly startTime?: string;
}

/** Pure: the lock file's text. Line 1 stays the PID alone, as older versions wrote and read it. */
export function formatLockOwner(owner: LockOwner): string {
  return `${owner.pid}\n${owner.bootId ? `boot ${owner.bootId}\n` : ''}${owner.startTime ? `start ${owner.startTime}\n` : ''}`;
}

/** Pure: reads what formatLockOwner wrote (or an older PID-only lock); pid is NaN when the file is unreadable. */
export function parseLockOwner(text: string): LockOwner {
  const [first, ...rest] = text.split('\n');
  const field = (name: string) => rest.map((l) => l.trim()).find((l) => l.startsWith(`${name} `))?.slice(name.length + 1);
  return { pid: Number((first ?? '').trim()), bootId: field('boot'), startTime: field('start') };
}

/** Whether the process that wrote the lock is still running: same boot, PID alive, and (when recorded) the same start time. */
async function ownerRunning(owner: LockOwner, path: string): Promise<boolean> {
  if (owner.pid === process.pid) return HELD_LOCKS.has(path);
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return false;
  const boot = await bootId();
  if (owner.bootId && boot && owner.bootId !== boot) return false; // written before a reboot: every process of that boot is gone
  if (!isAlive(owner.pid)) return false;
  if (!owner.startTime) return true; // an older lock: a live PID is all there is to go on
  const start = await processStartTime(owner.pid);
  return start === undefined || start === owner.startTime;
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
  const me = formatLockOwner({ pid: process.pid, bootId: await bootId(), startTime: await processStartTime(process.pid) });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(me);
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
    const owner = parseLockOwner(await readFile(path, 'utf8').catch(() => ''));
    if (await ownerRunning(owner, path)) throw new InfrasecError('state-locked', `${holder} (pid ${owner.pid}) is using ${dirname(path)}`, { pid: owner.pid });
    log.warn({ event: 'state.lock.stale', pid: owner.pid, bootId: owner.bootId ?? null, startTime: owner.startTime ?? null }, 'taking over a stale lock');
    await rm(path, { force: true });
  }
  throw new InfrasecError('state-locked', `cannot lock ${path}`);
}

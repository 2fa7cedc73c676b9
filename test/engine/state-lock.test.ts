import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireStateLock, stateLockPath } from '../../src/engine/state-lock.ts';
import { silentLogger } from '../../src/log.ts';

describe('acquireStateLock', () => {
  it('gives the state directory to one writer at a time and names the holder to the second', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infrasec-lock-'));
    const first = await acquireStateLock(stateLockPath(dir), silentLogger);
    await expect(acquireStateLock(stateLockPath(dir), silentLogger, 'a running controller')).rejects.toThrow(`a running controller (pid ${process.pid}) is using ${dir}`);
    await first.release();
    const again = await acquireStateLock(stateLockPath(dir), silentLogger);
    expect((await readFile(stateLockPath(dir), 'utf8')).trim()).toBe(String(process.pid));
    await again.release();
  });

  it('takes over a lock left by a process that is gone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infrasec-lock-'));
    const dead = spawn(process.execPath, ['-e', '0']);
    const pid = dead.pid!;
    await new Promise((r) => dead.on('exit', r));
    await writeFile(stateLockPath(dir), `${pid}\n`);
    const lock = await acquireStateLock(stateLockPath(dir), silentLogger);
    expect((await readFile(stateLockPath(dir), 'utf8')).trim()).toBe(String(process.pid));
    await lock.release();
  });

  it('refuses a lock held by another live process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infrasec-lock-'));
    const alive = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      await writeFile(stateLockPath(dir), `${alive.pid}\n`);
      await expect(acquireStateLock(stateLockPath(dir), silentLogger)).rejects.toMatchObject({ code: 'state-locked' });
    } finally {
      alive.kill();
    }
  });
});

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireStateLock, bootId, formatLockOwner, parseLockOwner, processStartTime, stateLockPath } from '../../src/state/state-lock.ts';
import { silentLogger } from '../../src/log.ts';

describe('acquireStateLock', () => {
  it('gives the state directory to one writer at a time and names the holder to the second', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infrasec-lock-'));
    const first = await acquireStateLock(stateLockPath(dir), silentLogger);
    await expect(acquireStateLock(stateLockPath(dir), silentLogger, 'a running controller')).rejects.toThrow(`a running controller (pid ${process.pid}) is using ${dir}`);
    await first.release();
    const again = await acquireStateLock(stateLockPath(dir), silentLogger);
    expect((await readFile(stateLockPath(dir), 'utf8')).split('\n')[0]).toBe(String(process.pid));
    await again.release();
  });

  it('takes over a lock left by a process that is gone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infrasec-lock-'));
    const dead = spawn(process.execPath, ['-e', '0']);
    const pid = dead.pid!;
    await new Promise((r) => dead.on('exit', r));
    await writeFile(stateLockPath(dir), `${pid}\n`);
    const lock = await acquireStateLock(stateLockPath(dir), silentLogger);
    expect((await readFile(stateLockPath(dir), 'utf8')).split('\n')[0]).toBe(String(process.pid));
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

  it('records its PID, the boot id and its start time', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infrasec-lock-'));
    const lock = await acquireStateLock(stateLockPath(dir), silentLogger);
    const owner = parseLockOwner(await readFile(stateLockPath(dir), 'utf8'));
    expect(owner).toEqual({ pid: process.pid, bootId: await bootId(), startTime: await processStartTime(process.pid) });
    expect(owner.bootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(owner.startTime).toMatch(/^\d+$/);
    await lock.release();
  });

  describe('with a live process behind the recorded PID', () => {
    async function withLiveProcess(run: (pid: number, startTime: string) => Promise<void>): Promise<void> {
      const alive = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
      try {
        const pid = alive.pid!;
        const start = await processStartTime(pid);
        expect(start).toMatch(/^\d+$/);
        await run(pid, start!);
      } finally {
        alive.kill();
      }
    }

    it('refuses the lock when that process is the one that wrote it', async () => {
      await withLiveProcess(async (pid, startTime) => {
        const dir = await mkdtemp(join(tmpdir(), 'infrasec-lock-'));
        await writeFile(stateLockPath(dir), formatLockOwner({ pid, bootId: await bootId(), startTime }));
        await expect(acquireStateLock(stateLockPath(dir), silentLogger)).rejects.toMatchObject({ code: 'state-locked' });
      });
    });

    it('takes the lock over when the PID was reused by a process started later', async () => {
      await withLiveProcess(async (pid, startTime) => {
        const dir = await mkdtemp(join(tmpdir(), 'infrasec-lock-'));
        await writeFile(stateLockPath(dir), formatLockOwner({ pid, bootId: await bootId(), startTime: String(Number(startTime) - 1) }));
        const lock = await acquireStateLock(stateLockPath(dir), silentLogger);
        expect(parseLockOwner(await readFile(stateLockPath(dir), 'utf8')).pid).toBe(process.pid);
        await lock.release();
      });
    });

    it('takes the lock over when it was written before a reboot', async () => {
      await withLiveProcess(async (pid, startTime) => {
        const dir = await mkdtemp(join(tmpdir(), 'infrasec-lock-'));
        await writeFile(stateLockPath(dir), formatLockOwner({ pid, bootId: '00000000-0000-4000-8000-000000000000', startTime }));
        const lock = await acquireStateLock(stateLockPath(dir), silentLogger);
        await lock.release();
      });
    });
  });

  it('parses a lock written by an older version (PID only)', () => {
    expect(parseLockOwner('4242\n')).toEqual({ pid: 4242, bootId: undefined, startTime: undefined });
    expect(parseLockOwner('')).toMatchObject({ pid: 0 });
  });
});

// End to end with the real CLI as a child process (`node bin/infrasec.js run`, env config): SIGKILL mid-apply then restart converges with no duplicates; SIGTERM exits cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'ldapts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerStatus } from '../../src/controller/status.ts';
import { verifyAuditFile } from '../../src/report/audit.ts';
import { startSambaDc, type SambaDc } from '../harness/samba.ts';
import { controllerEnv, findAccounts, ldapClient, REPO_ROOT, seededRepository, userYaml } from './ad-fixture.ts';
import { eventually } from './fakes.ts';
import { initStateDir } from '../../src/state/generator-key.ts';

const CLI = join(REPO_ROOT, 'bin', 'infrasec.js');
let dc: SambaDc;
let admin: Client;
const children = new Set<ChildProcess>();
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  dc = await startSambaDc();
  admin = ldapClient(dc);
  await admin.bind(dc.bindDN, dc.bindPassword);
});
afterAll(async () => {
  await admin?.unbind();
  await dc?.stop();
});
afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
  for (const f of cleanups.splice(0)) await f();
});

interface Child {
  readonly proc: ChildProcess;
  readonly url: Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly log: () => string;
}

/** Starts the controller CLI; resolves its URL from the `http.listening` log line. */
function startChild(env: NodeJS.ProcessEnv, cwd: string): Child {
  const proc = spawn(process.execPath, [CLI, 'run'], { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(proc);
  let text = '';
  const url = new Promise<string>((resolve, reject) => {
    proc.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const m = /"event":"http\.listening","address":"([^"]+)"/.exec(text);
      if (m) resolve(`http://${m[1]}`);
    });
    proc.once('exit', () => reject(new Error(`controller exited before listening:\n${text.slice(-2000)}`)));
  });
  url.catch(() => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return { proc, url, exited, log: () => text };
}

async function status(url: string): Promise<ControllerStatus> {
  return (await (await fetch(`${url}/status`)).json()) as ControllerStatus;
}

async function setup() {
  const fx = seededRepository();
  const stateDir = await mkdtemp(join(tmpdir(), 'infrasec-crash-state-'));
  await initStateDir(stateDir);
  cleanups.push(() => fx.cleanup(), () => rm(stateDir, { recursive: true, force: true }));
  return { fx, stateDir, env: controllerEnv(dc, fx, stateDir) };
}

const okLines = async (stateDir: string, commit: string) => {
  try {
    return (await readFile(join(stateDir, 'audit.jsonl'), 'utf8')).split('\n').filter((l) => l.includes(commit) && l.includes('"result":"ok"')).length;
  } catch {
    return 0;
  }
};

describe('controller process', () => {
  it('converges with no duplicate objects after SIGKILL in the middle of an apply', async () => {
    const { fx, stateDir, env } = await setup();
    const first = startChild(env, fx.dir);
    const url = await first.url;
    await eventually(async () => (await status(url)).systems[0]?.appliedRevision === fx.seed, 60_000, 'seed applied');

    const names = Array.from({ length: 120 }, (_, i) => `crash${String(i).padStart(3, '0')}`);
    const big = fx.commit({ 'users/crash.yaml': names.map((n) => userYaml(n, 'Crash test')).join('---\n') }, 'Add 120 users');
    await eventually(async () => (await okLines(stateDir, big)) >= 10, 60_000, 'apply under way');
    first.proc.kill('SIGKILL');
    const killed = await first.exited;
    expect(killed.signal).toBe('SIGKILL');
    expect(await okLines(stateDir, big)).toBeLessThan(names.length);

    const second = startChild(env, fx.dir);
    const url2 = await second.url;
    await eventually(async () => (await status(url2)).systems[0]?.appliedRevision === big, 120_000, 'converged after restart');
    for (const n of names) expect(await findAccounts(admin, dc, n), n).toHaveLength(1);
    expect(await verifyAuditFile(stateDir)).toMatchObject({ ok: true });
    // Every user is in the audit trail (written ahead as pending before the kill, or created after the restart),
    // and none was created twice.
    const creates = (await readFile(join(stateDir, 'audit.jsonl'), 'utf8')).split('\n').filter((l) => l.includes('"action":"create"') && l.includes('"User/crash'))
      .map((l) => JSON.parse(l) as { object: string; result: string });
    expect(new Set(creates.map((e) => e.object)).size).toBe(names.length);
    const ok = creates.filter((e) => e.result === 'ok').map((e) => e.object);
    expect(new Set(ok).size).toBe(ok.length);
    second.proc.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    // Its waits add up to four minutes: on a loaded machine the default 60 s cut it short while it was converging.
  }, 240_000);

  it('run --once applies the head, prints the status and exits 0', async () => {
    const { fx, stateDir, env } = await setup();
    const { execFile } = await import('node:child_process');
    const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(process.execPath, [CLI, 'run', '--once'], { env, cwd: fx.dir, maxBuffer: 8 * 1024 * 1024 }, (err, stdout) => resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout }));
    });
    expect(result.code).toBe(0);
    const s = JSON.parse(result.stdout) as ControllerStatus;
    expect(s.systems[0]).toMatchObject({ system: 'active-directory', appliedRevision: fx.seed });
    expect(existsSync(join(stateDir, 'controller.lock'))).toBe(false);
    expect(await verifyAuditFile(stateDir)).toMatchObject({ ok: true });
  });

  it('on SIGTERM finishes cleanly: exit code 0, lock released, state files whole', async () => {
    const { fx, stateDir, env } = await setup();
    const child = startChild(env, fx.dir);
    const url = await child.url;
    await eventually(async () => (await status(url)).systems[0]?.appliedRevision === fx.seed, 60_000, 'seed applied');
    child.proc.kill('SIGTERM');
    const exit = await child.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(child.log()).toContain('"event":"controller.stop"');
    expect(existsSync(join(stateDir, 'controller.lock'))).toBe(false);
    expect(JSON.parse(await readFile(join(stateDir, 'controller-state.json'), 'utf8')).systems['active-directory'].appliedRevision).toBe(fx.seed);
  });
});

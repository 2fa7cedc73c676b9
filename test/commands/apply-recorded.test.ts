// `infrasec apply` is recorded like a controller pass (state lock, hash-chained audit entries with who and what, the
// controller state), and `audit log --object` shows CLI and controller changes together. Against the AMI emulator.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTimeline, renderTimeline } from '../../src/commands/controller.ts';
import { reconcileCommand } from '../../src/commands/reconcile.ts';
import { loadConfig } from '../../src/config.ts';
import { FileFingerprintStore } from '../../src/state/fingerprints.ts';
import { Controller, controllerPaths } from '../../src/controller/controller.ts';
import { buildSystems } from '../../src/engine/systems.ts';
import { silentLogger } from '../../src/log.ts';
import { AuditLog, readAuditEntries, verifyAuditFile } from '../../src/report/audit.ts';
import { ControllerMetrics } from '../../src/server/metrics.ts';
import { DirectorySource } from '../../src/sources/directory.ts';
import { REPO_ROOT } from '../controller/ad-fixture.ts';
import { startPbx, type Pbx } from '../reconcilers/asterisk/pbx-fixture.ts';
import { initStateDir } from '../../src/state/generator-key.ts';

let pbx: Pbx;
let dir: string;
beforeAll(async () => {
  pbx = await startPbx();
  dir = await mkdtemp(join(tmpdir(), 'infrasec-cli-apply-'));
});
afterAll(async () => {
  await pbx?.close();
  await rm(dir, { recursive: true, force: true });
});

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=Alice Admin', '-c', 'user.email=alice@cod67.test', ...args], { cwd, encoding: 'utf8' }).trim();

async function writeConfig(stateDir: string, desired?: string): Promise<string> {
  await initStateDir(stateDir);
  const file = join(dir, `infrasec-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, [
    `stateDir: ${stateDir}`,
    'logLevel: silent',
    'systems:',
    '  asterisk:',
    `    host: 127.0.0.1`,
    `    port: ${pbx.emulator.port}`,
    '    username: admin',
    '    secret: amipass',
    '    transports: { udp: 0.0.0.0-udp, wss: transport-wss }',
    ...(desired ? ['controller:', `  directory: ${desired}`, '  pollIntervalSeconds: 3600', '  driftIntervalSeconds: 3600'] : []),
  ].join('\n'));
  return file;
}

async function apply(path: string, config: string): Promise<number> {
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    return await reconcileCommand('apply', path, { format: 'json', yes: true, config });
  } finally {
    out.mockRestore();
  }
}

/** Edits the first conference (reunion): its room size reaches the PBX. */
const setMaxMembers = async (path: string, from: number, to: number) => {
  const file = join(path, 'telephony', 'conferences.yaml');
  await writeFile(file, (await readFile(file, 'utf8')).replace(`maxMembers: ${from}`, `maxMembers: ${to}`));
};

describe('infrasec apply', () => {
  it('records a plain directory by its content digest, with the OS user and cli, and updates the controller state', async () => {
    const desired = join(dir, 'plain');
    cpSync(join(REPO_ROOT, 'desired-state'), desired, { recursive: true });
    const stateDir = join(dir, 'state-plain');
    expect(await apply(desired, await writeConfig(stateDir))).toBe(0);
    const entries = (await readAuditEntries(stateDir)).filter((e) => e.object === 'Conference/reunion');
    expect(entries.map((e) => e.result)).toEqual(['pending', 'ok']);
    expect(entries[1]).toMatchObject({ system: 'asterisk', action: 'create', actor: { via: 'cli', user: userInfo().username } });
    expect(entries[1]!.commit).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(entries[1]!.dirty).toBeUndefined();
    expect(await verifyAuditFile(stateDir)).toMatchObject({ ok: true });
    const state = JSON.parse(await readFile(controllerPaths(stateDir).state, 'utf8'));
    expect(state.systems.asterisk.appliedRevision).toBe(entries[1]!.commit);
    expect(existsSync(controllerPaths(stateDir).lock)).toBe(false);
  });

  it('records the commit of a Git work tree, dirty when it has uncommitted changes; audit log shows CLI and controller together', async () => {
    pbx.reset();
    const desired = join(dir, 'repo');
    cpSync(join(REPO_ROOT, 'desired-state'), desired, { recursive: true });
    git(desired, 'init', '-q', '-b', 'main');
    git(desired, 'add', '-A');
    git(desired, 'commit', '-q', '-m', 'seed');
    const head = git(desired, 'rev-parse', 'HEAD');
    const stateDir = join(dir, 'state-git');
    const config = await writeConfig(stateDir, desired);
    expect(await apply(desired, config)).toBe(0);
    let entries = (await readAuditEntries(stateDir)).filter((e) => e.object === 'Conference/reunion' && e.result === 'ok');
    expect(entries).toEqual([expect.objectContaining({ commit: head, author: 'Alice Admin <alice@cod67.test>', actor: { via: 'cli', user: userInfo().username } })]);
    expect(entries[0]!.dirty).toBeUndefined();

    await setMaxMembers(desired, 20, 30);
    expect(await apply(desired, config)).toBe(0);
    entries = (await readAuditEntries(stateDir)).filter((e) => e.object === 'Conference/reunion' && e.result === 'ok');
    expect(entries[1]).toMatchObject({ commit: head, dirty: true, action: 'update' });
    const state = JSON.parse(await readFile(controllerPaths(stateDir).state, 'utf8'));
    expect(state.systems.asterisk.appliedRevision).toBe(`${head}-dirty`);

    // The controller applies the next edit to the same object, into the same trail.
    await setMaxMembers(desired, 30, 40);
    const cfg = await loadConfig({ file: config, env: {} });
    const { reconcilers, skipped } = await buildSystems(cfg, { fingerprints: await FileFingerprintStore.open(controllerPaths(stateDir).fingerprints), logger: silentLogger });
    const controller = new Controller({
      config: cfg, source: new DirectorySource({ directory: desired, workDir: controllerPaths(stateDir).source }), reconcilers, skipped,
      audit: await AuditLog.open(stateDir), metrics: new ControllerMetrics({ processMetrics: false }), logger: silentLogger,
    });
    const [result] = await controller.runOnce();
    expect(result?.status).toBe('applied');
    const all = await readAuditEntries(stateDir);
    const reunion = all.filter((e) => e.object === 'Conference/reunion' && e.result === 'ok');
    expect(reunion.map((e) => e.actor?.via)).toEqual(['cli', 'cli', 'controller']);
    expect(await verifyAuditFile(stateDir)).toMatchObject({ ok: true });
    const text = renderTimeline(buildTimeline(all, [], 'Conference/reunion'));
    expect(text).toContain(`(dirty) by Alice Admin <alice@cod67.test>, signature not-checked, run by ${userInfo().username} with infrasec apply`);
    expect(text.split('\n').filter((l) => l.includes('applied  asterisk update ok'))).toHaveLength(2);
  });
});

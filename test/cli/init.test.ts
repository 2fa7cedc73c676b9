// `infrasec init` and the state directory it makes on purpose: plan/apply/run never make one, and the controller refuses a key it did not use before.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from './run-cli.ts';
import { startController } from '../../src/commands/controller.ts';
import { configSchema } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { GeneratorKeyMismatchError, generatorKeyPath, generatorKeyRecordPath, initStateDir } from '../../src/state/generator-key.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE = join(REPO_ROOT, 'desired-state');

/** The environment without any INFRASEC_* variable of the machine running the tests. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('INFRASEC_'))), NO_COLOR: '1', ...extra };
}

function run(args: readonly string[], cwd: string, env = cleanEnv()): Promise<CliRun> {
  return runCli(args, cwd, env);
}

let stray: string;
beforeEach(async () => {
  stray = await mkdtemp(join(tmpdir(), 'infrasec-stray-'));
});
afterEach(async () => {
  await rm(stray, { recursive: true, force: true });
});

describe('a command run from a stray folder', () => {
  it.each([['plan'], ['apply'], ['drift']])('%s creates no state directory and no generator key, and says to run infrasec init or set INFRASEC_STATE_DIR', async (command) => {
    const r = await run([command, EXAMPLE, ...(command === 'apply' ? ['--yes'] : [])], stray);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the state directory \.infrasec-state does not exist .*infrasec init --state-dir \.infrasec-state.*INFRASEC_STATE_DIR.*\[state-not-initialized\]/);
    expect(r.stdout).toBe('');
    expect(await readdir(stray)).toEqual([]);
  });

  it('a bare plan with no system configured leaves nothing behind either', async () => {
    const r = await run(['plan'], stray);
    expect(r.code).toBe(1);
    expect(await readdir(stray)).toEqual([]);
  });
});

describe('infrasec init', () => {
  it('creates the state directory of INFRASEC_STATE_DIR with its generator key (0700, 0600), then changes nothing', async () => {
    const state = join(stray, 'state');
    const env = cleanEnv({ INFRASEC_STATE_DIR: state });
    const first = await run(['init'], stray, env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/initialized \(mode 0700\) with a new generator key sha256:[0-9a-f]{16} .*back the state directory up/);
    expect((await stat(state)).mode & 0o777).toBe(0o700);
    expect((await stat(generatorKeyPath(state))).mode & 0o777).toBe(0o600);
    const key = await readFile(generatorKeyPath(state), 'utf8');
    expect(first.stdout).not.toContain(key.trim());

    const second = await run(['init', '--state-dir', state], stray, cleanEnv());
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/already initialized .*nothing changed/);
    expect(await readFile(generatorKeyPath(state), 'utf8')).toBe(key);
  });

  it('after init, a plan with no system configured adds no file to the state directory', async () => {
    const state = join(stray, 'state');
    expect((await run(['init', '--state-dir', state], stray)).code).toBe(0);
    const before = (await readdir(state)).sort();
    const r = await run(['plan', EXAMPLE], stray, cleanEnv({ INFRASEC_STATE_DIR: state }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no system to plan');
    expect((await readdir(state)).sort()).toEqual(before);
    expect(before).toEqual(['generator-key.json', 'generator.key']);
  });

  it('refuses to replace a key it recorded that went missing (restore it, or --rotate-generator-key)', async () => {
    const state = join(stray, 'state');
    await initStateDir(state);
    await rm(generatorKeyPath(state));
    const r = await run(['init', '--state-dir', state], stray);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/restore that key .*--rotate-generator-key.*\[generator-key-missing\]/);
    expect(existsSync(generatorKeyPath(state))).toBe(false);
    const rotated = await run(['init', '--state-dir', state, '--rotate-generator-key'], stray);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/new generator key .*Every generated secret changes at the next apply/);
  });
});

describe('the controller and a generator key it did not use before', () => {
  const config = (stateDir: string) => configSchema.parse({ stateDir, controller: { directory: EXAMPLE } });
  const otherKey = `${'cd'.repeat(32)}\n`;

  it('refuses to start (startController and run --once), naming the fix', async () => {
    const state = join(stray, 'state');
    await initStateDir(state);
    await writeFile(generatorKeyPath(state), otherKey);
    await expect(startController(config(state), { logger: silentLogger, serve: false })).rejects.toBeInstanceOf(GeneratorKeyMismatchError);
    const r = await run(['run', '--once', '--directory', EXAMPLE, '--state-dir', state], stray);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not the key this state directory was used with .*Restore the generator\.key/);
    expect(r.stderr).not.toContain('cd'.repeat(32));
  });

  it('refuses to start without an initialized state directory, and creates none', async () => {
    const state = join(stray, 'state');
    await expect(startController(config(state), { logger: silentLogger, serve: false })).rejects.toThrow(/does not exist.*infrasec init/);
    expect(existsSync(state)).toBe(false);
  });

  it('goes past the key check with the key it recorded, and records the key of an older state directory at its first start', async () => {
    const state = join(stray, 'state');
    await initStateDir(state);
    await rm(generatorKeyRecordPath(state));
    // No system is configured, so the start fails right after the key check: the failure proves the check passed.
    await expect(startController(config(state), { logger: silentLogger, serve: false })).rejects.toThrow(/no system is configured/);
    expect(existsSync(generatorKeyRecordPath(state))).toBe(true);
  });
});

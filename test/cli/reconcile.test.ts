// `infrasec plan|apply` as a pipeline runs them (real bin/infrasec.js, child process): `--system` parsing, the exit-code
// table in --help, and one JSON document on stdout whatever stops the run. No live system: the ones selected are unreachable.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resource, writeTree, yamlDocs } from '../desired/documents.ts';
import { initStateDir } from '../../src/state/generator-key.ts';
import { runCli, type CliRun } from './run-cli.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** A Node stack frame ("    at fn (file:line:col)"): no outcome here may print one. */
const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

type Run = CliRun;

let scratch: string;
let desired: string;
let invalid: string;

/** Two systems configured, both on a loopback port nothing listens on. */
function environment(): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1',
    INFRASEC_CONFIG: join(scratch, 'none.yaml'), INFRASEC_STATE_DIR: join(scratch, 'state'), INFRASEC_LOG_LEVEL: 'silent',
    INFRASEC_AD_URL: 'ldaps://127.0.0.1:1', INFRASEC_AD_BIND_DN: 'CN=svc', INFRASEC_AD_BIND_PASSWORD: 'not-used', INFRASEC_AD_BASE_DN: 'DC=cod,DC=test',
    INFRASEC_AMI_HOST: '127.0.0.1', INFRASEC_AMI_PORT: '1', INFRASEC_AMI_USERNAME: 'admin', INFRASEC_AMI_SECRET: 'not-used',
  };
}

function infrasec(args: readonly string[]): Promise<Run> {
  return runCli(args, scratch, environment());
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'infrasec-cli-reconcile-'));
  // plan, apply and drift need a state directory made by `infrasec init` (no generated secret here depends on its key).
  await initStateDir(join(scratch, 'state'));
  desired = await writeTree({
    'groups.yaml': yamlDocs(resource('Group', 'cod-ops', { description: 'Operators' })),
    'users.yaml': yamlDocs(resource('User', 'alice', { givenName: 'Alice', surname: 'Martin', groups: ['cod-ops'] })),
  }, 'infrasec-cli-desired-');
  invalid = await writeTree({ 'users.yaml': yamlDocs(resource('User', 'bob', { givenNmae: 'Bob', surname: 'Noel' })) }, 'infrasec-cli-invalid-');
});
afterAll(async () => {
  for (const dir of [scratch, desired, invalid]) if (dir) await rm(dir, { recursive: true, force: true });
});

const systemsOf = (run: Run) => (JSON.parse(run.stdout) as { systems: Array<{ system: string }> }).systems.map((s) => s.system);

describe('--system', () => {
  it('does not swallow the path after it (the option is not variadic)', async () => {
    const run = await infrasec(['plan', '--system', 'active-directory', desired, '--format', 'json']);
    expect(run.stderr).not.toMatch(/argument .* is invalid/);
    expect(run.code).toBe(1);
    const json = JSON.parse(run.stdout);
    expect(json.revision).toMatch(/^sha256:/);
    expect(systemsOf(run)).toEqual(['active-directory']);
  });

  it.each([
    ['repeated', ['--system', 'asterisk', '--system', 'active-directory']],
    ['comma-separated', ['--system', 'asterisk,active-directory']],
    ['repeated with a duplicate', ['-s', 'active-directory', '-s', 'asterisk,active-directory']],
  ])('takes several systems, %s', async (_name, option) => {
    const run = await infrasec(['plan', ...option, desired, '--format', 'json']);
    expect(systemsOf(run)).toEqual(['active-directory', 'asterisk']);
  });

  it.each([
    ['an unknown name', 'nope', 'unknown system "nope"; the systems are active-directory, asterisk, pfsense, modoboa'],
    ['an unknown name in a list', 'asterisk,pbx', 'unknown system "pbx"; the systems are'],
    ['an empty name in a list', 'asterisk,', 'unknown system an empty name; the systems are'],
  ])('refuses %s with the list of systems and exit 1, before anything runs', async (_name, value, message) => {
    const run = await infrasec(['plan', '--system', value, desired]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe('');
    expect(run.stderr).not.toMatch(STACK_FRAME);
  });

  it('--reset-password does not swallow the path either, and is repeatable', async () => {
    const run = await infrasec(['plan', '--reset-password', 'User/alice', desired, '--reset-password', 'User/bob', '--system', 'active-directory', '--format', 'json']);
    expect(systemsOf(run)).toEqual(['active-directory']);
  });
});

describe('a run that fails still prints one JSON document on stdout', () => {
  it('a failed system: status, error naming the setting, the summary saying which failed', async () => {
    const run = await infrasec(['plan', desired, '--system', 'active-directory', '--format', 'json']);
    expect(run.code).toBe(1);
    const json = JSON.parse(run.stdout);
    expect(json.summary).toBe('Plan FAILED for 1 of 1 system(s): active-directory [target-unavailable]. Nothing was planned.');
    expect(json.systems[0].status).toBe('failed');
    expect(json.systems[0].error.message).toContain('check systems.active-directory.url (INFRASEC_AD_URL)');
  });

  it('an invalid desired state: the diagnostics, with file, line and path', async () => {
    const run = await infrasec(['plan', invalid, '--format', 'json']);
    expect(run.code).toBe(1);
    const json = JSON.parse(run.stdout);
    expect(json).toMatchObject({ mode: 'plan', revision: null, systems: [], error: { code: 'validation-failed' } });
    expect(json.summary).toBe(`Plan FAILED: ${invalid}: the desired state is invalid; nothing was planned`);
    expect(json.diagnostics).toContainEqual({ file: 'users.yaml', line: 6, col: 14, path: 'spec.givenNmae', code: 'field-unknown', message: 'unknown field "givenNmae"; did you mean "givenName"?', severity: 'error' });
    // People still read stderr.
    expect(run.stderr).toContain('users.yaml:');
  });

  it('a configuration that cannot be read', async () => {
    const config = join(scratch, 'broken.yaml');
    await writeFile(config, 'systems: {active-directory: [unclosed\n');
    const run = await infrasec(['apply', desired, '--yes', '--config', config, '--format', 'json']);
    expect(run.code).toBe(1);
    const json = JSON.parse(run.stdout);
    expect(json).toMatchObject({ mode: 'apply', error: { code: 'config-invalid' }, systems: [] });
    expect(json.summary).toMatch(/^Apply FAILED: cannot read .*broken\.yaml: /);
  });

  it('Markdown for a merge request says the plan failed instead of printing nothing', async () => {
    const run = await infrasec(['plan', invalid, '--format', 'markdown']);
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n')[0]).toBe('### infrasec plan failed');
    expect(run.stdout).toContain('[validation-failed]');
  });

  it('text output keeps stdout empty and says it on stderr, without a stack trace', async () => {
    const run = await infrasec(['plan', invalid]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('the desired state is invalid; nothing was planned');
    expect(run.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('a command line commander refuses still prints one JSON document on stdout', () => {
  it.each([
    ['an unknown option', ['plan', '--format', 'json', '--bogus'], 'plan', "unknown option '--bogus'"],
    ['a missing option value', ['apply', '-f', 'json', '--system'], 'apply', "option '-s, --system <name>' argument missing"],
    ['an option value its parser refuses', ['drift', '--format=json', '--system', 'nope'], 'drift', 'unknown system "nope"'],
  ])('%s: the failure document with error code usage, exit 1, the message and help on stderr', async (_what, args, mode, message) => {
    const run = await infrasec(args);
    expect(run.code).toBe(1);
    const json = JSON.parse(run.stdout);
    expect(json).toEqual({
      mode, revision: null, summary: expect.stringContaining(message), error: { code: 'usage', message: expect.stringContaining(message) },
      diagnostics: [], systems: [], skipped: [],
    });
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain(`Usage: infrasec ${mode}`);
  });

  it('validate --format json too: its own keys, valid false, error code usage, exit 1', async () => {
    const run = await infrasec(['validate', '--format', 'json', '--bogus']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ valid: false, diagnostics: [], error: { code: 'usage', message: "unknown option '--bogus'" } });
  });

  it('text output keeps stdout empty', async () => {
    const run = await infrasec(['plan', '--bogus']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain("error: unknown option '--bogus'");
  });
});

describe('--help', () => {
  it.each(['plan', 'apply', 'drift'])('%s prints the exit-code table', async (command) => {
    const run = await infrasec([command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Exit codes (the first that applies, in this order):');
    expect(run.stdout).toMatch(/^ {2}4 {2}conflicts: /m);
    expect(run.stdout).toContain('-s, --system <name>');
  });
});

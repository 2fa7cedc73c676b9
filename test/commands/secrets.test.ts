// `infrasec secrets`: shown only on a terminal, otherwise encrypted to an age recipient; every hand-over in the secrets audit trail, no value anywhere else.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretsCommand, type SecretsIo, type SecretsOptions } from '../../src/commands/secrets.ts';
import type { ResolvedState } from '../../src/desired/model.ts';
import { loadResolvedState } from '../../src/desired/resolve.ts';
import { auditPaths, readAuditEntries, verifyAuditFile } from '../../src/report/audit.ts';
import { initStateDir } from '../../src/state/generator-key.ts';
import { openvpnParses } from '../emulators/pfsense/api-test-client.js';
import { REPO_ROOT } from '../controller/ad-fixture.ts';
import { runCli, type CliRun } from '../cli/run-cli.ts';
import { API_KEY, pass, startFixture } from '../reconcilers/pfsense/firewall-fixture.ts';

const EXAMPLE = join(REPO_ROOT, 'desired-state');

let dir: string;
let stateDir: string;
let identity: string;
let recipient: string;
let example: ResolvedState;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infrasec-secrets-cmd-'));
  stateDir = join(dir, 'state');
  await initStateDir(stateDir);
  identity = join(dir, 'jmeyer.agekey');
  execFileSync('age-keygen', ['-o', identity], { stdio: 'pipe' });
  recipient = /public key: (age1\w+)/.exec(await readFile(identity, 'utf8'))![1]!;
  await writeFile(join(dir, 'empty.yaml'), '{}\n');
  example = (await loadResolvedState(EXAMPLE, { stateDir, secrets: { ageIdentityFiles: [] } }, 'example')).state!;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const value = (kind: 'User' | 'Extension' | 'Conference', name: string, field: string) => example.secrets.get(kind, name, field)!.reveal();
const jmeyer = () => [value('User', 'jmeyer', 'password'), value('Extension', 'ext-4000', 'secret')];

function fakeIo(isTTY: boolean): SecretsIo & { out: string; err: string } {
  const io = {
    out: '', err: '', user: 'alice', now: () => new Date('2026-03-01T10:00:00Z'),
    stdout: { isTTY, write: (s: string) => (io.out += s) },
    stderr: { write: (s: string) => (io.err += s) },
  };
  return io;
}

const opts = (o: Partial<SecretsOptions>): SecretsOptions => ({ format: 'text', stateDir, config: join(dir, 'empty.yaml'), ...o });

function cli(args: readonly string[]): Promise<CliRun> {
  return runCli(args, dir, { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('INFRASEC_'))), INFRASEC_STATE_DIR: stateDir, INFRASEC_CONFIG: join(dir, 'none.yaml') });
}

const trail = () => readAuditEntries(stateDir, 'secrets');
const trailText = async () => (existsSync(auditPaths(stateDir, 'secrets').log) ? readFile(auditPaths(stateDir, 'secrets').log, 'utf8') : '');

describe('infrasec secrets', () => {
  it('refuses --reveal when standard output is not a terminal, and without --reveal or --to, showing and recording nothing', async () => {
    const before = await trailText();
    const piped = await cli(['secrets', EXAMPLE, '--person', 'jmeyer', '--reveal']);
    expect(piped.code).toBe(1);
    expect(piped.stderr).toMatch(/--reveal shows secrets only on a terminal.*use --to age1… to hand them over encrypted/);
    expect(piped.stdout).toBe('');
    const neither = await cli(['secrets', EXAMPLE, '--person', 'jmeyer']);
    expect(neither.code).toBe(1);
    expect(neither.stderr).toMatch(/add --reveal to show the secrets on this terminal, or --to age1…/);
    for (const v of jmeyer()) expect(`${piped.stderr}${neither.stderr}`).not.toContain(v);
    expect(await trailText()).toBe(before);
  });

  it('encrypts a person\'s secrets to their age recipient; their identity decrypts them; the trail records the export', async () => {
    const r = await cli(['secrets', EXAMPLE, '--person', 'jmeyer', '--to', recipient]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----/);
    for (const v of jmeyer()) expect(r.stdout + r.stderr).not.toContain(v);
    const clear = execFileSync('age', ['--decrypt', '-i', identity], { input: r.stdout, encoding: 'utf8' });
    expect(clear).toContain(`initial password (to be changed at first logon)  ${value('User', 'jmeyer', 'password')}`);
    expect(clear).toContain(`SIP secret, extension 4000`);
    expect(clear).toContain(value('Extension', 'ext-4000', 'secret'));

    const exported = (await trail()).filter((e) => e.action === 'export');
    expect(exported.map((e) => [e.object, e.fields.map((f) => f['path'])])).toEqual([['User/jmeyer', ['spec.password']], ['Extension/ext-4000', ['spec.secret']]]);
    expect(exported[0]).toMatchObject({ system: 'handover', result: 'ok', actor: { via: 'cli', user: process.env['SUDO_USER'] ?? userInfo().username } });
    expect(exported[0]!.reason).toBe(`encrypted to ${recipient}, written to standard output`);
    for (const v of jmeyer()) expect(await trailText()).not.toContain(v);
    expect(await verifyAuditFile(stateDir, 'secrets')).toMatchObject({ ok: true });
  });

  it('writes the encrypted hand-over to a new file only, and refuses to overwrite one', async () => {
    const out = join(dir, 'reunion.age');
    expect(await secretsCommand(EXAMPLE, opts({ conference: ['reunion'], to: [recipient], output: out, format: 'json' }), fakeIo(false))).toBe(0);
    const doc = JSON.parse(execFileSync('age', ['--decrypt', '-i', identity, out], { encoding: 'utf8' }));
    expect(doc.sections[0].secrets.map((s: { label: string; value: string }) => [s.label, s.value])).toEqual([
      ['participant PIN', value('Conference', 'reunion', 'userPin')], ['leader PIN', value('Conference', 'reunion', 'leaderPin')],
    ]);
    const entries = await trail();
    const again = secretsCommand(EXAMPLE, opts({ conference: ['reunion'], to: [recipient], output: out }), fakeIo(false));
    await expect(again).rejects.toThrow(/already exist.*nothing is overwritten/);
    expect(await trail()).toHaveLength(entries.length);
  });

  it('shows the secrets on a terminal with --reveal and records who revealed what', async () => {
    const io = fakeIo(true);
    expect(await secretsCommand(EXAMPLE, opts({ person: ['mlefebvre'], conference: ['point-situation'], reveal: true }), io)).toBe(0);
    expect(io.out).toContain(value('Extension', 'ext-200', 'voicemail.pin'));
    expect(io.out).toContain(value('Conference', 'point-situation', 'userPin'));
    expect(io.err).toMatch(/4 secret\(s\) of User\/mlefebvre, Conference\/point-situation shown; recorded in the secrets audit trail/);
    const revealed = (await trail()).filter((e) => e.action === 'reveal');
    expect(revealed.map((e) => [e.object, e.actor?.user, e.reason, e.time])).toEqual([
      ['User/mlefebvre', 'alice', 'shown on a terminal', '2026-03-01T10:00:00.000Z'],
      ['Extension/ext-200', 'alice', 'shown on a terminal', '2026-03-01T10:00:00.000Z'],
      ['Conference/point-situation', 'alice', 'shown on a terminal', '2026-03-01T10:00:00.000Z'],
    ]);
    expect(revealed[1]!.fields.map((f) => f['path'])).toEqual(['spec.secret', 'spec.voicemail.pin']);
  });

  it('refuses a bad recipient with age\'s reason before recording or writing anything', async () => {
    const entries = await trail();
    await expect(secretsCommand(EXAMPLE, opts({ person: ['jmeyer'], to: ['age1notarecipient'], output: join(dir, 'x.age') }), fakeIo(false))).rejects.toThrow(/age could not encrypt: .*malformed recipient/);
    expect(existsSync(join(dir, 'x.age'))).toBe(false);
    expect(await trail()).toHaveLength(entries.length);
  });

  it('needs a state directory made by infrasec init', async () => {
    await expect(secretsCommand(EXAMPLE, opts({ person: ['jmeyer'], to: [recipient], stateDir: join(dir, 'elsewhere') }), fakeIo(false))).rejects.toThrow(/does not exist.*infrasec init/);
    expect(existsSync(join(dir, 'elsewhere'))).toBe(false);
  });

  it('lists hand-overs in audit log and verifies both trails with audit verify', async () => {
    const log = await cli(['audit', 'log', '--object', 'User/jmeyer', '--state-dir', stateDir, '--path', '.']);
    expect(log.code).toBe(0);
    expect(log.stdout).toMatch(/secrets {2}export ok by \S+: spec\.password {2}\(encrypted to age1/);
    const verify = await cli(['audit', 'verify', '--state-dir', stateDir]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`${auditPaths(stateDir, 'secrets').log}: `);
  });
});

describe('infrasec secrets --client-configs against the pfSense emulator', () => {
  it('exports the person\'s VPN configuration from the live firewall, encrypted; it decrypts to an .ovpn openvpn parses', async () => {
    const fx = await startFixture();
    try {
      const p = await pass(fx.reconciler, example);
      expect(p.applied.every((a) => a.ok)).toBe(true);
      const caFile = join(dir, 'pfsense-ca.pem');
      await writeFile(caFile, fx.emu.caPem);
      const config = join(dir, 'pfsense.yaml');
      await writeFile(config, ['systems:', '  pfsense:', `    url: ${fx.emu.url}`, `    apiKey: ${API_KEY}`, `    caFile: ${caFile}`, '    instance: test'].join('\n'));
      const out = join(dir, 'vpn');
      const io = fakeIo(false);
      expect(await secretsCommand(EXAMPLE, opts({ person: ['jmeyer'], to: [recipient], output: join(dir, 'jmeyer.age'), clientConfigs: out, config }), io)).toBe(0);
      expect(await readdir(out)).toEqual(['vpn-jmeyer.ovpn.age']);
      const ovpn = execFileSync('age', ['--decrypt', '-i', identity, join(out, 'vpn-jmeyer.ovpn.age')], { encoding: 'utf8' });
      expect((await openvpnParses(ovpn)).ok).toBe(true);
      expect(await readFile(join(out, 'vpn-jmeyer.ovpn.age'), 'utf8')).not.toContain('PRIVATE KEY');
      const entry = (await trail()).find((e) => e.object === 'VpnProfile/vpn-jmeyer');
      expect(entry).toMatchObject({ action: 'export', fields: [{ path: 'client configuration vpn-jmeyer.ovpn', sensitive: true }] });
      expect(entry!.reason).toContain(join(out, 'vpn-jmeyer.ovpn.age'));
      expect(await trailText()).not.toContain('PRIVATE KEY');
    } finally {
      await fx.close();
    }
  });
});

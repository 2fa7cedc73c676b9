// Integration: `infrasec apply desired-state/` (the CLI path, exit codes included) on a stock Issabel PBX emulated over
// AMI: a non-empty [from-internal-custom] of the admin's, GUI-owned voicemail.conf with #includes, a GUI regeneration.
import { cpSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { reconcileCommand } from '../../../src/commands/reconcile.ts';
import { loadConfig } from '../../../src/config.ts';
import type { ResolvedState } from '../../../src/desired/model.ts';
import { loadResolvedState } from '../../../src/desired/resolve.ts';
import type { AmiClient } from '../../../src/reconcilers/asterisk/client.ts';
import { REPO_ROOT } from '../../controller/ad-fixture.ts';
import { STOCK_ISSABEL_FILES } from '../../emulators/asterisk/stock-issabel.ts';
import { LIMITED_SECRET, PBX_FILES, type Pbx, startPbx } from './pbx-fixture.ts';
import { initStateDir } from '../../../src/state/generator-key.ts';

let pbx: Pbx;
let dir: string;
let desiredDir: string;
let admin: AmiClient;
let desired: ResolvedState;
let configFile: string;

async function writeConfig(name: string, user: { username: string; secret: string } = { username: 'admin', secret: 'amipass' }): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, [
    `stateDir: ${join(dir, 'state')}`,
    'logLevel: silent',
    'systems:',
    '  asterisk:',
    '    host: 127.0.0.1',
    `    port: ${pbx.emulator.port}`,
    `    username: ${user.username}`,
    `    secret: ${user.secret}`,
    '    transports: { udp: transport-udp, wss: transport-wss }',
  ].join('\n'));
  return file;
}

/** The real command, as `infrasec <mode> --format json --yes` runs it; returns the exit code and the JSON report. */
async function cli(mode: 'plan' | 'apply' | 'drift', config = configFile): Promise<{ code: number; report: any }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  try {
    const code = await reconcileCommand(mode, desiredDir, { format: 'json', yes: true, config });
    return { code, report: JSON.parse(out) };
  } finally {
    spy.mockRestore();
  }
}

const asterisk = (report: any) => report.systems.find((s: any) => s.system === 'asterisk');
const count = (action: string) => pbx.emulator.stats.actions[action] ?? 0;
const writes = () => ({ update: count('UpdateConfig'), create: count('CreateConfig'), reload: count('Reload') });
const filesNow = () => Object.fromEntries(['pjsip_custom.conf', 'extensions_custom.conf', 'confbridge_custom.conf', 'voicemail_custom.conf', 'voicemail.conf', 'vm_general.inc', 'vm_email.inc'].map((f) => [f, pbx.read(f)]));

/** Every number desired-state/ dials: extensions, conference rooms and their leader entries. */
function dialled(): string[] {
  const out = [...desired.resources.extensions.values()].map((e) => e.spec.number);
  for (const c of desired.resources.conferences.values()) out.push(c.spec.number, ...(c.spec.leaderPin ? [`${c.spec.number}*`] : []));
  return out;
}
const mailboxes = () => [...desired.resources.extensions.values()].filter((e) => e.spec.voicemail.enabled).map((e) => e.spec.number);

/** `dialplan show N@from-internal` over AMI (Command): the context of the first block that lists N. */
async function answeredBy(n: string): Promise<string | undefined> {
  const r = await admin.action('Command', [['Command', `dialplan show ${n}@from-internal`]]);
  let context: string | undefined;
  for (const [k, v] of r.headers) {
    if (k !== 'Output') continue;
    const head = /^\[ (?:Included context|Context) '([^']+)'/.exec(v);
    if (head) context = head[1];
    else if (v.trimStart().startsWith(`'${n}' =>`)) return context;
  }
  return undefined;
}

async function loadedMailboxes(): Promise<Map<string, string>> {
  const r = await admin.list('VoicemailUsersList');
  return new Map(r.events.filter((e) => e.event === 'VoicemailUserEntry').map((e) => [e.get('VoiceMailbox')!, e.get('VMContext')!]));
}

beforeAll(async () => {
  pbx = await startPbx();
  dir = await mkdtemp(join(tmpdir(), 'infrasec-stock-pbx-'));
  desiredDir = join(dir, 'desired-state');
  cpSync(join(REPO_ROOT, 'desired-state'), desiredDir, { recursive: true });
  await initStateDir(join(dir, 'state'));
  configFile = await writeConfig('infrasec');
  // The same state directory as the CLI's, so generated PINs are the ones applied.
  const loaded = await loadResolvedState(desiredDir, await loadConfig({ file: configFile, env: {} }), 'test');
  desired = loaded.state!;
  admin = await pbx.admin();
});
afterAll(async () => {
  await pbx?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('infrasec on a stock Issabel PBX', () => {
  beforeEach(() => undefined);

  it('a first apply of desired-state/ exits 0 and leaves every extension and conference dialable from from-internal', async () => {
    expect(pbx.read('extensions_custom.conf')).toContain('[from-internal-custom]\nexten => 1234,1,Playback(demo-congrats)');
    const { code, report } = await cli('apply');
    const r = asterisk(report);
    expect(r.conflicts).toEqual([]);
    expect(r.verify).toEqual([]);
    expect([code, r.status]).toEqual([0, 'applied']);
    const numbers = dialled();
    expect(numbers).toHaveLength(desired.resources.extensions.size + 3);
    for (const n of numbers) expect(await answeredBy(n), `${n}@from-internal`).toBe('infrasec-internal');
    // The admin's [from-internal-custom] keeps its lines and gains one; the GUI's extension 100 still answers.
    expect(pbx.read('extensions_custom.conf')).toMatch(/\[from-internal-custom\]\nexten => 1234,1,Playback\(demo-congrats\)[^\n]*\nexten => 1234,2,Hangup\(\)\nexten => h,1,Hangup\(\)\ninclude => custom-recordme\ninclude => infrasec-internal\n/);
    expect(await answeredBy('100')).toBe('ext-local');
    expect(await answeredBy('1234')).toBe('from-internal-custom');
    // Calls really reach the conference through that chain.
    pbx.emulator.dial('25*', 'from-internal', { pin: desired.secrets.get('Conference', 'reunion', 'leaderPin')!.reveal() });
  });

  it('puts the mailboxes in [default], next to the GUI\'s, without writing voicemail.conf or its #included files', async () => {
    const loaded = await loadedMailboxes();
    for (const n of mailboxes()) expect(loaded.get(n), `mailbox ${n}`).toBe('default');
    expect(loaded.get('100')).toBe('default');
    for (const f of ['voicemail.conf', 'vm_general.inc', 'vm_email.inc']) expect(pbx.read(f)).toBe(PBX_FILES[f]);
    expect(pbx.read('voicemail_custom.conf')).toMatch(/^\[infrasec-managed-default\]\(!\)\n\[default\]\(infrasec-managed-default\)\n/m);
  });

  it('a second apply makes zero writes: no UpdateConfig, CreateConfig or Reload, every file byte for byte', async () => {
    const before = { ...writes(), files: filesNow() };
    const { code, report } = await cli('apply');
    expect([code, asterisk(report).status, asterisk(report).changes]).toEqual([0, 'in-sync', []]);
    expect({ ...writes(), files: filesNow() }).toEqual(before);
  });

  it('survives the GUI regenerating its files: mailboxes and dialplan still run, and infrasec has nothing to write', async () => {
    const ours = { pjsip: pbx.read('pjsip_custom.conf'), vm: pbx.read('voicemail_custom.conf'), ext: pbx.read('extensions_custom.conf') };
    expect(pbx.emulator.regenerateGui()).toEqual(['pjsip.conf', 'extensions.conf', 'extensions_additional.conf', 'confbridge.conf', 'voicemail.conf']);
    // The GUI's voicemail writer went through voicemail.conf and the files it #includes; the #tryinclude line stays.
    expect(pbx.read('voicemail.conf')).toContain('#tryinclude voicemail_custom.conf');
    expect({ pjsip: pbx.read('pjsip_custom.conf'), vm: pbx.read('voicemail_custom.conf'), ext: pbx.read('extensions_custom.conf') }).toEqual(ours);
    const loaded = await loadedMailboxes();
    for (const n of [...mailboxes(), '100']) expect(loaded.get(n), `mailbox ${n}`).toBe('default');
    for (const n of dialled()) expect(await answeredBy(n), `${n}@from-internal`).toBe('infrasec-internal');
    const before = writes();
    const { code, report } = await cli('apply');
    expect([code, asterisk(report).changes]).toEqual([0, []]);
    expect(writes()).toEqual(before);
  });

  it('where voicemail.conf includes no file of infrasec\'s, apply exits 1 naming the line to add, the rest works; after the line, exit 0', async () => {
    pbx.reset();
    pbx.write('voicemail.conf', STOCK_ISSABEL_FILES['voicemail.conf']!);
    pbx.emulator.reloadAll();
    const planned = await cli('plan');
    // Before anything is written nothing can tell; apply writes, verifies and says what is wrong.
    expect(planned.code).toBe(2);
    const first = await cli('apply');
    expect(first.code).toBe(1);
    expect(asterisk(first.report).verify.map((d: any) => d.message).join('\n')).toContain('add "#tryinclude voicemail_custom.conf" at its end');
    for (const n of dialled()) expect(await answeredBy(n)).toBe('infrasec-internal');
    // From then on the plan itself says it, as a conflict that fails the pass, and names the setting.
    const again = await cli('plan');
    expect(again.code).toBe(1);
    const conflict = asterisk(again.report).conflicts.find((c: any) => c.kind === 'ConfigFile');
    expect(conflict).toMatchObject({ name: 'voicemail_custom.conf', blocking: true });
    expect(conflict.message).toContain('"#tryinclude voicemail_custom.conf" at the end of voicemail.conf');
    expect(conflict.message).toContain('files.voicemail');
    expect(asterisk(again.report).changes).toEqual([]);
    expect(pbx.read('voicemail.conf')).toBe(STOCK_ISSABEL_FILES['voicemail.conf']);
    // The one line, added by the admin: the next apply reloads app_voicemail and the mailboxes run.
    pbx.write('voicemail.conf', PBX_FILES['voicemail.conf']!);
    const fixed = await cli('apply');
    expect(fixed.code).toBe(0);
    // The mailboxes did not run: each extension with one drifted in what runs, and only a reload was sent.
    expect(asterisk(fixed.report).changes.map((c: any) => `${c.kind}/${c.name}: ${c.fields.map((f: any) => f.path).join(', ')}`)).toEqual([
      ...[...desired.resources.extensions.values()].filter((e) => e.spec.voicemail.enabled).map((e) => `Extension/${e.metadata.name}: spec.voicemail.enabled`).sort(),
      `Reload/app_voicemail: ${mailboxes().sort().map((n) => `running voicemail:[default].${n}`).join(', ')}`,
    ]);
    expect(asterisk(fixed.report).writes).toBe(1);
    const loaded = await loadedMailboxes();
    for (const n of mailboxes()) expect(loaded.get(n)).toBe('default');
  });

  it('an #include of infrasec\'s voicemail file before it exists breaks voicemail.conf: the plan fails and says to use #tryinclude', async () => {
    pbx.reset();
    pbx.write('voicemail.conf', `${STOCK_ISSABEL_FILES['voicemail.conf']}#include voicemail_custom.conf\n`);
    const { code, report } = await cli('plan');
    expect(code).toBe(1);
    expect(asterisk(report).conflicts).toContainEqual(expect.objectContaining({ kind: 'ConfigFile', name: 'voicemail.conf', blocking: true, message: expect.stringContaining('include voicemail_custom.conf with "#tryinclude" instead') }));
    pbx.write('voicemail.conf', PBX_FILES['voicemail.conf']!);
    expect((await cli('apply')).code).toBe(0);
  });

  it('where from-internal does not reach [from-internal-custom], apply exits 1 and says which setting reaches it', async () => {
    const stock = pbx.read('extensions.conf');
    pbx.write('extensions.conf', stock.replace('include => from-internal-custom\n', ''));
    pbx.emulator.reload('pbx_config');
    try {
      const planned = await cli('plan');
      expect(planned.code).toBe(1);
      const conflicts = asterisk(planned.report).conflicts;
      expect(conflicts).toContainEqual(expect.objectContaining({
        kind: 'Extension', blocking: true,
        message: '200@from-internal never reaches [infrasec-internal] ([bad-number] answers it instead): from-internal does not include [from-internal-custom], directly or through its includes. Set includeFrom to a context from-internal includes (it is from-internal-custom now)',
      }));
      // One per number dialled: extensions, rooms and leader entries.
      expect(conflicts.length).toBe(dialled().length);
    } finally {
      pbx.write('extensions.conf', stock);
      pbx.emulator.reload('pbx_config');
    }
    expect((await cli('plan')).code).toBe(0);
  });

  it('sees secrets changed only in what Asterisk runs (by fingerprint, never shown) and reloads the file back in', async () => {
    const files = { pjsip: pbx.read('pjsip_custom.conf'), confbridge: pbx.read('confbridge_custom.conf') };
    // Someone changes a conference PIN and a SIP password, reloads, then puts the files back without reloading.
    const userPin = desired.secrets.get('Conference', 'reunion', 'userPin')!.reveal();
    pbx.write('confbridge_custom.conf', files.confbridge.replace(`pin = ${userPin}`, 'pin = 99999999'));
    pbx.write('pjsip_custom.conf', files.pjsip.replace(/(\[200-auth\][^[]*password = )[^\n]+/, '$1Running-Only-Secret'));
    expect(pbx.read('pjsip_custom.conf')).toContain('Running-Only-Secret');
    pbx.emulator.reload('app_confbridge');
    pbx.emulator.reload('res_pjsip');
    pbx.write('confbridge_custom.conf', files.confbridge);
    pbx.write('pjsip_custom.conf', files.pjsip);
    const drift = await cli('drift');
    expect(drift.code).toBe(2);
    const view = (fields: any[]) => fields.map((f: any) => `${f.path}${f.sensitive ? ' (sensitive)' : ''}`).join(', ');
    const changes = asterisk(drift.report).changes.map((c: any) => `${c.kind}/${c.name}: ${view(c.fields)} | ${view(c.wire ?? [])}`);
    // Each drifted object in the YAML's terms, what runs in the detail; the reloads that correct them are folded.
    expect(changes).toEqual([
      'Extension/ext-200: spec.secret (sensitive) | running pjsip:auth[200-auth].password (sensitive)',
      'Conference/reunion: spec.userPin (sensitive) | running confbridge:user[reunion-user].pin (sensitive)',
      'Reload/res_pjsip: running pjsip:auth[200-auth].password (sensitive) | ',
      'Reload/app_confbridge: running confbridge:user[reunion-user].pin (sensitive) | ',
    ]);
    expect(asterisk(drift.report).changes.filter((c: any) => c.supporting).map((c: any) => c.kind)).toEqual(['Reload', 'Reload']);
    const text = JSON.stringify(drift.report);
    for (const s of ['99999999', 'Running-Only-Secret', userPin]) expect(text).not.toContain(s);
    const { code } = await cli('apply');
    expect(code).toBe(0);
    expect(await cli('plan')).toMatchObject({ code: 0 });
  });

  it('says which fields it cannot read back: PINs of mailboxes always, ConfBridge profiles without write=command', async () => {
    const limited = await writeConfig('limited', { username: 'infrasec', secret: LIMITED_SECRET });
    const { code, report } = await cli('plan', limited);
    expect(code).toBe(0);
    expect(asterisk(report).unreadable).toEqual([
      'Extension/*: spec.voicemail.pin (app_voicemail lists its mailboxes without their PIN)',
      expect.stringMatching(/^Conference\/\*: spec\.userPin, spec\.leaderPin, .*the AMI user needs write=command\)$/),
    ]);
    // The admin's AMI user may run the CLI command: only the mailbox PIN is left.
    expect(asterisk((await cli('plan')).report).unreadable).toEqual(['Extension/*: spec.voicemail.pin (app_voicemail lists its mailboxes without their PIN)']);
  });

  it('carries the conference title to callers and drift-checks it in the file and in what runs', async () => {
    const running = await admin.list('ShowDialPlan', [['Context', 'infrasec-internal'], ['Extension', '26']]);
    expect(running.events.find((e) => e.get('Priority') === '1')?.get('AppData')).toBe('CONNECTEDLINE(name)=Point de situation');
    const file = join(desiredDir, 'telephony', 'conferences.yaml');
    const yaml = await readFile(file, 'utf8');
    await writeFile(file, yaml.replace('title: Point de situation', 'title: Point de situation nuit'));
    try {
      const planned = await cli('plan');
      const c = asterisk(planned.report).changes.find((x: any) => x.name === 'point-situation');
      expect(c.fields).toEqual([{ path: 'spec.title', before: 'Point de situation', after: 'Point de situation nuit' }]);
      expect(c.wire).toEqual([{
        path: 'extensions:[infrasec-internal]', from: 'spec.title',
        before: ['exten => 26,1(point-situation),Set(CONNECTEDLINE(name)=Point de situation)'], after: ['exten => 26,1(point-situation),Set(CONNECTEDLINE(name)=Point de situation nuit)'],
      }]);
    } finally {
      await writeFile(file, yaml);
    }
    // Edited and reloaded by hand, then the file put back: the drift is in what runs.
    const text = pbx.read('extensions_custom.conf');
    pbx.write('extensions_custom.conf', text.replace('Set(CONNECTEDLINE(name)=Point de situation)', 'Set(CONNECTEDLINE(name)=Autre)'));
    pbx.emulator.reload('pbx_config');
    pbx.write('extensions_custom.conf', text);
    const drift = asterisk((await cli('drift')).report);
    expect(drift.changes.filter((c: any) => !c.supporting).map((c: any) => `${c.kind}/${c.name}: ${c.fields.map((f: any) => `${f.path}: ${f.before}`)}`)).toEqual(['Conference/point-situation: spec.title: (differs)']);
    expect(drift.changes[0].wire.map((f: any) => `${f.path}: ${f.before}`)).toEqual(['running extensions:[infrasec-internal].26,1: (point-situation) Set(CONNECTEDLINE(name)=Autre)']);
    expect((await cli('apply')).code).toBe(0);
  });

  it('plans desired-state/ on a stock PBX as one object per YAML object it wrote, the bookkeeping folded and not counted', async () => {
    pbx.reset();
    pbx.emulator.reloadAll();
    const { code, report } = await cli('plan');
    expect(code).toBe(2);
    const system = asterisk(report);
    const yamlObjects = [...desired.resources.extensions.values(), ...desired.resources.conferences.values()].map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(yamlObjects.length).toBe(15);
    // The include line goes into the admin's [from-internal-custom]: shown on its own, as the one edit outside infrasec's files.
    expect(system.objects.map((o: any) => `${o.kind}/${o.name}`).sort()).toEqual([...yamlObjects, 'Include/from-internal-custom'].sort());
    expect(report.summary).toMatch(/^Plan: 15 to create, 1 to update, 0 to disable, 0 to delete\./);
    expect(system.changes.filter((c: any) => c.supporting).map((c: any) => c.kind).sort()).toEqual([...Array(4).fill('ConfigFile'), ...Array(3).fill('Context'), ...Array(4).fill('Reload')]);
    // Every new object in the YAML's terms; the pjsip and dialplan detail is in its wire, each line with its YAML field.
    for (const c of system.changes.filter((x: any) => x.kind === 'Extension' || x.kind === 'Conference')) {
      expect(c.fields.every((f: any) => /^spec\./.test(f.path)), `${c.kind}/${c.name}`).toBe(true);
      expect(c.wire.length).toBeGreaterThan(c.fields.length);
    }
    expect(JSON.stringify(report)).not.toMatch(new RegExp([...desired.resources.extensions.keys()].map((n) => desired.secrets.get('Extension', n, 'secret')!.reveal()).join('|')));
    expect((await cli('apply')).code).toBe(0);
  });
});


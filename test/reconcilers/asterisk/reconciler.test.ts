// Integration: the Asterisk reconciler over TCP against the AMI emulator on a FreePBX-like config dir.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectHaltedAfterLoss } from '../../engine/halted-apply.ts';
import type { ResolvedState } from '../../../src/desired/model.ts';
import { Secret } from '../../../src/desired/secret.ts';
import { runPass } from '../../../src/engine/pass.ts';
import { type AsteriskChange, payloadOf } from '../../../src/reconcilers/asterisk/plan.ts';
import { DEFAULT_POLICY, type GuardedPlan as AnyGuardedPlan, type Policy } from '../../../src/engine/types.ts';
import { configSchema } from '../../../src/config.ts';
import { MemoryFingerprintStore } from '../../../src/state/fingerprints.ts';
import { buildSystems } from '../../../src/engine/systems.ts';
import { AuthenticationError, TargetUnavailableError } from '../../../src/errors.ts';
import { createLogger, silentLogger } from '../../../src/log.ts';
import type { AsteriskPayload } from '../../../src/reconcilers/asterisk/model.ts';
import { AsteriskReconciler } from '../../../src/reconcilers/asterisk/reconciler.ts';
import { conf, ext, state } from './desired-builder.ts';
import { PBX_FILES, type Pbx, startPbx } from './pbx-fixture.ts';

const policy = (over: Partial<Policy> = {}): Policy => ({ ...DEFAULT_POLICY, deletionThreshold: { count: 50, percent: 100 }, ...over });
const signal = () => new AbortController().signal;

const vm = (email: string) => ({ enabled: true, pin: { generate: true } as const, email, attach: true });
const desired = (over: { callerIdName?: string; webrtc201?: boolean; without?: string[] } = {}): ResolvedState =>
  state({
    extensions: [
      ext('ext-200', '200', { callerIdName: over.callerIdName ?? 'Direction COD', maxContacts: 2, voicemail: vm('direction@cod67.example.fr') }),
      ext('ext-201', '201', { callerIdName: 'Main courante', webrtc: over.webrtc201 ?? false }),
      ext('ext-4000', '4000', { callerIdName: 'Terrain Nord', webrtc: true, voicemail: vm('terrain@cod67.example.fr') }),
    ].filter((e) => !(over.without ?? []).includes(e.metadata.name)),
    conferences: [
      conf('reunion', '25', { userPin: { generate: true }, leaderPin: { generate: true }, waitForLeader: true, announceJoinLeave: true, maxMembers: 20, videoMode: 'sfu' }),
      conf('point-situation', '26', { userPin: { generate: true }, maxMembers: 40 }),
    ].filter((c) => !(over.without ?? []).includes(c.metadata.name)),
    secrets: {
      'Extension/ext-200#voicemail.pin': '200200',
      'Extension/ext-4000#voicemail.pin': '400040',
      'Conference/reunion#userPin': '4711',
      'Conference/reunion#leaderPin': '90210',
      'Conference/point-situation#userPin': '2626',
    },
  });

let pbx: Pbx;
let rec: AsteriskReconciler;
const writes = () => ({ update: pbx.emulator.stats.actions['UpdateConfig'] ?? 0, reload: pbx.emulator.stats.actions['Reload'] ?? 0 });
const apply = (d: ResolvedState, p: Policy = policy(), hooks?: Parameters<typeof runPass>[3]['hooks']) => runPass(rec, d, p, { mode: 'apply', revision: 'r', hooks });
const planOnly = (d: ResolvedState, p: Policy = policy()) => runPass(rec, d, p, { mode: 'plan', revision: 'r' });
const loaded = (file: string) => pbx.emulator.loadedConfig(file) ?? [];
const endpointLoaded = (n: string) => loaded('pjsip.conf').some((c) => c.name === n && c.variables.some((v) => v.name === 'type' && v.value === 'endpoint'));

beforeAll(async () => {
  pbx = await startPbx();
});
afterAll(async () => {
  await pbx.close();
});
beforeEach(async () => {
  pbx.reset();
  await rec?.close();
  rec = pbx.reconciler();
});

type GuardedPlan = AnyGuardedPlan<AsteriskPayload>;

describe('AsteriskReconciler over AMI', () => {
  it('creates softphone and WebRTC extensions, mailboxes and conferences that Asterisk then runs', async () => {
    const r = await apply(desired());
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('applied');
    expect(r.verify).toEqual([]);
    for (const n of ['200', '201', '4000', '100']) expect(endpointLoaded(n)).toBe(true);
    const ep4000 = loaded('pjsip.conf').find((c) => c.name === '4000' && c.variables.some((v) => v.value === 'endpoint'))!;
    expect(ep4000.variables).toEqual(expect.arrayContaining([{ name: 'webrtc', value: 'yes' }, { name: 'transport', value: 'transport-wss' }, { name: 'message_context', value: 'textmessage' }]));
    // The leader starts the room; a participant needs the user PIN; a wrong PIN is refused.
    expect(() => pbx.emulator.dial('25', 'from-internal', { pin: '0000' })).toThrow(/PIN/);
    pbx.emulator.dial('25*', 'from-internal', { pin: '90210', callerIdNum: '200' });
    pbx.emulator.dial('25', 'from-internal', { pin: '4711', callerIdNum: '201' });
    // The GUI's voicemail files are not written at all; the mailboxes are in [default], where *97/*98 look.
    for (const f of ['voicemail.conf', 'vm_general.inc', 'vm_email.inc']) expect(pbx.read(f)).toBe(PBX_FILES[f]);
    expect(pbx.read('voicemail_custom.conf')).toMatch(/\[default\]\(infrasec-managed-default\)\n200 => 200200,Direction COD,direction@cod67.example.fr,,attach=yes/);
    expect(loaded('voicemail.conf').filter((c) => c.name === 'default').flatMap((c) => c.variables.map((v) => v.name)).sort()).toEqual(['100', '200', '4000']);
    // The admin's own sections in the custom files are still there, [from-internal-custom] with one line more.
    expect(pbx.read('pjsip_custom.conf')).toContain('[trunk-sdis]');
    expect(pbx.read('extensions_custom.conf')).toMatch(/\[from-internal-custom\]\nexten => 1234,1,Playback\(demo-congrats\)[^\n]*\nexten => 1234,2,Hangup\(\)\nexten => h,1,Hangup\(\)\ninclude => custom-recordme\ninclude => infrasec-internal\n/);
    expect(pbx.read('confbridge_custom.conf')).toContain('[gui-room-bridge]');
  });

  it('a second apply sends no UpdateConfig and no Reload', async () => {
    const first = await apply(desired());
    expect(first.verify).toEqual([]);
    expect(pbx.emulator.stats.actions['VoicemailUsersList']).toBeGreaterThan(0);
    const before = writes();
    const r = await apply(desired());
    expect(r.status).toBe('in-sync');
    expect(r.changes).toEqual([]);
    expect(writes()).toEqual(before);
  });

  it('observes with one GetConfig per file plus voicemail.conf, then one read per running object kind', async () => {
    await apply(desired());
    const before = { ...pbx.emulator.stats.actions };
    await rec.observe(signal());
    const delta = (a: string) => (pbx.emulator.stats.actions[a] ?? 0) - (before[a] ?? 0);
    expect(delta('GetConfig')).toBe(5);
    expect(delta('PJSIPShowEndpoints')).toBe(1);
    // Per owned endpoint (its endpoint, aor and auth in one list), per ConfBridge profile, per dialled number.
    expect(delta('PJSIPShowEndpoint')).toBe(3);
    expect(delta('Command')).toBe(5);
    expect(delta('ShowDialPlan')).toBe(3 + 6);
    expect(delta('VoicemailUsersList')).toBe(1);
    expect(delta('UpdateConfig')).toBe(0);
  });

  it('updates an extension in place and turns a softphone into a WebRTC phone', async () => {
    await apply(desired());
    const r = await apply(desired({ callerIdName: 'Chef de salle', webrtc201: true }));
    expect(r.status).toBe('applied');
    expect(r.changes.map((c) => `${c.action} ${c.kind}/${c.name}`)).toEqual(['update Extension/ext-200', 'update Extension/ext-201', 'update Reload/res_pjsip', 'update Reload/app_voicemail', 'update Reload/pbx_config']);
    const ep = (n: string) => loaded('pjsip.conf').find((c) => c.name === n && c.variables.some((v) => v.value === 'endpoint'))!;
    expect(ep('200').variables).toContainEqual({ name: 'callerid', value: '"Chef de salle" <200>' });
    expect(ep('201').variables).toContainEqual({ name: 'webrtc', value: 'yes' });
    expect((await planOnly(desired({ callerIdName: 'Chef de salle', webrtc201: true }))).changes).toEqual([]);
  });

  it('removes an extension (with its mailbox) and a conference when pruning is on, and holds them when it is off', async () => {
    await apply(desired());
    const gone = desired({ without: ['ext-200', 'point-situation'] });
    const held = await apply(gone);
    expect(held.held.map((h) => `${h.change.kind}/${h.change.name}: ${h.why}`)).toEqual(['Conference/point-situation: pruning is off', 'Extension/ext-200: pruning is off']);
    expect(endpointLoaded('200')).toBe(true);
    const r = await apply(gone, policy({ prune: true }));
    expect(r.status).toBe('applied');
    expect(endpointLoaded('200')).toBe(false);
    expect(pbx.read('voicemail.conf')).not.toMatch(/^200 =>/m);
    expect(pbx.read('confbridge_custom.conf')).not.toContain('point-situation');
    expect(pbx.read('extensions_custom.conf')).not.toMatch(/exten => (200|26),/);
    expect((await planOnly(gone, policy({ prune: true }))).changes).toEqual([]);
  });

  it('corrects a section edited out of band', async () => {
    await apply(desired());
    const admin = await pbx.admin();
    const edit = await admin.action('UpdateConfig', [
      ['SrcFilename', 'pjsip_custom.conf'], ['DstFilename', 'pjsip_custom.conf'], ['Reload', 'res_pjsip'],
      ['Action-000000', 'Update'], ['Cat-000000', '200-auth'], ['Var-000000', 'password'], ['Value-000000', 'hacked'],
    ]);
    expect(edit.isError).toBe(false);
    const drift = await runPass(rec, desired(), policy(), { mode: 'drift', revision: 'r', isDriftPass: true });
    // One object drifted: the extension, in the YAML's terms; the reload that follows is plumbing, folded.
    expect(drift.changes.map((c) => `${c.kind}/${c.name}${c.supporting ? ' (supporting)' : ''}: ${c.fields.map((f) => (f.sensitive ? `${f.path} (changed)` : f.path)).join(',')}`)).toEqual([
      'Extension/ext-200: spec.secret (changed)',
      'Reload/res_pjsip (supporting): running',
    ]);
    expect(drift.changes[0]!.wire).toEqual([{ path: 'pjsip:auth[200-auth].password', before: '(sensitive)', after: '(sensitive)', sensitive: true, from: 'spec.secret' }]);
    expect(JSON.stringify(drift)).not.toContain('hacked');
    const r = await apply(desired());
    expect(r.status).toBe('applied');
    expect(pbx.read('pjsip_custom.conf')).not.toContain('hacked');
    expect((await planOnly(desired())).changes).toEqual([]);
  });

  it('reloads, and only reloads, a file that was changed on disk but not reloaded', async () => {
    await apply(desired());
    const good = pbx.read('pjsip_custom.conf');
    // Someone removes 4000 and reloads, then puts the file back without reloading: disk and running now differ.
    pbx.write('pjsip_custom.conf', good.replace(/\[4000\][\s\S]*?(?=\[4000-auth\])/, ''));
    pbx.emulator.reload('res_pjsip');
    expect(endpointLoaded('4000')).toBe(false);
    pbx.write('pjsip_custom.conf', good);
    const p = await planOnly(desired());
    // The extension drifted in what runs; nothing is written, the reload (folded) brings it back.
    expect(p.changes.map((c) => `${c.kind}/${c.name}${c.supporting ? ' (supporting)' : ''}: ${c.reason}`)).toEqual([
      'Extension/ext-4000: the file is as Git says but the running PBX is not (endpoint 4000 is in pjsip_custom.conf but not loaded): reloading res_pjsip applies it',
      'Reload/res_pjsip (supporting): what Asterisk runs differs from pjsip_custom.conf: endpoint 4000 is in pjsip_custom.conf but not loaded',
    ]);
    expect(payloadOf(p.changes[0] as AsteriskChange).groups).toEqual([]);
    const before = writes();
    const r = await apply(desired());
    expect(r.status).toBe('applied');
    expect(writes()).toEqual({ update: before.update, reload: before.reload + 1 });
    expect(endpointLoaded('4000')).toBe(true);
  });

  it('recreates an owned section deleted by hand', async () => {
    await apply(desired());
    const admin = await pbx.admin();
    await admin.action('UpdateConfig', [['SrcFilename', 'confbridge_custom.conf'], ['DstFilename', 'confbridge_custom.conf'], ['Action-000000', 'DelCat'], ['Cat-000000', 'reunion-leader']]);
    const p = await planOnly(desired());
    expect(p.changes.map((c) => `${c.action} ${c.kind}/${c.name}: ${c.reason}`)).toEqual([
      'update Conference/reunion: [reunion-leader] is missing from confbridge_custom.conf',
      'update Reload/app_confbridge: 1 change(s) write confbridge_custom.conf',
    ]);
    await apply(desired());
    pbx.emulator.dial('25*', 'from-internal', { pin: '90210' });
  });

  it('reports an unowned section with a desired name as a conflict and leaves it alone, or adopts it on request', async () => {
    pbx.write('pjsip_custom.conf', `${pbx.read('pjsip_custom.conf')}\n[201]\ntype=aor\nmax_contacts=5\n`);
    pbx.emulator.reload('res_pjsip');
    const r = await apply(desired());
    expect(r.conflicts.map((c) => `${c.kind}/${c.name}`)).toEqual(['Extension/ext-201']);
    // Everything else was applied, and the pass still fails: ext-201 is out of service.
    expect([r.status, r.error?.code]).toEqual(['failed', 'conflict']);
    expect(endpointLoaded('200')).toBe(true);
    expect(r.conflicts[0]!.message).toContain('[201] in pjsip_custom.conf');
    expect(pbx.read('pjsip_custom.conf')).toMatch(/\[201\]\nmax_contacts = 5|\[201\]\ntype = aor\nmax_contacts = 5/);
    const adopted = await apply(desired(), policy({ adopt: ['Extension/ext-201'] }));
    expect(adopted.status).toBe('applied');
    expect(adopted.conflicts).toEqual([]);
    expect(endpointLoaded('201')).toBe(true);
    expect((await planOnly(desired())).changes).toEqual([]);
  });

  it('refuses a number whose endpoint the GUI already runs from another file', async () => {
    const r = await planOnly(state({ extensions: [ext('ext-100', '100')] }));
    expect(r.changes).toEqual([]);
    expect(r.conflicts[0]?.message).toMatch(/endpoint 100, \[100-auth\] \(used by endpoint 100\) is already running but defined outside pjsip_custom.conf/);
  });

  it('escapes config metacharacters: ; and [ in a caller name survive the file round trip', async () => {
    const d = state({ extensions: [ext('ext-200', '200', { callerIdName: 'Salle [A]; nuit' })] });
    expect((await apply(d)).status).toBe('applied');
    expect(pbx.read('pjsip_custom.conf')).toContain('callerid = "Salle [A]\\; nuit" <200>');
    expect((await planOnly(d)).changes).toEqual([]);
  });

  it('rejects CR/LF in a value reaching the client before anything is sent, and the change fails', async () => {
    const before = writes();
    const commands = pbx.emulator.stats.actions['Command'] ?? 0;
    const forged = {
      system: 'asterisk',
      conflicts: [],
      ownedCount: 0,
      changes: [
        {
          system: 'asterisk', kind: 'Extension', name: 'ext-evil', action: 'create', fields: [], reason: 'forged', rank: 2,
          payload: {
            groups: [{ role: 'pjsip', ops: [{ op: 'NewCat', cat: 'evil' }, { op: 'Append', cat: 'evil', var: 'callerid', value: 'x\r\n\r\nAction: Command\r\nCommand: core stop now' }] }],
            expect: {},
          } satisfies AsteriskPayload,
        },
      ],
    } as unknown as GuardedPlan;
    const applied = await rec.apply(forged, signal());
    expect(applied).toHaveLength(1);
    expect(applied[0]!.ok).toBe(false);
    expect(applied[0]!.error).toMatch(/CR, LF or NUL/);
    expect(applied[0]!.error).not.toContain('core stop');
    expect(writes()).toEqual(before);
    expect(pbx.emulator.stats.actions['Command'] ?? 0).toBe(commands);
    // Validation upstream already refuses it: the planner never lets it reach a change.
    const p = await planOnly(state({ extensions: [ext('ext-200', '200', { callerIdName: 'x\nAction: Command' })] }));
    expect(p.changes).toEqual([]);
    expect(p.conflicts[0]?.message).toMatch(/control characters/);
  });

  it('fails the change, never green, when UpdateConfig is refused, and the next pass converges', async () => {
    const d = desired();
    const prepared = await planOnly(d);
    // The dialplan context disappears between plan and apply: the Appends into it are refused.
    const plan = { system: 'asterisk', changes: prepared.changes, conflicts: [], ownedCount: 0 } as unknown as GuardedPlan;
    const withoutContext = { ...plan, changes: plan.changes.filter((c) => c.kind !== 'Context') } as unknown as GuardedPlan;
    const applied = await rec.apply(withoutContext, signal());
    const failed = applied.filter((a) => !a.ok).map((a) => `${a.change.kind}/${a.change.name}`);
    expect(failed).toEqual(expect.arrayContaining(['Extension/ext-200', 'Conference/reunion']));
    expect(applied.find((a) => a.change.name === 'ext-200')!.error).toMatch(/UpdateConfig voicemail_custom.conf failed: Given category does not exist/);
    expect(applied.find((a) => a.change.name === 'ext-201')!.error).toMatch(/UpdateConfig extensions_custom.conf failed: Given category does not exist/);
    // Changes batched with the failing ones but sound on their own were retried alone and landed.
    expect(applied.find((a) => a.change.kind === 'ConfigFile')?.ok).toBe(true);
    const r = await apply(d);
    expect(r.status).toBe('applied');
    expect((await planOnly(d)).changes).toEqual([]);
  });

  it('a leaver (owner enabled: false) loses the SIP endpoint in the running PBX with pruning off, and the next apply writes nothing', async () => {
    const withOwner = (enabled: boolean): ResolvedState => {
      const d = desired();
      const owned = state({ extensions: [...d.resources.extensions.values()].map((e) => (e.metadata.name === 'ext-4000' ? { ...e, spec: { ...e.spec, owner: 'jmeyer' } } : e)), conferences: [...d.resources.conferences.values()], users: { jmeyer: enabled } });
      return { ...owned, secrets: d.secrets };
    };
    expect((await apply(withOwner(true))).error).toBeUndefined();
    expect(endpointLoaded('4000')).toBe(true);
    const left = await apply(withOwner(false));
    expect(left.error).toBeUndefined();
    expect(left.applied.find((a) => a.change.name === 'ext-4000')).toMatchObject({ ok: true, change: { action: 'disable', prune: false } });
    expect(endpointLoaded('4000')).toBe(false);
    expect(endpointLoaded('200')).toBe(true);
    const before = writes();
    // Only the message context nobody needs any more remains, held until pruning is on.
    expect((await apply(withOwner(false))).changes.map((c) => `${c.action} ${c.kind}/${c.name} prune=${c.prune}`)).toEqual(['delete Context/textmessage prune=true']);
    expect(writes()).toEqual(before);
    // Back in service: the endpoint returns.
    expect((await apply(withOwner(true))).error).toBeUndefined();
    expect(endpointLoaded('4000')).toBe(true);
  });

  it('survives the connection dropping in the middle of an apply: those changes fail, the next pass converges', async () => {
    let dropped = false;
    const r = await apply(desired(), policy(), {
      onApplied: () => {
        if (!dropped) {
          dropped = true;
          pbx.emulator.dropConnections();
        }
      },
    });
    expect(dropped).toBe(true);
    expect(r.status).toBe('failed');
    expect(r.applied.some((a) => !a.ok && /next pass/.test(a.error ?? ''))).toBe(true);
    // The changes of the UpdateConfig in flight fail (it may have been saved); nothing after it is sent.
    expectHaltedAfterLoss(r.applied, r.changes.length, 4);
    expect(r.error?.message).toMatch(/not attempted: AMI connection .* was closed/);
    const again = await apply(desired());
    expect(again.applied.filter((a) => !a.ok).map((a) => a.error)).toEqual([]);
    expect(again.error).toBeUndefined();
    expect(again.status).toBe('applied');
    expect(again.verify).toEqual([]);
    const final = await planOnly(desired());
    expect(final.changes).toEqual([]);
    for (const n of ['200', '201', '4000']) expect(endpointLoaded(n)).toBe(true);
  });

  it('writes no secret to its logs, its plan or its errors', async () => {
    let logged = '';
    const logger = createLogger({ level: 'trace', destination: new Writable({ write: (chunk, _enc, done) => ((logged += String(chunk)), done()) }) });
    const logging = new AsteriskReconciler(pbx.settings, { logger });
    const r = await runPass(logging, desired(), policy(), { mode: 'apply', revision: 'r', logger });
    expect(r.status).toBe('applied');
    const admin = await pbx.admin();
    await admin.action('UpdateConfig', [['SrcFilename', 'voicemail_custom.conf'], ['DstFilename', 'voicemail_custom.conf'], ['Action-000000', 'DelCat'], ['Cat-000000', 'default']]);
    const again = await runPass(logging, desired(), policy(), { mode: 'apply', revision: 'r', logger });
    await logging.close();
    expect(logged).toContain('apply.done');
    const everything = logged + JSON.stringify(r) + JSON.stringify(again);
    // Clocks and durations are digits too: a timestamp may contain a 4-digit PIN by chance.
    const text = everything.replace(/"(time|ms|durationMs|startedAt|observedAt)":("[^"]*"|\d+)/g, '');
    for (const s of ['Sip-200-Secret', 'Sip-4000-Secret', '200200', '400040', '4711', '90210', '2626', 'amipass']) expect(text).not.toContain(s);
  });

  it('maps a refused login to AuthenticationError and a closed port to TargetUnavailableError', async () => {
    const bad = pbx.reconciler({ secret: new Secret('wrong', 'env', 'x') });
    await expect(bad.observe(signal())).rejects.toBeInstanceOf(AuthenticationError);
    const failed = await planOnly(desired()).then(() => runPass(bad, desired(), policy(), { mode: 'plan', revision: 'r' }));
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('authentication-failed');
    expect(failed.error?.message).not.toContain('wrong');
    const closed = pbx.reconciler({ port: 1 });
    await expect(closed.observe(signal())).rejects.toBeInstanceOf(TargetUnavailableError);
  });
});

describe('the asterisk system built from configuration', () => {
  it('maps the asterisk config section onto the reconciler settings', async () => {
    const config = configSchema.parse({
      systems: { asterisk: { host: '127.0.0.1', port: 5039, username: 'infrasec', secret: 'amipass', voicemailContext: 'cod', transports: { wss: '0.0.0.0-wss' }, files: { voicemail: 'vm_infrasec.conf' } } },
    });
    const { reconcilers } = await buildSystems(config, { fingerprints: new MemoryFingerprintStore(), logger: silentLogger }, ['asterisk']);
    const r = reconcilers.get('asterisk');
    expect(r).toBeInstanceOf(AsteriskReconciler);
    const s = (r as unknown as AsteriskReconciler).settings;
    expect({ host: s.host, port: s.port, username: s.username, secret: String(s.secret) }).toEqual({ host: '127.0.0.1', port: 5039, username: 'infrasec', secret: '(sensitive)' });
    expect(s.layout).toMatchObject({
      context: 'infrasec-internal', includeFrom: 'from-internal-custom', voicemailConf: 'voicemail.conf', endpointContext: 'from-internal', messageContext: 'textmessage', voicemailContext: 'cod',
      transports: { wss: '0.0.0.0-wss' }, files: { pjsip: 'pjsip_custom.conf', voicemail: 'vm_infrasec.conf' },
    });
  });
});

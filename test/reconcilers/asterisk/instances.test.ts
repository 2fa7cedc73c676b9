// Integration: several controller instances on one PBX (AMI emulator), and the takeover of what an earlier version wrote without an instance.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config.ts';
import type { ResolvedState } from '../../../src/desired/model.ts';
import { buildSystems } from '../../../src/engine/systems.ts';
import { runPass } from '../../../src/engine/pass.ts';
import { DEFAULT_POLICY, type Policy } from '../../../src/engine/types.ts';
import { silentLogger } from '../../../src/log.ts';
import type { AsteriskReconciler } from '../../../src/reconcilers/asterisk/reconciler.ts';
import { MemoryFingerprintStore } from '../../../src/state/fingerprints.ts';
import { conf, ext, state } from './desired-builder.ts';
import { type Pbx, startPbx } from './pbx-fixture.ts';

const policy = (over: Partial<Policy> = {}): Policy => ({ ...DEFAULT_POLICY, deletionThreshold: { count: 50, percent: 100 }, ...over });
const vm = (email: string) => ({ enabled: true, pin: { generate: true } as const, email, attach: true });

/** The first controller: the default instance with the default contexts. */
const main = (over: { without?: string[]; many?: boolean } = {}): ResolvedState =>
  state({
    extensions: [
      ext('ext-200', '200', { callerIdName: 'Direction COD', voicemail: vm('direction@cod67.example.fr') }),
      ext('ext-201', '201', { callerIdName: 'Main courante', webrtc: true }),
      // Enough dialplan lines that copying [infrasec-internal] takes more than one UpdateConfig (128 header lines).
      ...(over.many ? Array.from({ length: 20 }, (_, i) => ext(`ext-${210 + i}`, String(210 + i))) : []),
    ].filter((e) => !(over.without ?? []).includes(e.metadata.name)),
    conferences: [conf('reunion', '25', { userPin: { generate: true } })],
    secrets: { 'Extension/ext-200#voicemail.pin': '200200', 'Conference/reunion#userPin': '4711' },
  });

/** A second controller on the same PBX (staging): its own contexts, the same four files. */
const STAGING = { instance: 'staging', context: 'infrasec-staging', messageContext: 'textmessage-staging', voicemailContext: 'staging' };
const staging = (over: { also200?: boolean } = {}): ResolvedState =>
  state({
    extensions: [
      ext('ext-300', '300', { callerIdName: 'Essai', webrtc: true, voicemail: vm('essai@cod67.example.fr') }),
      ...(over.also200 ? [ext('ext-200', '200')] : []),
    ],
    conferences: [conf('essai', '35', { userPin: { generate: true } })],
    secrets: { 'Extension/ext-300#voicemail.pin': '300300', 'Conference/essai#userPin': '3535' },
  });

let pbx: Pbx;
beforeAll(async () => {
  pbx = await startPbx();
});
afterAll(async () => {
  await pbx.close();
});
beforeEach(() => {
  pbx.reset();
});

/** What the emulator itself counts as writes: UpdateConfig, CreateConfig, Reload. */
const writes = () => Object.fromEntries(['UpdateConfig', 'CreateConfig', 'Reload'].map((a) => [a, pbx.emulator.stats.actions[a] ?? 0]));
const apply = (r: AsteriskReconciler, d: ResolvedState, p: Policy = policy()) => runPass(r, d, p, { mode: 'apply', revision: 'r' });
const plan = (r: AsteriskReconciler, d: ResolvedState, p: Policy = policy()) => runPass(r, d, p, { mode: 'plan', revision: 'r' });
const keys = async (r: AsteriskReconciler) => [...(await r.observe(new AbortController().signal)).objects.keys()].sort();
const lines = (c: { action: string; kind: string; name: string }) => `${c.action} ${c.kind}/${c.name}`;

describe('two instances on one PBX', () => {
  it('each writes under its own template, sees only its own, and a second apply of each makes no write', async () => {
    const a = pbx.reconciler();
    const b = pbx.reconciler(STAGING);
    const first = await apply(a, main());
    expect(first.error).toBeUndefined();
    const second = await apply(b, staging());
    expect(second.error).toBeUndefined();
    expect(second.verify).toEqual([]);
    // The first instance's config is as it left it: the second one's plan had nothing of it.
    expect(second.changes.filter((c) => ['Extension', 'Conference'].includes(c.kind)).map(lines)).toEqual(['create Extension/ext-300', 'create Conference/essai']);

    expect(await keys(a)).toEqual(['conf:reunion', 'ext:200', 'ext:201']);
    expect(await keys(b)).toEqual(['conf:essai', 'ext:300']);
    const pjsip = pbx.read('pjsip_custom.conf');
    expect(pjsip).toMatch(/^\[200\]\(infrasec-managed-default\)$/m);
    expect(pjsip).toMatch(/^\[300\]\(infrasec-managed-staging\)$/m);
    expect(pjsip).toMatch(/^\[infrasec-managed-default\]\(!\)$/m);
    expect(pjsip).toMatch(/^\[infrasec-managed-staging\]\(!\)$/m);
    // Each has its own contexts and its own include line in the admin's context; both numbers are reached.
    expect(pbx.read('extensions_custom.conf')).toMatch(/include => infrasec-internal\ninclude => infrasec-staging\n/);
    expect(pbx.read('voicemail_custom.conf')).toMatch(/\[staging\]\(infrasec-managed-staging\)\n300 => 300300,Essai/);
    pbx.emulator.dial('25', 'from-internal', { pin: '4711' });
    pbx.emulator.dial('35', 'from-internal', { pin: '3535' });

    const before = writes();
    const againA = await apply(a, main());
    const againB = await apply(b, staging());
    expect([againA.status, againB.status]).toEqual(['in-sync', 'in-sync']);
    expect(writes()).toEqual(before);
  });

  it("another instance's section is a conflict naming it, never written, not even with adopt or prune", async () => {
    const a = pbx.reconciler();
    const b = pbx.reconciler(STAGING);
    await apply(a, main());
    await apply(b, staging());
    const pjsip = pbx.read('pjsip_custom.conf');
    const r = await apply(b, staging({ also200: true }), policy({ adopt: ['*'], prune: true }));
    expect(r.conflicts.map((c) => `${c.kind}/${c.name}: ${c.message}`)).toContainEqual(expect.stringMatching(/^Extension\/ext-200: \[200\] in pjsip_custom.conf.* belong\(s\) to infrasec instance "default" and are never changed by instance "staging"/));
    expect(r.changes.filter((c) => c.name === 'ext-200')).toEqual([]);
    expect(pbx.read('pjsip_custom.conf')).toBe(pjsip);
    // Pruning everything of its own leaves the other instance's config whole.
    const empty = await apply(b, state({}), policy({ prune: true }));
    expect(empty.error).toBeUndefined();
    expect(await keys(b)).toEqual([]);
    expect(await keys(a)).toEqual(['conf:reunion', 'ext:200', 'ext:201']);
    expect((await plan(a, main())).status).toBe('in-sync');
  });

  it('a context held by another instance is a blocking conflict naming it and the setting to change', async () => {
    const a = pbx.reconciler();
    await apply(a, main());
    const clash = pbx.reconciler({ ...STAGING, context: 'infrasec-internal' });
    const r = await plan(clash, staging());
    expect(r.status).toBe('failed');
    expect(r.conflicts.map((c) => c.message)).toContainEqual(expect.stringMatching(/^\[infrasec-internal\] in extensions_custom.conf belongs to infrasec instance "default"; instance "staging" never changes it. Set context to a context of this instance's own$/));
  });
});

describe('config written by an earlier version without an instance', () => {
  /** What the previous version left: the same config under the bare template. */
  const asEarlierVersion = () => {
    for (const f of ['pjsip_custom.conf', 'extensions_custom.conf', 'confbridge_custom.conf', 'voicemail_custom.conf']) pbx.write(f, pbx.read(f).replaceAll('infrasec-managed-default', 'infrasec-managed'));
  };

  it('is taken over by the instance whose context holds its dialplan, with a note, and then needs no write', async () => {
    const a = pbx.reconciler();
    expect((await apply(a, main({ many: true }))).verify).toEqual([]);
    asEarlierVersion();
    // ext-201 left Git while pruning was off: still there, and taken over too (held, not lost).
    const planned = await plan(a, main({ without: ['ext-201'], many: true }));
    const note = planned.conflicts.find((c) => c.kind === 'Instance');
    expect(note).toMatchObject({ advisory: true, name: 'default' });
    expect(note!.message).toMatch(/section\(s\) written by an earlier infrasec without an instance; taken over by instance "default" as its dialplan lies in \[infrasec-internal\], this instance's context/);
    expect(note!.message).toContain('[201] in pjsip_custom.conf');
    expect(planned.status).toBe('changes');
    const context = planned.changes.find((c) => c.kind === 'Context' && c.name === 'infrasec-internal')!;
    expect(context.reason).toMatch(/^\[infrasec-internal\] in extensions_custom.conf \(\d+ line\(s\), kept as they are\) was written by an earlier infrasec/);
    expect(context.fields).toEqual([{ path: 'extensions:[infrasec-internal]', before: '(infrasec-managed)', after: '(infrasec-managed-default)' }]);

    const updates = writes()['UpdateConfig']!;
    const r = await apply(a, main({ without: ['ext-201'], many: true }));
    expect(r.error).toBeUndefined();
    expect(writes()['UpdateConfig']! - updates).toBeGreaterThan(4);
    expect(r.verify).toEqual([]);
    expect(r.held.map((h) => lines(h.change))).toContain('delete Extension/ext-201');
    const ext = pbx.read('extensions_custom.conf');
    expect(ext).toMatch(/^\[infrasec-internal\]\(infrasec-managed-default\)$/m);
    // Every dialplan line survived the copy, the held extension's included.
    expect(ext).toMatch(/exten => 201,hint,PJSIP\/201/);
    expect(ext.match(/^exten => 2[0-9]{2},hint,/gm)).toHaveLength(22);
    expect(ext).not.toContain('infrasec-tmp-');
    expect(pbx.read('voicemail_custom.conf')).toMatch(/\[default\]\(infrasec-managed-default\)\n200 => 200200/);
    expect(pbx.read('pjsip_custom.conf')).toMatch(/^\[200\]\(infrasec-managed-default\)$/m);
    // The held one keeps the earlier template until pruned, still owned.
    expect(pbx.read('pjsip_custom.conf')).toMatch(/^\[201\]\(infrasec-managed\)$/m);
    expect(await keys(a)).toEqual(expect.arrayContaining(['conf:reunion', 'ext:200', 'ext:201', 'ext:229']));
    pbx.emulator.dial('25', 'from-internal', { pin: '4711' });

    const before = writes();
    const again = await apply(a, main({ without: ['ext-201'], many: true }));
    // Held for pruning: ext-201 and the message context only it used.
    expect(again.changes.map(lines)).toEqual(['delete Extension/ext-201', 'delete Context/textmessage']);
    expect(writes()).toEqual(before);
    const pruned = await apply(a, main({ without: ['ext-201'], many: true }), policy({ prune: true }));
    expect(pruned.error).toBeUndefined();
    expect(pbx.read('pjsip_custom.conf')).not.toMatch(/^\[201\]/m);
    expect((await plan(a, main({ without: ['ext-201'], many: true }))).conflicts).toEqual([]);
  });

  it('a takeover cut off in the middle of the copy loses no line: the earlier context stays whole and the next pass finishes', async () => {
    const a = pbx.reconciler();
    expect((await apply(a, main({ many: true }))).verify).toEqual([]);
    asEarlierVersion();
    const hints = (text: string) => text.match(/^exten => 2[0-9]{2},hint,/gm)?.length ?? 0;
    expect(hints(pbx.read('extensions_custom.conf'))).toBe(22);

    // The connection drops at the first UpdateConfig sent while the copy is half built (the temporary context exists).
    const actions = pbx.emulator.stats.actions as Record<string, number>;
    let updates = actions['UpdateConfig'] ?? 0;
    let cut = false;
    Object.defineProperty(actions, 'UpdateConfig', {
      configurable: true, enumerable: true,
      get: () => updates,
      set: (n: number) => {
        updates = n;
        if (!cut && pbx.read('extensions_custom.conf').includes('[infrasec-tmp-infrasec-internal]')) {
          cut = true;
          pbx.emulator.dropConnections();
        }
      },
    });
    try {
      const broken = await apply(a, main({ many: true }));
      expect(cut).toBe(true);
      expect(broken.status).toBe('failed');
    } finally {
      Object.defineProperty(actions, 'UpdateConfig', { configurable: true, enumerable: true, writable: true, value: updates });
    }
    // What the cut left: the earlier context whole, and a partial copy beside it.
    const left = pbx.read('extensions_custom.conf');
    expect(left).toMatch(/^\[infrasec-internal\]\(infrasec-managed\)$/m);
    expect(left).toContain('[infrasec-tmp-infrasec-internal]');
    const earlier = left.split(/\n(?=\[)/).find((section) => section.startsWith('[infrasec-internal]'))!;
    expect(hints(earlier)).toBe(22);
    const partial = left.split(/\n(?=\[)/).find((section) => section.startsWith('[infrasec-tmp-infrasec-internal]'))!;
    expect(hints(partial)).toBeLessThan(22);

    // The next pass rebuilds the copy from scratch and swaps it in: every line there, no temporary section left.
    const healed = await apply(a, main({ many: true }));
    expect(healed.error).toBeUndefined();
    expect(healed.verify).toEqual([]);
    const ext = pbx.read('extensions_custom.conf');
    expect(ext).toMatch(/^\[infrasec-internal\]\(infrasec-managed-default\)$/m);
    expect(ext).not.toContain('infrasec-tmp-');
    expect(hints(ext)).toBe(22);
    pbx.emulator.dial('25', 'from-internal', { pin: '4711' });
    const before = writes();
    expect((await apply(a, main({ many: true }))).status).toBe('in-sync');
    expect(writes()).toEqual(before);
  });

  it('is not taken over by another instance: a conflict it may adopt explicitly, and untouched otherwise', async () => {
    const a = pbx.reconciler();
    await apply(a, main());
    asEarlierVersion();
    const b = pbx.reconciler(STAGING);
    // The files as the earlier version left them, without UpdateConfig's header and what the staging instance adds.
    const earlier = (f: string) => pbx.read(f).split(/\n(?=\[)/).filter((s) => !/^;!|^\[infrasec-managed-staging\]|^\[[^\]]+\]\(infrasec-managed-staging\)/.test(s)).join('\n').trimEnd();
    const files = ['pjsip_custom.conf', 'confbridge_custom.conf'].map(earlier);
    const r = await apply(b, staging({ also200: true }));
    expect(r.conflicts.map((c) => `${c.kind}/${c.name}: ${c.message}`)).toContainEqual(
      expect.stringMatching(/^Extension\/ext-200: \[200\] in pjsip_custom.conf.* exist\(s\) and were written by an earlier infrasec without an instance \(outside this instance's scope.*add Extension\/ext-200 to policy.adopt/),
    );
    expect(r.conflicts.some((c) => c.kind === 'Instance')).toBe(false);
    expect(['pjsip_custom.conf', 'confbridge_custom.conf'].map(earlier)).toEqual(files);
    expect(pbx.read('extensions_custom.conf')).toMatch(/^\[infrasec-internal\]\(infrasec-managed\)$/m);
    expect(await keys(b)).toEqual(['conf:essai', 'ext:300']);
  });
});

describe('the instance name from infrasec.yaml', () => {
  const build = async (raw: Record<string, unknown>) => {
    const config = configSchema.parse(raw);
    const { reconcilers } = await buildSystems(config, { fingerprints: new MemoryFingerprintStore(), logger: silentLogger }, ['asterisk']);
    return reconcilers.get('asterisk') as AsteriskReconciler;
  };
  const section = () => ({ host: '127.0.0.1', port: pbx.emulator.port, username: 'admin', secret: 'amipass', transports: { udp: 'transport-udp', wss: 'transport-wss' } });

  it('the controller-wide instance names the template; systems.asterisk.instance overrides it', async () => {
    const wide = await build({ instance: 'cod67', systems: { asterisk: section() } });
    try {
      expect((await apply(wide, main())).error).toBeUndefined();
      expect(pbx.read('pjsip_custom.conf')).toMatch(/^\[200\]\(infrasec-managed-cod67\)$/m);
    } finally {
      await wide.close();
    }
    pbx.reset();
    const own = await build({ instance: 'cod67', systems: { asterisk: { ...section(), instance: 'pbx1' } } });
    try {
      expect((await apply(own, main())).error).toBeUndefined();
      expect(pbx.read('pjsip_custom.conf')).toMatch(/^\[200\]\(infrasec-managed-pbx1\)$/m);
    } finally {
      await own.close();
    }
  });
});

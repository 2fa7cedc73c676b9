// GetConfig answers mapped to sections and grouped under desired identities; observe's reads counted on the emulator.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../../src/desired/secret.ts';
import { AmiClient, AmiMessage } from '../../../src/reconcilers/asterisk/client.ts';
import { type FileRole, type LiveFile, revealValue } from '../../../src/reconcilers/asterisk/model.ts';
import { groupOwned, includeLink, observeAsterisk, parseGetConfig, voicemailRoot } from '../../../src/reconcilers/asterisk/observe.ts';
import { startAmiEmulator } from '../../emulators/asterisk/index.ts';
import { layout, OWNERSHIP_TEMPLATE, section, TEMPLATE } from './desired-builder.ts';

const msg = (lines: Array<[string, string]>) => new AmiMessage([['Response', 'Success'], ['ActionID', 'g'], ...lines], []);
const files = (per: Partial<Record<FileRole, LiveFile['sections']>>): Record<FileRole, LiveFile> => {
  const out = {} as Record<FileRole, LiveFile>;
  for (const role of ['pjsip', 'confbridge', 'voicemail', 'extensions'] as const) {
    const sections = per[role] ?? [];
    out[role] = { role, file: layout.files[role], exists: true, sections, hasTemplate: sections.some((s) => s.isTemplate) };
  }
  return out;
};

describe('parseGetConfig', () => {
  it('reads categories, templates and lines in order, and wraps passwords at once', () => {
    const sections = parseGetConfig(
      msg([
        ['Category-000000', OWNERSHIP_TEMPLATE], ['IsTemplate-000000', '1'],
        ['Category-000001', '200-auth'], ['Templates-000001', OWNERSHIP_TEMPLATE],
        ['Line-000001-000000', 'type=auth'], ['Line-000001-000001', 'password=s3cr=et;x'],
      ]),
      'pjsip',
    );
    expect(sections.map((s) => [s.name, s.isTemplate, s.templates])).toEqual([[OWNERSHIP_TEMPLATE, true, []], ['200-auth', false, [OWNERSHIP_TEMPLATE]]]);
    const pw = sections[1]!.vars[1]!;
    expect(pw.value).toBeInstanceOf(Secret);
    expect(revealValue(pw.value)).toBe('s3cr=et;x');
    expect(JSON.stringify(sections)).not.toContain('s3cr');
  });

  it('splits a mailbox line so the PIN is a secret part and the rest stays readable', () => {
    const [ctx] = parseGetConfig(msg([['Category-000000', 'infrasec'], ['Line-000000-000000', '200=123456,Poste 200,a@b.fr,,attach=yes']]), 'voicemail');
    expect(JSON.stringify(ctx!.vars[0]!.value)).toBe('["(sensitive)",",Poste 200,a@b.fr,,attach=yes"]');
  });
});

describe('groupOwned', () => {
  it('groups pjsip sections by number and confbridge profiles by conference; leaves unowned sections out', () => {
    const g = groupOwned(
      files({
        pjsip: [TEMPLATE, section('200', [['type', 'endpoint']]), section('200', [['type', 'aor']]), section('200-auth', [['type', 'auth']]), section('trunk', [['type', 'aor']], false), section('odd', [['type', 'endpoint'], ['x', 'y']])],
        confbridge: [TEMPLATE, section('reunion-bridge', [['type', 'bridge']]), section('reunion-leader', [['type', 'user']])],
      }),
      layout,
    );
    expect([...g.objects.keys()].sort()).toEqual(['conf:reunion', 'ext:200']);
    expect(g.objects.get('ext:200')!.sections.map((s) => `${s.name}/${s.type}`)).toEqual(['200/endpoint', '200/aor', '200-auth/auth']);
    expect(g.strays.sections.map((s) => s.name)).toEqual(['odd']);
  });

  it('gives dialplan numbers entering a conference to that conference, with its leader entry, and reads the label', () => {
    const g = groupOwned(
      files({
        extensions: [
          TEMPLATE,
          section('infrasec-internal', [
            ['exten', '25,1(reunion),Answer()'], ['exten', '25,2,ConfBridge(25,reunion-bridge,reunion-user)'], ['exten', '25*,2,ConfBridge(25,reunion-bridge,reunion-leader)'],
            ['exten', '200,1(ext-200),Dial(PJSIP/200,25)'], ['same', 'n,Hangup()'],
          ]),
          section('textmessage', [['exten', '200,1,MessageSend(pjsip:200,${MESSAGE(from)})']]),
        ],
      }),
      layout,
    );
    expect(g.objects.get('conf:reunion')!.lines).toHaveLength(3);
    expect(g.objects.get('conf:reunion')!.label).toBe('reunion');
    expect(g.objects.get('ext:200')!.label).toBe('ext-200');
    expect(g.objects.get('ext:200')!.lines.map((l) => l.category)).toEqual(['infrasec-internal', 'textmessage']);
    expect(g.strays.lines.map((l) => `${l.var} => ${l.value as string}`)).toEqual(['same => n,Hangup()']);
    expect(g.containers.get('extensions/infrasec-internal')).toBe('owned');
  });

  it('tells missing, unowned and duplicated contexts apart, and reads no lines from them', () => {
    const g = groupOwned(files({ extensions: [section('infrasec-internal', [['exten', '999,1,Hangup()']], false)], voicemail: [TEMPLATE, section('default', []), section('default', [])] }), layout);
    expect(g.containers.get('extensions/infrasec-internal')).toBe('unowned');
    expect(g.containers.get('extensions/textmessage')).toBe('missing');
    expect(g.containers.get('voicemail/default')).toBe('duplicate');
    expect(g.objects.size).toBe(0);
  });

  it('leaves an [from-internal-custom] an earlier version owned out of the strays: plan gives it back with the include line', () => {
    const f = files({ extensions: [TEMPLATE, section('from-internal-custom', [['exten', '200,1(ext-200),Dial(PJSIP/200,25)']])] });
    const g = groupOwned(f, layout);
    expect(g.strays.sections).toEqual([]);
    expect(g.objects.size).toBe(0);
    expect(includeLink(f.extensions, layout)).toEqual({ state: 'owned', categories: 1, includes: [0] });
  });

  it('counts infrasec\'s include line in each [from-internal-custom], the admin\'s lines aside', () => {
    const f = files({ extensions: [section('from-internal-custom', [['exten', '1234,1,Hangup()'], ['include', 'custom-recordme'], ['include', 'infrasec-internal']], false), section('from-internal-custom', [], false)] });
    expect(includeLink(f.extensions, layout)).toEqual({ state: 'unowned', categories: 2, includes: [1, 0] });
    expect(includeLink(files({}).extensions, layout)).toEqual({ state: 'missing', categories: 0, includes: [] });
  });

  it('sees through voicemail.conf whether infrasec\'s file is #included, and which mailboxes of [default] are the GUI\'s', () => {
    const own = files({ voicemail: [TEMPLATE, section('default', [['200', '1234,Poste,,,']])] }).voicemail;
    const gui = section('default', [['100', '4321,Accueil,,,'], ['101', '1111,Bureau,,,']], false);
    const included = { ...own, file: 'voicemail.conf', sections: [section('general', [['format', 'wav']], false), gui, ...own.sections], hasTemplate: true };
    expect(voicemailRoot(included, own, layout)).toEqual({ file: 'voicemail.conf', exists: true, includesOwned: true, foreignMailboxes: new Set(['100', '101']) });
    const alone = { ...included, sections: [gui], hasTemplate: false };
    expect(voicemailRoot(alone, own, layout).includesOwned).toBe(false);
    // Before infrasec wrote its file there is nothing to recognise it by.
    expect(voicemailRoot(alone, files({}).voicemail, layout).includesOwned).toBeUndefined();
  });

  it('does not count variables an admin put into the ownership template as the sections\' own', () => {
    const template = { ...TEMPLATE, vars: [{ name: 'language', value: 'fr' }] };
    const g = groupOwned(files({ pjsip: [template, section('200', [['language', 'fr'], ['type', 'aor'], ['max_contacts', '1']])] }), layout);
    expect(g.objects.get('ext:200')!.sections[0]!.vars.map((v) => v.name)).toEqual(['type', 'max_contacts']);
  });
});

describe('observeAsterisk over AMI', () => {
  it('reads each file once and the voicemail file Asterisk loads, then what Asterisk runs for the owned objects (secrets as fingerprints only)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infrasec-observe-'));
    writeFileSync(join(dir, 'pjsip.conf'), '#include pjsip_custom.conf\n');
    writeFileSync(join(dir, 'pjsip_custom.conf'), `[${OWNERSHIP_TEMPLATE}](!)\n[300](${OWNERSHIP_TEMPLATE})\ntype=endpoint\naors=300\nauth=300-auth\ncallerid="Poste" <300>\n[300-auth](${OWNERSHIP_TEMPLATE})\ntype=auth\nusername=300\npassword=Running-Secret-300\n[300](${OWNERSHIP_TEMPLATE})\ntype=aor\nmax_contacts=1\n`);
    writeFileSync(join(dir, 'voicemail.conf'), '[general]\n[default]\n100 => 4321,Accueil,,,\n#tryinclude voicemail_custom.conf\n');
    writeFileSync(join(dir, 'voicemail_custom.conf'), `[${OWNERSHIP_TEMPLATE}](!)\n[default](${OWNERSHIP_TEMPLATE})\n300 => 1234,Poste,,,\n`);
    writeFileSync(join(dir, 'extensions.conf'), '[from-internal]\ninclude => from-internal-custom\n#include extensions_custom.conf\n');
    writeFileSync(join(dir, 'extensions_custom.conf'), `[from-internal-custom]\nexten => 1234,1,Hangup()\ninclude => infrasec-internal\n[${OWNERSHIP_TEMPLATE}](!)\n[infrasec-internal](${OWNERSHIP_TEMPLATE})\nexten => 300,1(ext-300),Dial(PJSIP/300,25)\n`);
    const emu = await startAmiEmulator({ configDir: dir });
    const client = new AmiClient({ host: '127.0.0.1', port: emu.port, username: 'admin', secret: new Secret('amipass', 'env', 't'), timeoutMs: 3000 });
    try {
      const live = await observeAsterisk({ client, layout, pendingReloads: () => new Set(['pbx_config']), now: () => new Date(0) }, new AbortController().signal);
      // Four files, voicemail.conf, then: the endpoint list and 300's details, the mailboxes, three contexts and where 300 is answered.
      expect(emu.stats.actions).toMatchObject({ GetConfig: 5, PJSIPShowEndpoints: 1, PJSIPShowEndpoint: 1, VoicemailUsersList: 1, ShowDialPlan: 4 });
      expect(live.files.confbridge.exists).toBe(false);
      expect(live.files.pjsip.hasTemplate).toBe(true);
      expect(live.objects.get('ext:300')?.sections).toHaveLength(3);
      expect(live.running.endpoints?.get('300')).toEqual({ name: '300', aor: '300', auths: '300-auth', transport: '' });
      expect(live.running.pjsip?.get('endpoint/300')?.get('callerid')).toBe('"Poste" <300>');
      expect(live.running.pjsip?.get('auth/300-auth')?.get('password')).toEqual({ fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(JSON.stringify([...(live.running.pjsip ?? new Map()).values()].map((m) => [...m]))).not.toContain('Running-Secret-300');
      expect(live.running.mailboxes?.get('300@default')).toMatchObject({ fullname: 'Poste' });
      expect(live.running.dialplan?.get('infrasec-internal')?.priorities).toEqual([{ exten: '300', priority: '1', label: 'ext-300', app: 'Dial', data: 'PJSIP/300,25' }]);
      expect(live.running.dialplan?.get('from-internal-custom')?.includes).toEqual(['infrasec-internal']);
      expect(live.running.dialplan?.get('textmessage')).toBeNull();
      expect(live.running.reach?.get('300')).toEqual({ answeredBy: 'infrasec-internal', reached: true });
      expect(live.link).toEqual({ state: 'unowned', categories: 1, includes: [1] });
      expect(live.voicemailRoot).toMatchObject({ file: 'voicemail.conf', includesOwned: true, foreignMailboxes: new Set(['100']) });
      expect(live.containers.get('voicemail/default')).toBe('owned');
      expect([...live.pendingReloads]).toEqual(['pbx_config']);
      expect(live.observedAt).toBe('1970-01-01T00:00:00.000Z');
    } finally {
      await client.close();
      await emu.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

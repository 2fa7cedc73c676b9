// GetConfig answers mapped to sections and grouped under desired identities; observe's reads counted on the emulator.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../../src/desired/secret.ts';
import { AmiClient, AmiMessage } from '../../../src/reconcilers/asterisk/client.ts';
import { type FileRole, type LiveFile, OWNERSHIP_TEMPLATE, revealValue } from '../../../src/reconcilers/asterisk/model.ts';
import { groupOwned, observeAsterisk, parseGetConfig } from '../../../src/reconcilers/asterisk/observe.ts';
import { startAmiEmulator } from '../../emulators/asterisk/index.ts';
import { layout, section, TEMPLATE } from './desired-builder.ts';

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
          section('from-internal-custom', [
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
    expect(g.objects.get('ext:200')!.lines.map((l) => l.category)).toEqual(['from-internal-custom', 'textmessage']);
    expect(g.strays.lines.map((l) => `${l.var} => ${l.value as string}`)).toEqual(['same => n,Hangup()']);
    expect(g.containers.get('extensions/from-internal-custom')).toBe('owned');
  });

  it('tells missing, unowned and duplicated contexts apart, and reads no lines from them', () => {
    const g = groupOwned(files({ extensions: [section('from-internal-custom', [['exten', '999,1,Hangup()']], false)], voicemail: [TEMPLATE, section('infrasec', []), section('infrasec', [])] }), layout);
    expect(g.containers.get('extensions/from-internal-custom')).toBe('unowned');
    expect(g.containers.get('extensions/textmessage')).toBe('missing');
    expect(g.containers.get('voicemail/infrasec')).toBe('duplicate');
    expect(g.objects.size).toBe(0);
  });

  it('does not count variables an admin put into the ownership template as the sections\' own', () => {
    const template = { ...TEMPLATE, vars: [{ name: 'language', value: 'fr' }] };
    const g = groupOwned(files({ pjsip: [template, section('200', [['language', 'fr'], ['type', 'aor'], ['max_contacts', '1']])] }), layout);
    expect(g.objects.get('ext:200')!.sections[0]!.vars.map((v) => v.name)).toEqual(['type', 'max_contacts']);
  });
});

describe('observeAsterisk over AMI', () => {
  it('reads each file once, reports a missing file as absent, and what res_pjsip and (when asked) app_voicemail run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infrasec-observe-'));
    writeFileSync(join(dir, 'pjsip.conf'), '#include pjsip_custom.conf\n');
    writeFileSync(join(dir, 'pjsip_custom.conf'), `[${OWNERSHIP_TEMPLATE}](!)\n[300](${OWNERSHIP_TEMPLATE})\ntype=endpoint\naors=300\nauth=300-auth\n`);
    writeFileSync(join(dir, 'voicemail.conf'), '[general]\n[infrasec]\n300 => 1234,Poste,,,\n');
    writeFileSync(join(dir, 'extensions_custom.conf'), '');
    const emu = await startAmiEmulator({ configDir: dir });
    const client = new AmiClient({ host: '127.0.0.1', port: emu.port, username: 'admin', secret: new Secret('amipass', 'env', 't'), timeoutMs: 3000 });
    try {
      const live = await observeAsterisk({ client, layout, pendingReloads: () => new Set(['pbx_config']), now: () => new Date(0), mailboxes: true }, new AbortController().signal);
      expect(emu.stats.actions).toMatchObject({ GetConfig: 4, PJSIPShowEndpoints: 1, VoicemailUsersList: 1 });
      expect(live.files.confbridge.exists).toBe(false);
      expect(live.files.pjsip.hasTemplate).toBe(true);
      expect(live.objects.get('ext:300')?.sections).toHaveLength(1);
      expect(live.running.endpoints?.get('300')).toEqual({ name: '300', aor: '300', auths: '300-auth', transport: '' });
      expect(live.running.mailboxes?.get('300@infrasec')).toMatchObject({ fullname: 'Poste' });
      expect(live.containers.get('voicemail/infrasec')).toBe('unowned');
      expect([...live.pendingReloads]).toEqual(['pbx_config']);
      expect(live.observedAt).toBe('1970-01-01T00:00:00.000Z');
    } finally {
      await client.close();
      await emu.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

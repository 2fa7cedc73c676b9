// Pure: what desired Extensions and Conferences become in pjsip, voicemail, confbridge and dialplan config; escaping and refusals.
import { describe, expect, it } from 'vitest';
import type { ResolvedState } from '../../../src/desired/model.ts';
import { callerIdDisplay, dialplanText, parseExten, renderConference, renderExtension, voicemailFullName } from '../../../src/reconcilers/asterisk/render.ts';
import { resolveAsteriskSettings } from '../../../src/reconcilers/asterisk/settings.ts';
import { conf, ext, layout, secret, state } from './desired-builder.ts';

const vmPin = { 'Extension/ext-200#voicemail.pin': '123456' };
const rendered = (d: ResolvedState, kind: 'ext' | 'conf', name: string) => {
  const r = kind === 'ext' ? renderExtension(d.resources.extensions.get(name)!, d.secrets, layout) : renderConference(d.resources.conferences.get(name)!, d.secrets, layout);
  if (!r.object) throw new Error(r.problems.join('; '));
  return r.object;
};
const varsOf = (o: ReturnType<typeof rendered>, name: string, type: string) =>
  o.sections.find((s) => s.name === name && s.type === type)!.vars.map((v) => `${v.name}=${typeof v.value === 'string' ? v.value : '(secret)'}`);

describe('renderExtension', () => {
  it('renders a softphone: endpoint with NAT settings and codecs, aor, auth, dialplan with a label naming the object', () => {
    const d = state({ extensions: [ext('ext-200', '200', { callerIdName: 'Direction COD', maxContacts: 1 })] });
    const o = rendered(d, 'ext', 'ext-200');
    expect(varsOf(o, '200', 'endpoint')).toEqual([
      'type=endpoint', 'context=from-internal', 'disallow=all', 'allow=g722,alaw,ulaw', 'dtmf_mode=rfc4733', 'auth=200-auth', 'aors=200',
      'callerid="Direction COD" <200>', 'direct_media=no', 'rtp_symmetric=yes', 'force_rport=yes', 'rewrite_contact=yes',
    ]);
    expect(varsOf(o, '200', 'aor')).toEqual(['type=aor', 'max_contacts=1', 'remove_existing=yes', 'qualify_frequency=60']);
    expect(varsOf(o, '200-auth', 'auth')).toEqual(['type=auth', 'auth_type=userpass', 'username=200', 'password=(secret)']);
    expect(o.lines.map((l) => `${l.category}: ${l.var} => ${l.value as string}`)).toEqual([
      'infrasec-internal: exten => 200,hint,PJSIP/200',
      'infrasec-internal: exten => 200,1(ext-200),Dial(PJSIP/200,25)',
      'infrasec-internal: exten => 200,2,Hangup()',
    ]);
  });

  it('writes the explicit DTLS/ICE/AVPF set instead of webrtc=yes when asked', () => {
    const explicit = resolveAsteriskSettings({ host: 'h', username: 'u', secret: secret('x'), webrtcOption: false, transports: { wss: 'transport-wss' } }).layout;
    const d = state({ extensions: [ext('ext-4000', '4000', { webrtc: true })] });
    const o = renderExtension(d.resources.extensions.get('ext-4000')!, d.secrets, explicit).object!;
    expect(varsOf(o, '4000', 'endpoint')).toEqual(expect.arrayContaining([
      'transport=transport-wss', 'use_avpf=yes', 'media_encryption=dtls', 'dtls_verify=fingerprint', 'dtls_setup=actpass', 'ice_support=yes',
      'media_use_received_transport=yes', 'rtcp_mux=yes', 'dtls_auto_generate_cert=yes',
    ]));
    expect(varsOf(o, '4000', 'endpoint')).not.toContain('webrtc=yes');
  });

  it('gives a voicemail box: mailboxes= on endpoint and aor, a VoiceMail priority and the mailbox line with the PIN as a secret part', () => {
    const d = state({ extensions: [ext('ext-200', '200', { voicemail: { enabled: true, pin: { generate: true }, email: 'a@cod67.example.fr', attach: true } })], secrets: vmPin });
    const o = rendered(d, 'ext', 'ext-200');
    expect(varsOf(o, '200', 'endpoint')).toContain('mailboxes=200@default');
    expect(varsOf(o, '200', 'aor')).toContain('mailboxes=200@default');
    expect(o.lines.map((l) => l.value).filter((v) => typeof v === 'string')).toContain('200,2,VoiceMail(200@default,u)');
    const box = o.lines.find((l) => l.role === 'voicemail')!;
    expect(box.var).toBe('200');
    expect(JSON.stringify(box.value)).toBe('["(sensitive)",",Poste 200,a@cod67.example.fr,,attach=yes"]');
  });

  it.each([
    ['a control character in the caller name', { callerIdName: 'A\u0000B' }, {}, /callerIdName contains control characters/],
    ['a number with dialplan syntax', { number: '20,1' }, {}, /spec.number must be 2-6 digits/],
    ['a SIP secret with a line break', {}, { 'Extension/ext-200#secret': 'pw\r\nAction: Logoff' }, /spec.secret contains control characters/],
    ['a SIP secret with edge whitespace', {}, { 'Extension/ext-200#secret': ' pw ' }, /whitespace/],
    ['a SIP secret starting with >', {}, { 'Extension/ext-200#secret': '>pw' }, /starts with '>'/],
    ['a voicemail PIN that is not digits', { voicemail: { enabled: true, pin: { generate: true }, attach: true } }, { 'Extension/ext-200#voicemail.pin': '12,4' }, /must be 1-16 digits/],
  ] as const)('refuses %s and says why without the value', (_, spec, secrets, why) => {
    const d = state({ extensions: [ext('ext-200', '200', spec as never)], secrets });
    const r = renderExtension(d.resources.extensions.get('ext-200')!, d.secrets, layout);
    expect(r.object).toBeUndefined();
    expect(r.problems.join('; ')).toMatch(why);
    expect(r.problems.join('; ')).not.toMatch(/Logoff|12,4/);
  });
  it('renders a WebRTC browser phone with webrtc=yes, opus/vp8 and the SIP MESSAGE context of the seed', () => {
    const d = state({ extensions: [ext('ext-4000', '4000', { webrtc: true })] });
    const o = rendered(d, 'ext', 'ext-4000');
    const ep = o.sections.find((s) => s.type === 'endpoint')!;
    const vars = Object.fromEntries(ep.vars.map((v) => [v.name, v.value]));
    expect(vars).toMatchObject({ webrtc: 'yes', allow: 'opus,g722,alaw,ulaw,vp8', message_context: 'textmessage', direct_media: 'no' });
    expect(o.lines.filter((l) => l.category === 'textmessage').map((l) => l.value)).toEqual(['4000,1,MessageSend(pjsip:4000,${MESSAGE(from)})', '4000,2,Hangup()']);
  });

  it('escapes config syntax in names: quotes and angle brackets dropped from callerid, commas out of the voicemail name', () => {
    const d = state({ extensions: [ext('ext-200', '200', { callerIdName: 'Dupont, "Jean" <chef>; [salle]|1', voicemail: { enabled: true, pin: { generate: true }, attach: false } })], secrets: vmPin });
    const o = rendered(d, 'ext', 'ext-200');
    expect(o.sections[0]!.vars.find((v) => v.name === 'callerid')!.value).toBe('"Dupont, Jean chef; [salle]|1" <200>');
    const box = o.lines.find((l) => l.role === 'voicemail')!;
    expect(Array.isArray(box.value) && box.value[1]).toBe(',Dupont Jean chef; [salle] 1,,,attach=no');
  });
});

describe('renderConference', () => {
  it('renders a conference: bridge and user profiles with PINs, a leader profile and a leader entry', () => {
    const d = state({
      conferences: [conf('reunion', '25', { title: 'Reunion', userPin: { generate: true }, leaderPin: { generate: true }, waitForLeader: true, announceJoinLeave: true, maxMembers: 20, videoMode: 'sfu' })],
      secrets: { 'Conference/reunion#userPin': '4711', 'Conference/reunion#leaderPin': '90210' },
    });
    const o = rendered(d, 'conf', 'reunion');
    const text = (name: string) => o.sections.find((s) => s.name === name)!.vars.map((v) => `${v.name}=${typeof v.value === 'string' ? v.value : '(secret)'}`);
    expect(text('reunion-bridge')).toEqual(['type=bridge', 'max_members=20', 'video_mode=sfu']);
    expect(text('reunion-user')).toEqual(['type=user', 'pin=(secret)', 'wait_marked=yes', 'music_on_hold_when_empty=yes', 'announce_join_leave=yes', 'dsp_drop_silence=yes', 'talk_detection_events=yes']);
    expect(text('reunion-leader')).toEqual(['type=user', 'pin=(secret)', 'admin=yes', 'marked=yes', 'announce_join_leave=yes', 'dsp_drop_silence=yes', 'talk_detection_events=yes']);
    expect(o.lines.map((l) => l.value)).toEqual([
      '25,1(reunion),Set(CONNECTEDLINE(name)=Reunion)', '25,2,Answer()', '25,3,ConfBridge(25,reunion-bridge,reunion-user)', '25,4,Hangup()',
      '25*,1,Set(CONNECTEDLINE(name)=Reunion)', '25*,2,Answer()', '25*,3,ConfBridge(25,reunion-bridge,reunion-leader)', '25*,4,Hangup()',
    ]);
  });


  it('carries the title as the caller-visible name, with dialplan syntax dropped, never escaped', () => {
    const title = (t: string) => rendered(state({ conferences: [conf('point', '26', { title: t })] }), 'conf', 'point').lines.map((l) => l.value);
    expect(title('Point de situation')[0]).toBe('26,1(point),Set(CONNECTEDLINE(name)=Point de situation)');
    expect(title("Réunion (salle) ${SHELL(id)};,|\"x\" $[1+1]")[0]).toBe("26,1(point),Set(CONNECTEDLINE(name)=Réunion salle SHELL id x 1 1)");
    expect(dialplanText("Salle d'opérations – nuit")).toBe("Salle d'opérations nuit");
    // Nothing left to show: no Set line at all.
    expect(title('(${})')).toEqual(['26,1(point),Answer()', '26,2,ConfBridge(26,point-bridge,point-user)', '26,3,Hangup()']);
  });

  it('has no leader profile or leader entry without a leader PIN', () => {
    const d = state({ conferences: [conf('point', '26', { title: 'point', userPin: { generate: true } })], secrets: { 'Conference/point#userPin': '2626' } });
    const o = rendered(d, 'conf', 'point');
    expect(o.sections.map((s) => s.name)).toEqual(['point-bridge', 'point-user']);
    expect(o.lines.map((l) => l.value)).toEqual(['26,1(point),Set(CONNECTEDLINE(name)=point)', '26,2,Answer()', '26,3,ConfBridge(26,point-bridge,point-user)', '26,4,Hangup()']);
  });
});

describe('dialplan and name helpers', () => {
  it('parses exten values, labels included', () => {
    expect(parseExten('200,1(ext-200),Dial(PJSIP/200,25)')).toEqual({ exten: '200', priority: '1', label: 'ext-200', app: 'Dial(PJSIP/200,25)' });
    expect(parseExten('25*,2,ConfBridge(25,a,b)')).toEqual({ exten: '25*', priority: '2', label: undefined, app: 'ConfBridge(25,a,b)' });
    expect(parseExten('garbage')).toBeUndefined();
  });

  it('cleans caller names for callerid= and voicemail', () => {
    expect(callerIdDisplay(' "Chef"  <de> salle\\ ')).toBe('Chef de salle');
    expect(voicemailFullName('Dupont, Jean | COD')).toBe('Dupont Jean COD');
  });
});

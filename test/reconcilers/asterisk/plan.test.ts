// Unit: the Asterisk planner as a pure function — desired, live, policy → Change[] and conflicts. No AMI.
import { describe, expect, it } from 'vitest';
import type { ResolvedState } from '../../../src/desired/model.ts';
import { guard } from '../../../src/engine/guard.ts';
import { DEFAULT_POLICY, type Policy } from '../../../src/engine/types.ts';
import { generatedSecretRotation } from '../../../src/engine/secret-rotation.ts';
import { OTHER_FIELDS } from '../../../src/engine/yaml-fields.ts';
import { fingerprintOf } from '../../../src/reconcilers/asterisk/fingerprint.ts';
import type { ConfigOp, LiveAsterisk, RunningMailbox, RunningPriority, RunningValue } from '../../../src/reconcilers/asterisk/model.ts';
import { type AsteriskChange as Change, payloadOf, planAsterisk } from '../../../src/reconcilers/asterisk/plan.ts';
import { renderConference, renderExtension } from '../../../src/reconcilers/asterisk/render.ts';
import { conf, ext, layout, live, runningOf, section, state } from './desired-builder.ts';

const policy = (over: Partial<Policy> = {}): Policy => ({ ...DEFAULT_POLICY, ...over });
const plan = (d: ResolvedState, l: LiveAsterisk, p: Policy = policy()) => planAsterisk(d, l, p, layout);
/** What `--detail` shows: which object, what happens, which of Asterisk's fields. */
const summary = (c: Change) => {
  const fields = c.wire ?? c.fields;
  return `${c.action} ${c.kind}/${c.name}${fields.length ? ` [${fields.map((f) => (f.sensitive ? `${f.path}=(sensitive)` : f.path)).join(', ')}]` : ''}`;
};
const opsOf = (c: Change | undefined): string[] =>
  (c ? payloadOf(c).groups.flatMap((g) => g.ops) : []).map((op: ConfigOp) => {
    switch (op.op) {
      case 'Append':
        return `Append ${op.cat} ${op.var}`;
      case 'Delete':
        return `Delete ${op.cat} ${op.var}${op.match !== undefined ? ` =${op.match}` : ''}`;
      case 'RenameCat':
        return `RenameCat ${op.cat}>${op.to}`;
      default:
        return `${op.op} ${op.cat}`;
    }
  });

const e200 = ext('ext-200', '200');
const e200vm = ext('ext-200', '200', { voicemail: { enabled: true, pin: { generate: true }, email: 'a@cod67.example.fr', attach: true } });
const vmPin = { 'Extension/ext-200#voicemail.pin': '123456' };
const rendered = (d: ResolvedState, kind: 'ext' | 'conf', name: string) => {
  const r = kind === 'ext' ? renderExtension(d.resources.extensions.get(name)!, d.secrets, layout) : renderConference(d.resources.conferences.get(name)!, d.secrets, layout);
  if (!r.object) throw new Error(r.problems.join('; '));
  return r.object;
};
const d200 = state({ extensions: [e200] });
const written200 = rendered(d200, 'ext', 'ext-200');
const written200vm = rendered(state({ extensions: [e200vm], secrets: vmPin }), 'ext', 'ext-200');
/** Every field of a new softphone 200, as a reviewer reads them in a plan. */
const ALL_200 = [
  ...['type', 'context', 'disallow', 'allow', 'dtmf_mode', 'auth', 'aors', 'callerid', 'direct_media', 'rtp_symmetric', 'force_rport', 'rewrite_contact'].map((f) => `pjsip:endpoint[200].${f}`),
  ...['type', 'max_contacts', 'remove_existing', 'qualify_frequency'].map((f) => `pjsip:aor[200].${f}`),
  ...['type', 'auth_type', 'username'].map((f) => `pjsip:auth[200-auth].${f}`),
  'pjsip:auth[200-auth].password=(sensitive)',
].join(', ');
type Running = ReturnType<typeof runningOf>;
/** A running state as runningOf builds it, edited by hand (what an admin changed, reloaded, then restored in the file only). */
function tampered(r: Running, edit: (r: { pjsip: Map<string, Map<string, RunningValue>>; dialplan: Map<string, { priorities: RunningPriority[]; includes: string[] }>; reach: Map<string, { answeredBy: string | null; reached: boolean }>; mailboxes: Map<string, RunningMailbox> }) => void): Running {
  edit(r as never);
  return r;
}

interface Case {
  readonly name: string;
  readonly desired: ResolvedState;
  readonly live: LiveAsterisk;
  readonly policy?: Partial<Policy>;
  readonly changes: string[];
  readonly conflicts?: string[];
}

const cases: Case[] = [
  { name: 'nothing desired, nothing live: no changes', desired: state({}), live: live(), changes: [] },
  {
    name: 'a new softphone on an empty PBX: templates, infrasec\'s context, the include line reaching it, the extension, then reloads',
    desired: d200,
    live: live(),
    changes: [
      'create Context/infrasec-internal [extensions:[infrasec-internal]]',
      'create Include/from-internal-custom [extensions:[from-internal-custom].include]',
      `create Extension/ext-200 [${ALL_200}, extensions:[infrasec-internal]]`,
      'update ConfigFile/pjsip_custom.conf [pjsip:[infrasec-managed-default](!)]',
      'update ConfigFile/extensions_custom.conf [extensions:[infrasec-managed-default](!)]',
      'update Reload/res_pjsip [running]',
      'update Reload/pbx_config [running]',
    ],
  },
  { name: 'an extension written exactly as Git says: nothing', desired: d200, live: live({ written: [written200] }), changes: [] },
  {
    name: 'a changed caller name rebuilds the endpoint/aor pair and reloads pjsip only',
    desired: state({ extensions: [ext('ext-200', '200', { callerIdName: 'Chef de salle' })] }),
    live: live({ written: [written200] }),
    changes: ['update Extension/ext-200 [pjsip:endpoint[200].callerid]', 'update Reload/res_pjsip [running]'],
  },
  {
    name: 'a changed SIP secret is a sensitive field, never a value',
    desired: state({ extensions: [e200], secrets: { 'Extension/ext-200#secret': 'An0ther-Secret' } }),
    live: live({ written: [written200] }),
    changes: ['update Extension/ext-200 [pjsip:auth[200-auth].password=(sensitive)]', 'update Reload/res_pjsip [running]'],
  },
  {
    name: 'a changed voicemail PIN replaces the mailbox line, shown as sensitive only',
    desired: state({ extensions: [e200vm], secrets: { 'Extension/ext-200#voicemail.pin': '654321' } }),
    live: live({ written: [rendered(state({ extensions: [e200vm], secrets: vmPin }), 'ext', 'ext-200')] }),
    changes: ['update Extension/ext-200 [voicemail:[default].200.secret=(sensitive)]', 'update Reload/app_voicemail [running]'],
  },
  {
    name: 'the last owned extension left Git: it, infrasec\'s context and the include line go, all as prunes',
    desired: state({}),
    live: live({ written: [written200] }),
    changes: [
      'delete Include/from-internal-custom [extensions:[from-internal-custom].include]',
      `delete Extension/ext-200 [${ALL_200}, extensions:[infrasec-internal]]`,
      'delete Context/infrasec-internal [extensions:[infrasec-internal]]',
    ],
  },
  {
    name: 'an unowned [200] made by the GUI in the same file is a conflict, not a change',
    desired: d200,
    live: live({ written: [], files: { pjsip: [section('200', [['type', 'endpoint'], ['context', 'from-internal']], false)] } }),
    changes: [],
    conflicts: ['Extension/ext-200: [200] in pjsip_custom.conf exist(s) and are not managed by infrasec (no (infrasec-managed-default) template); add Extension/ext-200 to policy.adopt to take them over'],
  },
  {
    name: 'policy.adopt takes the unowned [200] over',
    desired: d200,
    live: live({ written: [written200], files: { pjsip: [section('200', [['type', 'identify']], false)] } }),
    policy: { adopt: ['Extension/ext-200'] },
    changes: ['update Extension/ext-200 [pjsip:identify[200].type]', 'update Reload/res_pjsip [running]'],
  },
  {
    name: 'the admin\'s own [from-internal-custom] with lines (stock FreePBX/Issabel) gets one include line, no adoption, no conflict',
    desired: d200,
    live: live({ files: { extensions: [section('from-internal-custom', [['exten', '1234,1,Playback(demo-congrats)'], ['include', 'custom-recordme']], false)] } }),
    changes: [
      'create Context/infrasec-internal [extensions:[infrasec-internal]]',
      'update Include/from-internal-custom [extensions:[from-internal-custom].include]',
      `create Extension/ext-200 [${ALL_200}, extensions:[infrasec-internal]]`,
      'update ConfigFile/pjsip_custom.conf [pjsip:[infrasec-managed-default](!)]',
      'update ConfigFile/extensions_custom.conf [extensions:[infrasec-managed-default](!)]',
      'update Reload/res_pjsip [running]',
      'update Reload/pbx_config [running]',
    ],
  },
  {
    name: 'an unowned [infrasec-internal] blocks the dialplan lines: a blocking conflict naming policy.adopt and the setting',
    desired: d200,
    live: live({ files: { extensions: [section('infrasec-internal', [['exten', '999,1,Hangup()']], false)] } }),
    changes: [
      `create Extension/ext-200 [${ALL_200}]`,
      'update ConfigFile/pjsip_custom.conf [pjsip:[infrasec-managed-default](!)]',
      'update Reload/res_pjsip [running]',
    ],
    conflicts: ['Context/infrasec-internal: [infrasec-internal] in extensions_custom.conf exists and is not managed by infrasec (no (infrasec-managed-default) template); its lines are not managed. Add Context/infrasec-internal to policy.adopt to take it over, or set context to a context of infrasec\'s own'],
  },
  {
    name: 'an [from-internal-custom] an earlier infrasec owned whole is given back to the admin with only the include line',
    desired: d200,
    live: live({ written: [written200], link: false, files: { extensions: [section('from-internal-custom', [['exten', '200,1(ext-200),Dial(PJSIP/200,25)']])] } }),
    changes: ['update Include/from-internal-custom [extensions:[from-internal-custom].include]', 'update Reload/pbx_config [running]'],
  },
  {
    name: 'the include line twice in [from-internal-custom]: both go by value, one comes back',
    desired: d200,
    live: live({ written: [written200], link: false, files: { extensions: [section('from-internal-custom', [['include', 'infrasec-internal'], ['exten', '1234,1,Hangup()'], ['include', 'infrasec-internal']], false)] } }),
    changes: ['update Include/from-internal-custom [extensions:[from-internal-custom].include]', 'update Reload/pbx_config [running]'],
  },
  {
    name: 'an owned endpoint deleted by hand: the pair is rebuilt',
    desired: d200,
    live: live({ written: [{ ...written200, sections: written200.sections.filter((s) => s.type !== 'endpoint') }] }),
    changes: ['update Extension/ext-200 [pjsip:endpoint[200].type, pjsip:endpoint[200].context, pjsip:endpoint[200].disallow, pjsip:endpoint[200].allow, pjsip:endpoint[200].dtmf_mode, pjsip:endpoint[200].auth, pjsip:endpoint[200].aors, pjsip:endpoint[200].callerid, pjsip:endpoint[200].direct_media, pjsip:endpoint[200].rtp_symmetric, pjsip:endpoint[200].force_rport, pjsip:endpoint[200].rewrite_contact]', 'update Reload/res_pjsip [running]'],
  },
  {
    name: 'file as Git says but res_pjsip runs without the endpoint: the extension drifts, a reload (and nothing else) corrects it',
    desired: d200,
    live: live({ written: [written200], running: { endpoints: new Map(), pjsip: new Map() } }),
    changes: ['update Extension/ext-200 [running pjsip:endpoint[200]]', 'update Reload/res_pjsip [running pjsip:endpoint[200]]'],
  },
  {
    name: 'file and running side agree, field by field: nothing',
    desired: d200,
    live: live({ written: [written200], running: runningOf([written200]) }),
    changes: [],
  },
  {
    name: 'res_pjsip runs another caller name and another password than the file: a reload naming both, the password as sensitive',
    desired: d200,
    live: live({ written: [written200], running: tampered(runningOf([written200]), (r) => {
      r.pjsip.get('endpoint/200')!.set('callerid', '"Hacked" <200>');
      r.pjsip.get('auth/200-auth')!.set('password', fingerprintOf('changed-while-running'));
    }) }),
    changes: ['update Extension/ext-200 [running pjsip:endpoint[200].callerid, running pjsip:auth[200-auth].password=(sensitive)]', 'update Reload/res_pjsip [running pjsip:endpoint[200].callerid, running pjsip:auth[200-auth].password=(sensitive)]'],
  },
  {
    name: 'the loaded dialplan lacks a priority and runs another application: pbx_config is reloaded',
    desired: d200,
    live: live({ written: [written200], running: tampered(runningOf([written200]), (r) => {
      const ctx = r.dialplan.get('infrasec-internal')!;
      ctx.priorities = ctx.priorities.filter((p) => p.priority !== '2').map((p) => (p.priority === '1' ? { ...p, data: 'PJSIP/999,25' } : p));
    }) }),
    changes: ['update Extension/ext-200 [running extensions:[infrasec-internal].200,1, running extensions:[infrasec-internal].200,2]', 'update Reload/pbx_config [running extensions:[infrasec-internal].200,1, running extensions:[infrasec-internal].200,2]'],
  },
  {
    name: 'the include line is in the file but not loaded: pbx_config is reloaded',
    desired: d200,
    live: live({ written: [written200], running: tampered(runningOf([written200]), (r) => {
      r.dialplan.get('from-internal-custom')!.includes = [];
    }) }),
    changes: ['update Reload/pbx_config [running extensions:[from-internal-custom].include]'],
  },
  {
    name: 'a number answered before infrasec\'s context is searched (a GUI extension) is a blocking conflict',
    desired: d200,
    live: live({ written: [written200], running: tampered(runningOf([written200]), (r) => {
      r.reach.set('200', { answeredBy: 'ext-local', reached: true });
    }) }),
    changes: [],
    conflicts: ['Extension/ext-200: 200@from-internal is answered by [ext-local], which from-internal searches before [infrasec-internal]: remove 200 from [ext-local] or give this object another number'],
  },
  {
    name: 'a number from-internal never reaches in infrasec\'s context (it does not include from-internal-custom) is a blocking conflict naming includeFrom',
    desired: d200,
    live: live({ written: [written200], running: tampered(runningOf([written200]), (r) => {
      r.reach.set('200', { answeredBy: 'bad-number', reached: false });
    }) }),
    changes: [],
    conflicts: ['Extension/ext-200: 200@from-internal never reaches [infrasec-internal] ([bad-number] answers it instead): from-internal does not include [from-internal-custom], directly or through its includes. Set includeFrom to a context from-internal includes (it is from-internal-custom now)'],
  },
  {
    name: 'app_voicemail runs another e-mail for the mailbox: app_voicemail is reloaded',
    desired: state({ extensions: [e200vm], secrets: vmPin }),
    live: live({ written: [written200vm], running: tampered(runningOf([written200vm]), (r) => {
      r.mailboxes.set('200@default', { ...r.mailboxes.get('200@default')!, email: 'other@x.fr' });
    }) }),
    changes: ['update Extension/ext-200 [running voicemail:[default].200.email]', 'update Reload/app_voicemail [running voicemail:[default].200.email]'],
  },
  {
    name: 'voicemail.conf does not #include infrasec\'s voicemail file: a blocking conflict saying which line to add, and no reload',
    desired: state({ extensions: [e200vm], secrets: vmPin }),
    live: live({ written: [written200vm], voicemailConf: { includesOwnFile: false }, running: tampered(runningOf([written200vm]), (r) => r.mailboxes.clear()) }),
    changes: [],
    conflicts: [
      'ConfigFile/voicemail_custom.conf: voicemail.conf does not #include voicemail_custom.conf, so app_voicemail loads none of the 1 mailbox(es) infrasec writes there. This PBX leaves no place of its own for them: add the line "#tryinclude voicemail_custom.conf" at the end of voicemail.conf once (the Issabel GUI keeps that line when it rewrites the file, and never reads or rewrites the file it names), or set files.voicemail to a file voicemail.conf already #includes; infrasec does not write voicemail.conf itself, since UpdateConfig would rewrite it and every file it #includes',
    ],
  },
  {
    name: 'the GUI already defines mailbox 200@default: the mailbox is held and the conflict says so; the endpoint is still written',
    desired: state({ extensions: [e200vm], secrets: vmPin }),
    live: live({ voicemailConf: { sections: [section('default', [['200', '4321,Accueil,,,']], false)] } }),
    changes: [
      'create Context/infrasec-internal [extensions:[infrasec-internal]]',
      'create Include/from-internal-custom [extensions:[from-internal-custom].include]',
      `create Extension/ext-200 [${ALL_200.replace('rewrite_contact', 'rewrite_contact, pjsip:endpoint[200].mailboxes').replace('qualify_frequency', 'qualify_frequency, pjsip:aor[200].mailboxes')}, extensions:[infrasec-internal]]`,
      'update ConfigFile/pjsip_custom.conf [pjsip:[infrasec-managed-default](!)]',
      'update ConfigFile/extensions_custom.conf [extensions:[infrasec-managed-default](!)]',
      'update Reload/res_pjsip [running]',
      'update Reload/pbx_config [running]',
    ],
    conflicts: ['Extension/ext-200: mailbox 200@default is already defined outside infrasec\'s sections of voicemail.conf (by the GUI?); app_voicemail would keep only one of them. Remove it there, give this extension another number, or set voicemailContext to another context'],
  },
  {
    name: 'a reload an earlier apply could not confirm is owed',
    desired: d200,
    live: live({ written: [written200], pending: ['pbx_config'] }),
    changes: ['update Reload/pbx_config [running]'],
  },
  {
    name: 'a renumbered extension moves its config and is not a prune',
    desired: state({ extensions: [ext('ext-200', '210')] }),
    live: live({ written: [written200] }),
    changes: [
      'update Extension/ext-200 [pjsip:endpoint[210].type, pjsip:endpoint[210].context, pjsip:endpoint[210].disallow, pjsip:endpoint[210].allow, pjsip:endpoint[210].dtmf_mode, pjsip:endpoint[210].auth, pjsip:endpoint[210].aors, pjsip:endpoint[210].callerid, pjsip:endpoint[210].direct_media, pjsip:endpoint[210].rtp_symmetric, pjsip:endpoint[210].force_rport, pjsip:endpoint[210].rewrite_contact, pjsip:aor[210].type, pjsip:aor[210].max_contacts, pjsip:aor[210].remove_existing, pjsip:aor[210].qualify_frequency, pjsip:auth[210-auth].type, pjsip:auth[210-auth].auth_type, pjsip:auth[210-auth].username, pjsip:auth[210-auth].password=(sensitive), pjsip:endpoint[200].type, pjsip:endpoint[200].context, pjsip:endpoint[200].disallow, pjsip:endpoint[200].allow, pjsip:endpoint[200].dtmf_mode, pjsip:endpoint[200].auth, pjsip:endpoint[200].aors, pjsip:endpoint[200].callerid, pjsip:endpoint[200].direct_media, pjsip:endpoint[200].rtp_symmetric, pjsip:endpoint[200].force_rport, pjsip:endpoint[200].rewrite_contact, pjsip:aor[200].type, pjsip:aor[200].max_contacts, pjsip:aor[200].remove_existing, pjsip:aor[200].qualify_frequency, pjsip:auth[200-auth].type, pjsip:auth[200-auth].auth_type, pjsip:auth[200-auth].username, pjsip:auth[200-auth].password=(sensitive), extensions:[infrasec-internal]]',
      'update Reload/res_pjsip [running]',
      'update Reload/pbx_config [running]',
    ],
  },
  {
    name: 'two objects on one number: the second is refused',
    desired: state({ extensions: [e200], conferences: [conf('reunion', '200')] }),
    live: live({ written: [written200] }),
    changes: [],
    conflicts: ['Conference/reunion: dialplan number 200 is already used by Extension/ext-200'],
  },
  {
    name: 'CR/LF in a caller name never reaches a plan',
    desired: state({ extensions: [ext('ext-200', '200', { callerIdName: 'Bob\r\nAction: Command' })] }),
    live: live({ written: [written200] }),
    changes: [],
    conflicts: ['Extension/ext-200: not written to Asterisk: spec.callerIdName contains control characters'],
  },
  {
    name: 'a number carrying dialplan syntax is refused',
    desired: state({ extensions: [ext('ext-x', '200,1,System(id)')] }),
    live: live(),
    changes: [],
    conflicts: ['Extension/ext-x: not written to Asterisk: spec.number must be 2-6 digits'],
  },
  {
    name: 'voicemail without a PIN is refused rather than left open',
    desired: state({ extensions: [ext('ext-200', '200', { voicemail: { enabled: true, attach: true } })] }),
    live: live({ written: [written200] }),
    changes: [],
    conflicts: ['Extension/ext-200: not written to Asterisk: spec.voicemail.enabled without a resolved spec.voicemail.pin: refusing to create an open mailbox'],
  },
  {
    name: 'a conference that waits for a leader needs a leader PIN',
    desired: state({ conferences: [conf('reunion', '25', { waitForLeader: true })] }),
    live: live(),
    changes: [],
    conflicts: ['Conference/reunion: not written to Asterisk: spec.waitForLeader needs a spec.leaderPin: without a leader nobody could start the conference'],
  },
  {
    name: 'a PIN that is not digits is refused',
    desired: state({ conferences: [conf('reunion', '25', { userPin: { generate: true } })], secrets: { 'Conference/reunion#userPin': '12a4' } }),
    live: live(),
    changes: [],
    conflicts: ['Conference/reunion: not written to Asterisk: spec.userPin must be 1-16 digits (it is typed on a keypad)'],
  },
  {
    name: 'a number whose endpoint res_pjsip runs from another file (the GUI) is refused: duplicate ids break res_pjsip',
    desired: state({ extensions: [ext('ext-100', '100')] }),
    live: live({ running: { endpoints: new Map([['100', { name: '100', aor: '100', auths: '100-auth', transport: '' }]]) } }),
    changes: [],
    conflicts: ['Extension/ext-100: endpoint 100, [100-auth] (used by endpoint 100) is already running but defined outside pjsip_custom.conf (by the GUI?, or deleted from it without a reload); a second definition would be rejected by Asterisk'],
  },
  {
    name: 'a temporary section left by an interrupted apply is removed without prune',
    desired: d200,
    live: live({ written: [written200], files: { pjsip: [section('infrasec-tmp-200-aor', [['type', 'aor']])] } }),
    changes: ['delete Section/pjsip_custom.conf [pjsip:aor[infrasec-tmp-200-aor].type]', 'update Reload/res_pjsip [running]'],
  },
];

describe('planAsterisk', () => {
  it.each(cases)('$name', (c) => {
    const p = plan(c.desired, c.live, policy(c.policy));
    expect(p.changes.map(summary)).toEqual(c.changes);
    expect(p.conflicts.map((x) => `${x.kind}/${x.name}: ${x.message}`)).toEqual(c.conflicts ?? []);
  });

  it('builds a new extension with the endpoint first and the aor under a temporary name, renamed last', () => {
    const p = plan(d200, live({ written: [] }));
    expect(opsOf(p.changes.find((c) => c.kind === 'Extension'))).toEqual([
      'NewCat 200',
      ...['type', 'context', 'disallow', 'allow', 'dtmf_mode', 'auth', 'aors', 'callerid', 'direct_media', 'rtp_symmetric', 'force_rport', 'rewrite_contact'].map((v) => `Append 200 ${v}`),
      'NewCat infrasec-tmp-200-aor',
      ...['type', 'max_contacts', 'remove_existing', 'qualify_frequency'].map((v) => `Append infrasec-tmp-200-aor ${v}`),
      'RenameCat infrasec-tmp-200-aor>200',
      'NewCat 200-auth',
      ...['type', 'auth_type', 'username', 'password'].map((v) => `Append 200-auth ${v}`),
      'Append infrasec-internal exten',
      'Append infrasec-internal exten',
      'Append infrasec-internal exten',
    ]);
  });

  it('rebuilds a changed pair with one DelCat (Append would hit both namesakes)', () => {
    const p = plan(state({ extensions: [ext('ext-200', '200', { maxContacts: 2 })] }), live({ written: [written200] }));
    const ops = opsOf(p.changes[0]);
    expect(ops[0]).toBe('DelCat 200');
    expect(ops.filter((o) => o.startsWith('DelCat'))).toEqual(['DelCat 200']);
    // max_contacts > 1 dials every registered contact.
    expect(ops).toContain('Delete infrasec-internal exten =200,1(ext-200),Dial(PJSIP/200,25)');
  });

  it('replaces a mailbox line by variable, so the old PIN is never sent as a Match', () => {
    const before = rendered(state({ extensions: [e200vm], secrets: vmPin }), 'ext', 'ext-200');
    const p = plan(state({ extensions: [e200vm], secrets: { 'Extension/ext-200#voicemail.pin': '999999' } }), live({ written: [before] }));
    expect(opsOf(p.changes[0])).toEqual(['Delete default 200', 'Append default 200']);
  });

  it('keeps every secret out of the serialized plan', () => {
    const d = state({
      extensions: [e200vm, ext('ext-4000', '4000', { webrtc: true })],
      conferences: [conf('reunion', '25', { userPin: { generate: true }, leaderPin: { generate: true }, waitForLeader: true })],
      secrets: { ...vmPin, 'Conference/reunion#userPin': '4711', 'Conference/reunion#leaderPin': '90210' },
    });
    const text = JSON.stringify(plan(d, live()));
    for (const s of ['Sip-200-Secret', 'Sip-4000-Secret', '123456', '4711', '90210']) expect(text).not.toContain(s);
    expect(text).toContain('(sensitive)');
  });

  it('removes a leaver\'s endpoint (owner enabled: false) without prune, as the one leaving event every system honours', () => {
    const d = (enabled: boolean) => state({ extensions: [ext('ext-200', '200', { owner: 'jmeyer' })], users: { jmeyer: enabled } });
    expect(plan(d(true), live({ written: [written200] })).changes).toEqual([]);
    const p = plan(d(false), live({ written: [written200] }));
    const removal = p.changes.find((c) => c.kind === 'Extension');
    expect(removal).toMatchObject({ name: 'ext-200', action: 'disable', prune: false });
    expect(removal?.reason).toContain('owner User/jmeyer is disabled (a leaver)');
    // In the YAML's terms nothing of the extension changed: its owner left (the reason), the sections go (wire).
    expect(removal?.fields).toEqual([]);
    expect(removal?.wire?.length).toBeGreaterThan(0);
    // Not held back when pruning is off, and not counted by the deletion threshold (it names the person on purpose).
    const g = guard(p, policy());
    expect(g.ok && g.plan.changes.map((c) => `${c.action} ${c.kind}/${c.name}`)).toContain('disable Extension/ext-200');
    // Nothing written for a leaver who never had an endpoint.
    expect(plan(d(false), live({ written: [] })).changes.filter((c) => c.kind === 'Extension')).toEqual([]);
  });

  it('holds the prune of a removed extension unless policy.prune, and reloads nothing for it', () => {
    const p = plan(state({}), live({ written: [written200] }));
    expect(p.changes[0]!.prune).toBe(true);
    expect(p.changes.some((c) => c.kind === 'Reload')).toBe(false);
    const g = guard(p, policy());
    expect(g.ok && g.plan.changes.length).toBe(0);
    const pruning = plan(state({}), live({ written: [written200] }), policy({ prune: true, deletionThreshold: { count: 10, percent: 100 } }));
    expect(pruning.changes.map(summary).at(-1)).toBe('update Reload/pbx_config [running]');
  });

});

describe('planAsterisk in the YAML\'s language', () => {
  const objects = (p: { changes: readonly Change[] }) => p.changes.filter((c) => !c.supporting);
  const wireOf = (c: Change | undefined) => (c?.wire ?? []).map((f) => `${f.path} <- ${f.from ?? '-'}`);

  it('plans nat: true → false as the one YAML field, with the three pjsip options behind it as wire detail', () => {
    const p = plan(state({ extensions: [ext('ext-200', '200', { nat: false })] }), live({ written: [written200] }));
    const [e] = objects(p);
    expect(objects(p).map((c) => `${c.kind}/${c.name}`)).toEqual(['Extension/ext-200']);
    expect(e!.fields).toEqual([{ path: 'spec.nat', before: true, after: false }]);
    expect(e!.wire).toEqual(['rtp_symmetric', 'force_rport', 'rewrite_contact'].map((o) => ({ path: `pjsip:endpoint[200].${o}`, before: 'yes', after: null, from: 'spec.nat' })));
    // The reload that applies it is plumbing: folded, not counted.
    expect(p.changes.filter((c) => c.supporting).map((c) => `${c.kind}/${c.name}`)).toEqual(['Reload/res_pjsip']);
  });

  it('reads each field back from what is written, so an update shows the value it replaces', () => {
    const cases: Array<[Parameters<typeof ext>[2], string[]]> = [
      [{ callerIdName: 'Chef de salle' }, ['spec.callerIdName: "Poste 200" → "Chef de salle"']],
      [{ maxContacts: 2 }, ['spec.maxContacts: 1 → 2']],
      [{ dtmfMode: 'info' }, ['spec.dtmfMode: "rfc4733" → "info"']],
      [{ codecs: { audio: ['opus'], video: ['vp8'] } }, ['spec.codecs: {"audio":["g722","alaw","ulaw"],"video":[]} → {"audio":["opus"],"video":["vp8"]}']],
      [{ voicemail: { enabled: true, pin: { generate: true }, email: 'a@cod67.example.fr' } }, ['spec.voicemail.enabled: false → true', 'spec.voicemail.pin: "(sensitive)" → "(sensitive)"']],
    ];
    for (const [spec, fields] of cases) {
      const [e] = objects(plan(state({ extensions: [ext('ext-200', '200', spec)], secrets: vmPin }), live({ written: [written200] })));
      expect(e!.fields.map((f) => `${f.path}: ${JSON.stringify(f.before)} → ${JSON.stringify(f.after)}`)).toEqual(fields);
    }
    // maxContacts reaches the Dial target as well: that dialplan line is its detail too.
    const [mc] = objects(plan(state({ extensions: [ext('ext-200', '200', { maxContacts: 2 })] }), live({ written: [written200] })));
    expect(wireOf(mc)).toEqual(['pjsip:aor[200].max_contacts <- spec.maxContacts', 'extensions:[infrasec-internal] <- spec.maxContacts']);
    // A mailbox e-mail read back from the voicemail line.
    const [vm] = objects(plan(state({ extensions: [{ ...e200vm, spec: { ...e200vm.spec, voicemail: { ...e200vm.spec.voicemail, email: 'b@cod67.example.fr' } } }], secrets: vmPin }), live({ written: [written200vm] })));
    expect(vm!.fields).toEqual([{ path: 'spec.voicemail.email', before: 'a@cod67.example.fr', after: 'b@cod67.example.fr' }]);
  });

  it('says "(differs)" where the written options cannot be read back as one YAML value (one of the three nat options removed by hand)', () => {
    const edited = { ...written200, sections: written200.sections.map((s) => (s.type === 'endpoint' ? { ...s, vars: s.vars.filter((v) => v.name !== 'rtp_symmetric') } : s)) };
    const [e] = objects(plan(d200, live({ written: [edited] })));
    expect(e!.fields).toEqual([{ path: 'spec.nat', before: '(differs)', after: true }]);
    expect(wireOf(e)).toEqual(['pjsip:endpoint[200].rtp_symmetric <- spec.nat']);
  });

  it('a renumbered extension reads as its number, a conference title and leader as theirs', () => {
    const [r] = objects(plan(state({ extensions: [ext('ext-200', '201', { callerIdName: 'Poste 200' })], secrets: { 'Extension/ext-200#secret': 'secret-200' } }), live({ written: [written200] })));
    // The auth section moves to [201-auth], so its password is written anew: a sensitive spec.secret line, no value.
    expect(r!.fields).toEqual([{ path: 'spec.number', before: '200', after: '201' }, { path: 'spec.secret', before: '(sensitive)', after: '(sensitive)', sensitive: true }]);
    const room = rendered(state({ conferences: [conf('reunion', '25', { title: 'Réunion' })] }), 'conf', 'reunion');
    const [c] = objects(plan(
      state({ conferences: [conf('reunion', '25', { title: 'Autre titre', leaderPin: { generate: true }, maxMembers: 10 })], secrets: { 'Conference/reunion#leaderPin': '4711' } }),
      live({ written: [room] }),
    ));
    expect(c!.fields.map((f) => `${f.path}: ${JSON.stringify(f.before)} → ${JSON.stringify(f.after)}`)).toEqual([
      'spec.maxMembers: 0 → 10', 'spec.leaderPin: "(sensitive)" → "(sensitive)"', 'spec.title: "Réunion" → "Autre titre"',
    ]);
  });

  it('gathers what no YAML field sets (a setting changed) in one line, only when it changes', () => {
    const [e] = objects(planAsterisk(d200, live({ written: [written200] }), policy(), { ...layout, endpointContext: 'from-sdis', ringSeconds: 30 }));
    expect(e!.fields).toEqual([{ path: OTHER_FIELDS, before: null, after: '2 changed (pjsip:endpoint[200].context, extensions:[infrasec-internal])' }]);
    // A new extension lists its YAML fields only: the structure every extension has stays in the detail.
    const created = plan(d200, live()).changes.find((c) => c.kind === 'Extension');
    expect(created!.fields.map((f) => f.path)).toEqual(['spec.number', 'spec.codecs', 'spec.dtmfMode', 'spec.callerIdName', 'spec.nat', 'spec.maxContacts', 'spec.secret']);
    expect(created!.wire?.filter((f) => f.from === undefined)).toEqual([]);
  });

  it('keeps secrets sensitive in both views, never a value', () => {
    const d = state({
      extensions: [e200vm],
      conferences: [conf('reunion', '25', { userPin: { generate: true }, leaderPin: { generate: true } })],
      secrets: { ...vmPin, 'Extension/ext-200#secret': 'Rotated-Sip-Secret', 'Conference/reunion#userPin': '4711', 'Conference/reunion#leaderPin': '90210' },
    });
    const room = rendered(state({ conferences: [conf('reunion', '25', { userPin: { generate: true }, leaderPin: { generate: true } })], secrets: { 'Conference/reunion#userPin': '1111', 'Conference/reunion#leaderPin': '2222' } }), 'conf', 'reunion');
    for (const p of [plan(d, live()), plan(d, live({ written: [written200vm, room] }))]) {
      for (const c of objects(p)) {
        for (const f of [...c.fields, ...(c.wire ?? [])]) {
          if (/^spec\.(secret|voicemail\.pin|userPin|leaderPin)$|\.(password|pin|secret)$/.test(f.path)) expect(f, `${c.kind}/${c.name} ${f.path}`).toMatchObject({ sensitive: true });
        }
      }
      const text = JSON.stringify(p.changes.map(({ payload: _, ...view }) => view));
      for (const secret of ['Rotated-Sip-Secret', 'Sip-200-Secret', '123456', '4711', '90210', '1111', '2222']) expect(text).not.toContain(secret);
    }
    const [e, c] = objects(plan(d, live({ written: [written200vm, room] })));
    expect(e!.fields).toEqual([{ path: 'spec.secret', before: '(sensitive)', after: '(sensitive)', sensitive: true }]);
    expect(c!.fields.map((f) => f.path)).toEqual(['spec.userPin', 'spec.leaderPin']);
  });

  it('maps a difference only the running PBX has to the YAML field, as "(differs)", with the running detail as wire', () => {
    const p = plan(d200, live({ written: [written200], running: tampered(runningOf([written200]), (r) => {
      r.pjsip.get('endpoint/200')!.set('callerid', '"Hacked" <200>');
    }) }));
    const [e] = objects(p);
    expect(objects(p).map((c) => `${c.kind}/${c.name}`)).toEqual(['Extension/ext-200']);
    expect(e!.fields).toEqual([{ path: 'spec.callerIdName', before: '(differs)', after: 'Poste 200' }]);
    expect(e!.wire).toEqual([{ path: 'running pjsip:endpoint[200].callerid', before: '"Hacked" <200>', after: '"Poste 200" <200>', from: 'spec.callerIdName' }]);
    expect(e!.reason).toContain('the running PBX is not');
    // Nothing to write for it: the reload (folded) applies the file.
    expect(payloadOf(e!).groups).toEqual([]);
    expect(p.changes.find((c) => c.kind === 'Reload')).toMatchObject({ supporting: true, payload: { reload: { always: true } } });
  });

  it('folds the bookkeeping (ownership templates, owned contexts, reloads) but shows the include line written into the admin\'s context', () => {
    const p = plan(d200, live());
    expect(p.changes.map((c) => `${c.kind}/${c.name}${c.supporting ? ' (supporting)' : ''}`)).toEqual([
      'Context/infrasec-internal (supporting)',
      'Include/from-internal-custom',
      'Extension/ext-200',
      'ConfigFile/pjsip_custom.conf (supporting)',
      'ConfigFile/extensions_custom.conf (supporting)',
      'Reload/res_pjsip (supporting)',
      'Reload/pbx_config (supporting)',
    ]);
    // Adopting an admin's context replaces the admin's lines: shown and counted.
    const adopted = plan(d200, live({ files: { extensions: [section('infrasec-internal', [['exten', '999,1,Hangup()']], false)] } }), policy({ adopt: ['Context/infrasec-internal'] }));
    expect(adopted.changes.find((c) => c.kind === 'Context')).toMatchObject({ action: 'update', adopt: true });
    expect(adopted.changes.find((c) => c.kind === 'Context')?.supporting).toBeUndefined();
    // A reload owed by an earlier apply is nobody's object: it stays counted.
    const owed = plan(d200, { ...live({ written: [written200] }), pendingReloads: new Set(['res_pjsip']) });
    expect(owed.changes.map((c) => `${c.kind}/${c.name}${c.supporting ? ' (supporting)' : ''}`)).toEqual(['Reload/res_pjsip']);
  });

  it('a hand-edited extension drifts as one object', () => {
    const edited = { ...written200, sections: written200.sections.map((s) => (s.type === 'endpoint' ? { ...s, vars: s.vars.map((v) => (v.name === 'callerid' ? { ...v, value: '"Chef" <200>' } : v)) } : s)) };
    const p = plan(d200, live({ written: [edited] }));
    expect(objects(p).map((c) => `${c.kind}/${c.name}: ${c.fields.map((f) => `${f.path}: ${JSON.stringify(f.before)} → ${JSON.stringify(f.after)}`).join('; ')}`)).toEqual([
      'Extension/ext-200: spec.callerIdName: "Chef" → "Poste 200"',
    ]);
  });

  it('still lets the secret-rotation guard see a mass change of generated secrets in the YAML fields', () => {
    const e201 = ext('ext-201', '201');
    const before = state({ extensions: [e200, e201] });
    const written = [rendered(before, 'ext', 'ext-200'), rendered(before, 'ext', 'ext-201')];
    const rotated = plan(state({ extensions: [e200, e201], secrets: { 'Extension/ext-200#secret': 'New-200', 'Extension/ext-201#secret': 'New-201' } }), live({ written }));
    expect(rotated.changes.filter((c) => c.kind === 'Extension').map((c) => c.fields.map((f) => f.path))).toEqual([['spec.secret'], ['spec.secret']]);
    expect(generatedSecretRotation('asterisk', rotated.changes, new Set(['Extension/ext-200', 'Extension/ext-201']))).toMatch(/generated secrets of all 2 Extension objects/);
  });
});

// Pure: renders desired Extensions and Conferences as the pjsip, voicemail, confbridge and dialplan config they become. No I/O.
import type { Conference, Extension, SecretStore } from '../../desired/model.ts';
import type { Secret } from '../../desired/secret.ts';
import type { AsteriskObject, ConfValue, ConfVar, ContainerRef, LineSpec, SectionSpec } from './model.ts';
import type { AsteriskLayout } from './settings.ts';

/** Category names are restricted so they cannot change a `[name](options)` header: no `]`, `(`, `,`, leading `!`/`+`. */
export const CATEGORY_NAME = /^[A-Za-z0-9_.@-][A-Za-z0-9_.@+-]*$/;
/** Dialplan is executable: numbers and labels that reach an `exten` line are checked against these, never escaped. */
const NUMBER = /^[0-9]{2,6}$/;
const LABEL = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;
const DIGITS = /^[0-9]{1,16}$/;
const EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

export interface Rendered {
  readonly object?: AsteriskObject;
  /** The shared categories the object's lines go into. */
  readonly containers: readonly ContainerRef[];
  /** Why the object cannot be rendered safely. Never contains a secret value. */
  readonly problems: readonly string[];
  /** Numbers this object answers on in the dialplan (for duplicate checks). */
  readonly numbers: readonly string[];
}

export const extensionKey = (number: string) => `ext:${number}`;
export const conferenceKey = (name: string) => `conf:${name}`;
export const authName = (number: string) => `${number}-auth`;
export const PROFILE_SUFFIXES = ['bridge', 'user', 'leader'] as const;
export const profileName = (conference: string, suffix: (typeof PROFILE_SUFFIXES)[number]) => `${conference}-${suffix}`;
/** Leaders dial the room number followed by a star: `*NN` would shadow FreePBX feature codes such as *97. */
export const leaderNumber = (number: string) => `${number}*`;

/** `200,1(ext-200),Dial(PJSIP/200,25)` → exten 200, priority 1, label ext-200, app Dial(...). */
export function parseExten(value: string): { exten: string; priority: string; label?: string; app: string } | undefined {
  const first = value.indexOf(',');
  const second = first < 0 ? -1 : value.indexOf(',', first + 1);
  if (first <= 0 || second < 0) return undefined;
  const exten = value.slice(0, first).trim();
  let priority = value.slice(first + 1, second).trim();
  let label: string | undefined;
  const m = /^(.*)\((.*)\)$/.exec(priority);
  if (m) {
    priority = m[1] ?? '';
    label = m[2];
  }
  return { exten, priority, label, app: value.slice(second + 1).trim() };
}

/** The dialplan numbers an object answers on: its extension number and the extens of its main-context lines. */
export function numbersOf(o: AsteriskObject, layout: AsteriskLayout): Set<string> {
  const out = new Set<string>();
  if (o.key.startsWith('ext:')) out.add(o.key.slice(4));
  for (const l of o.lines) {
    if (l.role !== 'extensions' || l.category.toLowerCase() !== layout.context.toLowerCase() || typeof l.value !== 'string') continue;
    const p = parseExten(l.value);
    if (p) out.add(p.exten.endsWith('*') ? p.exten.slice(0, -1) : p.exten);
  }
  return out;
}

/**
 * The caller-ID name as pjsip's `callerid="Name" <200>` can hold it: `"`, `<`, `>` and `\` would end or escape the
 * quoted name, so they are dropped; `;` is escaped by Asterisk itself when it writes the file.
 */
export function callerIdDisplay(name: string): string {
  return name.replace(/["<>\\]/g, '').replace(/\s+/g, ' ').trim();
}

/**
 * Free text as a dialplan application argument can carry it: letters (any script), digits, spaces and . - _ ' only.
 * Dialplan is executable: `,` `(` `)` `$` `[` `;` `"` `\` `|` would end the argument, call a function or start an
 * expression, so they are dropped, never escaped.
 */
export function dialplanText(text: string): string {
  return text.normalize('NFC').replace(/[^\p{L}\p{N} ._'-]/gu, ' ').replace(/\s+/g, ' ').trim().slice(0, 60).trim();
}

/** The full-name field of a voicemail line: `,` separates fields and `|` options, so both become spaces. */
export function voicemailFullName(name: string): string {
  return callerIdDisplay(name).replace(/[,|]/g, ' ').replace(/\s+/g, ' ').trim();
}

function v(name: string, value: ConfValue): ConfVar {
  return { name, value };
}

/** A secret that survives the round trip through a .conf file: no control characters, no edge whitespace, not empty. */
function secretProblem(s: Secret, what: string, digitsOnly: boolean): string | undefined {
  const value = s.reveal();
  if (value === '') return `${what} is empty`;
  if (CONTROL.test(value)) return `${what} contains control characters (CR, LF, NUL...)`;
  if (value !== value.trim()) return `${what} starts or ends with whitespace, which a .conf file does not keep`;
  // UpdateConfig reads a leading '>' as the `=>` flag and drops it.
  if (value.startsWith('>')) return `${what} starts with '>', which UpdateConfig would drop`;
  if (digitsOnly && !DIGITS.test(value)) return `${what} must be 1-16 digits (it is typed on a keypad)`;
  return undefined;
}

export function renderExtension(ext: Extension, secrets: SecretStore, layout: AsteriskLayout): Rendered {
  const s = ext.spec;
  const name = ext.metadata.name;
  const n = s.number;
  const problems: string[] = [];
  if (!NUMBER.test(n)) problems.push('spec.number must be 2-6 digits');
  if (!LABEL.test(name)) problems.push('metadata.name is not a valid object name');
  if (CONTROL.test(s.callerIdName)) problems.push('spec.callerIdName contains control characters');
  const secret = secrets.get('Extension', name, 'secret');
  if (!secret) problems.push('spec.secret was not resolved');
  else {
    const p = secretProblem(secret, 'spec.secret', false);
    if (p) problems.push(p);
  }
  const vm = s.voicemail;
  const pin = vm.enabled ? secrets.get('Extension', name, 'voicemail.pin') : undefined;
  if (vm.enabled) {
    if (!pin) problems.push('spec.voicemail.enabled without a resolved spec.voicemail.pin: refusing to create an open mailbox');
    else {
      const p = secretProblem(pin, 'spec.voicemail.pin', true);
      if (p) problems.push(p);
    }
    if (vm.email !== undefined && !EMAIL.test(vm.email)) problems.push('spec.voicemail.email is not a plain address');
  }
  const codecs = [...s.codecs.audio, ...s.codecs.video];
  if (codecs.length === 0 || codecs.some((c) => !/^[a-z0-9]+$/.test(c))) problems.push('spec.codecs must list known codecs');
  if (!Number.isInteger(s.maxContacts) || s.maxContacts < 1 || s.maxContacts > 100) problems.push('spec.maxContacts must be 1-100');
  if (problems.length > 0 || !secret) return { containers: [], problems, numbers: [n] };

  const mailbox = `${n}@${layout.voicemailContext}`;
  const transport = layout.transports[s.transport];
  const endpoint: ConfVar[] = [
    v('type', 'endpoint'),
    v('context', layout.endpointContext),
    v('disallow', 'all'),
    v('allow', codecs.join(',')),
    v('dtmf_mode', s.dtmfMode),
    v('auth', `${n}-auth`),
    v('aors', n),
    v('callerid', `"${callerIdDisplay(s.callerIdName)}" <${n}>`),
  ];
  if (transport) endpoint.push(v('transport', transport));
  endpoint.push(v('direct_media', 'no'));
  if (s.nat) endpoint.push(v('rtp_symmetric', 'yes'), v('force_rport', 'yes'), v('rewrite_contact', 'yes'));
  if (s.webrtc) {
    if (layout.webrtcOption) endpoint.push(v('webrtc', 'yes'));
    else {
      endpoint.push(
        v('use_avpf', 'yes'), v('media_encryption', 'dtls'), v('dtls_verify', 'fingerprint'), v('dtls_setup', 'actpass'),
        v('dtls_auto_generate_cert', 'yes'), v('ice_support', 'yes'), v('media_use_received_transport', 'yes'), v('rtcp_mux', 'yes'),
      );
    }
  }
  if (vm.enabled) endpoint.push(v('mailboxes', mailbox));
  if (s.messaging) endpoint.push(v('message_context', layout.messageContext));

  const aor: ConfVar[] = [v('type', 'aor'), v('max_contacts', String(s.maxContacts)), v('remove_existing', 'yes'), v('qualify_frequency', '60')];
  if (vm.enabled) aor.push(v('mailboxes', mailbox));
  const auth: ConfVar[] = [v('type', 'auth'), v('auth_type', 'userpass'), v('username', n), v('password', secret)];

  const sections: SectionSpec[] = [
    { role: 'pjsip', name: n, type: 'endpoint', vars: endpoint },
    { role: 'pjsip', name: n, type: 'aor', vars: aor },
    { role: 'pjsip', name: authName(n), type: 'auth', vars: auth },
  ];

  const exten = (value: string): LineSpec => ({ role: 'extensions', category: layout.context, var: 'exten', value });
  const target = s.maxContacts > 1 ? `\${PJSIP_DIAL_CONTACTS(${n})}` : `PJSIP/${n}`;
  const lines: LineSpec[] = [exten(`${n},hint,PJSIP/${n}`), exten(`${n},1(${name}),Dial(${target},${layout.ringSeconds})`)];
  let priority = 2;
  if (vm.enabled) lines.push(exten(`${n},${priority++},VoiceMail(${mailbox},u)`));
  lines.push(exten(`${n},${priority},Hangup()`));
  const containers: ContainerRef[] = [{ role: 'extensions', name: layout.context }];
  if (s.messaging) {
    const msg = (value: string): LineSpec => ({ role: 'extensions', category: layout.messageContext, var: 'exten', value });
    lines.push(msg(`${n},1,MessageSend(pjsip:${n},\${MESSAGE(from)})`), msg(`${n},2,Hangup()`));
    containers.push({ role: 'extensions', name: layout.messageContext });
  }
  if (vm.enabled && pin) {
    const options = `attach=${vm.attach === false ? 'no' : 'yes'}`;
    lines.push({ role: 'voicemail', category: layout.voicemailContext, var: n, value: [pin, `,${voicemailFullName(s.callerIdName)},${vm.email ?? ''},,${options}`] });
    containers.push({ role: 'voicemail', name: layout.voicemailContext });
  }
  return { object: { kind: 'Extension', key: extensionKey(n), label: name, sections, lines }, containers, problems: [], numbers: [n] };
}

export function renderConference(conf: Conference, secrets: SecretStore, layout: AsteriskLayout): Rendered {
  const s = conf.spec;
  const name = conf.metadata.name;
  const n = s.number;
  const problems: string[] = [];
  if (!NUMBER.test(n)) problems.push('spec.number must be 2-6 digits');
  if (!LABEL.test(name)) problems.push('metadata.name is not a valid object name');
  const userPin = s.userPin ? secrets.get('Conference', name, 'userPin') : undefined;
  const leaderPin = s.leaderPin ? secrets.get('Conference', name, 'leaderPin') : undefined;
  if (s.userPin && !userPin) problems.push('spec.userPin was not resolved');
  if (s.leaderPin && !leaderPin) problems.push('spec.leaderPin was not resolved');
  for (const [pin, what] of [[userPin, 'spec.userPin'], [leaderPin, 'spec.leaderPin']] as const) {
    const p = pin && secretProblem(pin, what, true);
    if (p) problems.push(p);
  }
  if (s.waitForLeader && !leaderPin) problems.push('spec.waitForLeader needs a spec.leaderPin: without a leader nobody could start the conference');
  if (userPin && leaderPin && userPin.reveal() === leaderPin.reveal()) problems.push('spec.userPin and spec.leaderPin are equal');
  if (!Number.isInteger(s.maxMembers) || s.maxMembers < 0) problems.push('spec.maxMembers must be a non-negative integer');
  if (problems.length > 0) return { containers: [], problems, numbers: [n] };

  const bridge: ConfVar[] = [v('type', 'bridge')];
  if (s.maxMembers > 0) bridge.push(v('max_members', String(s.maxMembers)));
  if (s.videoMode !== 'none') bridge.push(v('video_mode', s.videoMode));
  const common: ConfVar[] = [];
  if (s.announceJoinLeave) common.push(v('announce_join_leave', 'yes'));
  if (s.talkerOptimization) common.push(v('dsp_drop_silence', 'yes'), v('talk_detection_events', 'yes'));
  const user: ConfVar[] = [v('type', 'user')];
  if (userPin) user.push(v('pin', userPin));
  if (s.waitForLeader) user.push(v('wait_marked', 'yes'), v('music_on_hold_when_empty', 'yes'));
  user.push(...common);
  const sections: SectionSpec[] = [
    { role: 'confbridge', name: profileName(name, 'bridge'), type: 'bridge', vars: bridge },
    { role: 'confbridge', name: profileName(name, 'user'), type: 'user', vars: user },
  ];
  const exten = (value: string): LineSpec => ({ role: 'extensions', category: layout.context, var: 'exten', value });
  // The title reaches callers as the connected-line name their phone shows while it rings (PJSIP sends it in the
  // answer's identity headers); a config comment would be the other carrier, but UpdateConfig cannot write one.
  const title = dialplanText(s.title);
  const entry = (number: string, label: string | undefined, profile: string): LineSpec[] => {
    const first = label ? `1(${label})` : '1';
    const steps = title ? [`Set(CONNECTEDLINE(name)=${title})`, 'Answer()'] : ['Answer()'];
    steps.push(`ConfBridge(${n},${profileName(name, 'bridge')},${profile})`, 'Hangup()');
    return steps.map((app, i) => exten(`${number},${i === 0 ? first : i + 1},${app}`));
  };
  const lines: LineSpec[] = entry(n, name, profileName(name, 'user'));
  const numbers = [n];
  if (leaderPin) {
    const leader: ConfVar[] = [v('type', 'user'), v('pin', leaderPin), v('admin', 'yes'), v('marked', 'yes'), ...common];
    sections.push({ role: 'confbridge', name: profileName(name, 'leader'), type: 'user', vars: leader });
    const l = leaderNumber(n);
    lines.push(...entry(l, undefined, profileName(name, 'leader')));
    numbers.push(l);
  }
  return {
    object: { kind: 'Conference', key: conferenceKey(name), label: name, sections, lines },
    containers: [{ role: 'extensions', name: layout.context }],
    problems: [],
    numbers,
  };
}

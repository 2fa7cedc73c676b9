// Pure: where what Asterisk runs differs from the config infrasec wrote (field by field, secrets by fingerprint), and
// which fields cannot be read back from a running Asterisk at all.
import { REDACTED } from '../../desired/secret.ts';
import { sameSecret } from './fingerprint.ts';
import { type ConfVar, describeValue, hasSecret, type LineSpec, type LiveAsterisk, MODULE_OF, type ObjectKind, revealValue, type RunningFields, type RunningValue, type SectionSpec } from './model.ts';
import { lineSources, optionSources, sectionSources, VOICEMAIL_PARTS } from './provenance.ts';
import { parseExten } from './render.ts';
import type { AsteriskLayout } from './settings.ts';

export interface RunningDiff {
  readonly module: string;
  /** What differs, as a plan field path (`pjsip:endpoint[200].callerid`). */
  readonly path: string;
  /** What Asterisk runs ("(sensitive)" for a secret). */
  readonly before: unknown;
  /** What the file (and Git) says. */
  readonly after: unknown;
  readonly sensitive?: boolean;
  /** The field of the YAML object it comes from (`spec.nat`), when one does (see provenance.ts). */
  readonly from?: string;
  /** One sentence, never a secret. */
  readonly reason: string;
}

const lower = (s: string) => s.toLowerCase();
const TRUE = new Set(['yes', 'true', 'y', 't', '1', 'on', 'enabled', 'enabled (with review)']);
const yesNo = (v: string) => (TRUE.has(lower(v.trim())) ? 'yes' : 'no');

/** pjsip options whose rendering differs between the file and the *Detail events (booleans, enums, codec lists). */
const PJSIP_BOOLEANS = new Set([
  'direct_media', 'rtp_symmetric', 'force_rport', 'rewrite_contact', 'webrtc', 'use_avpf', 'dtls_auto_generate_cert', 'ice_support',
  'media_use_received_transport', 'rtcp_mux', 'remove_existing',
]);
const PJSIP_CASELESS = new Set(['dtmf_mode', 'media_encryption', 'dtls_verify', 'dtls_setup', 'auth_type']);
/** Options folded into another one in what res_pjsip shows (`disallow` into `Allow`), and the section type itself. */
const PJSIP_NOT_SHOWN = new Set(['type', 'disallow']);

function pjsipValue(option: string, v: string): string {
  if (PJSIP_BOOLEANS.has(option)) return yesNo(v);
  if (PJSIP_CASELESS.has(option)) return lower(v.trim());
  if (option === 'allow') return lower(v).replace(/[()]/g, '').split(/[|,]/).map((c) => c.trim()).filter(Boolean).join(',');
  return v.trim();
}

interface Sink {
  diffs: RunningDiff[];
  unreadable: Set<string>;
}

function compareValue(sink: Sink, module: string, path: string, v: ConfVar, running: RunningValue | undefined, normalise: (s: string) => string, what: string, from: string | undefined): void {
  if (running === undefined) {
    sink.unreadable.add(what);
    return;
  }
  const source = from === undefined ? {} : { from };
  if (hasSecret(v.value)) {
    if (!sameSecret(running, revealValue(v.value))) sink.diffs.push({ module, path, before: REDACTED, after: REDACTED, sensitive: true, ...source, reason: `${path} runs with another secret than the file's` });
    return;
  }
  const want = normalise(revealValue(v.value));
  const have = typeof running === 'string' ? normalise(running) : '(secret)';
  if (want !== have) sink.diffs.push({ module, path, before: typeof running === 'string' ? running : REDACTED, after: revealValue(v.value), ...source, reason: `${path} runs as ${JSON.stringify(typeof running === 'string' ? running : REDACTED)}` });
}

/** `{ from }` for a diff of an object's element, when a YAML field is behind it. */
function fromOf(sources: readonly string[]): { from?: string } {
  return sources[0] === undefined ? {} : { from: sources[0] };
}

function comparePjsip(sink: Sink, sections: readonly SectionSpec[], live: LiveAsterisk, layout: AsteriskLayout): void {
  const running = live.running.pjsip;
  if (!running) return;
  const module = MODULE_OF.pjsip;
  // aor and auth are read through their endpoint: when it is not loaded they are not known either.
  const unloaded = new Set<string>();
  for (const s of [...sections].sort((a, b) => (a.type === 'endpoint' ? -1 : 0) - (b.type === 'endpoint' ? -1 : 0))) {
    if (s.role !== 'pjsip') continue;
    const fields = running.get(`${s.type}/${lower(s.name)}`);
    if (!fields) {
      if (s.type === 'endpoint') unloaded.add(lower(s.name));
      else if (unloaded.size > 0) continue;
      sink.diffs.push({ module, path: `pjsip:${s.type}[${s.name}]`, before: 'not loaded', after: 'loaded', ...fromOf(sectionSources('Extension', s.name)), reason: `${s.type} ${s.name} is in ${layout.files.pjsip} but not loaded` });
      continue;
    }
    for (const v of s.vars) {
      const option = lower(v.name);
      if (PJSIP_NOT_SHOWN.has(option)) continue;
      compareValue(sink, module, `pjsip:${s.type}[${s.name}].${option}`, v, fields.get(option.replace(/_/g, '')), (x) => pjsipValue(option, x), `Extension/*: pjsip ${s.type} option ${option} (PJSIPShowEndpoint does not show it)`, optionSources('Extension', s.type, s.name, option)[0]);
    }
  }
}

function compareMailboxes(sink: Sink, lines: readonly LineSpec[], live: LiveAsterisk, layout: AsteriskLayout): void {
  const running = live.running.mailboxes;
  if (!running) return;
  const module = MODULE_OF.voicemail;
  for (const l of lines) {
    if (l.role !== 'voicemail') continue;
    const id = `${l.var}@${l.category}`;
    const loaded = running.get(lower(id));
    if (!loaded) {
      sink.diffs.push({ module, path: `voicemail:[${l.category}].${l.var}`, before: 'not loaded', after: 'loaded', from: 'spec.voicemail.enabled', reason: `mailbox ${id} is in ${layout.files.voicemail} but app_voicemail has not loaded it` });
      continue;
    }
    // `<pin>,<full name>,<email>,<pager>,<options>`: the PIN is never listed.
    const [, fullname = '', email = '', pager = '', options = ''] = describeValue(l.value).split(',');
    const attach = /(^|\|)attach=([^|]*)/.exec(options)?.[2];
    const pairs: Array<[string, string, string]> = [['fullname', fullname, loaded.fullname], ['email', email, loaded.email], ['pager', pager, loaded.pager]];
    if (attach !== undefined) pairs.push(['attach', yesNo(attach), yesNo(loaded.attach)]);
    for (const [field, want, have] of pairs) {
      if (want !== have) sink.diffs.push({ module, path: `voicemail:[${l.category}].${l.var}.${field}`, before: have, after: want, ...fromOf(VOICEMAIL_PARTS[field] ? [VOICEMAIL_PARTS[field]] : []), reason: `mailbox ${id} runs with ${field} ${JSON.stringify(have)}` });
    }
  }
}

/** `Dial(PJSIP/200,25)` → Dial, `PJSIP/200,25`: as pbx_config splits an application from its data. */
function appAndData(text: string): { app: string; data: string } {
  const t = text.trim();
  const open = t.indexOf('(');
  if (open < 0) return { app: t, data: '' };
  const close = t.lastIndexOf(')');
  return { app: t.slice(0, open), data: t.slice(open + 1, close > open ? close : undefined) };
}

function compareDialplan(sink: Sink, lines: readonly LineSpec[], live: LiveAsterisk, layout: AsteriskLayout, kind: ObjectKind | undefined): void {
  const running = live.running.dialplan;
  if (!running) return;
  const module = MODULE_OF.extensions;
  const byContext = new Map<string, LineSpec[]>();
  for (const l of lines) {
    if (l.role !== 'extensions' || lower(l.var) !== 'exten' || typeof l.value !== 'string') continue;
    const list = byContext.get(l.category) ?? [];
    list.push(l);
    byContext.set(l.category, list);
  }
  for (const [context, ls] of byContext) {
    const ctx = running.get(lower(context));
    if (ctx === undefined) continue;
    if (ctx === null) {
      sink.diffs.push({ module, path: `extensions:[${context}]`, before: 'not loaded', after: 'loaded', reason: `context [${context}] is not loaded` });
      continue;
    }
    const wanted = new Set<string>();
    const extens = new Set<string>();
    for (const l of ls) {
      const p = parseExten(l.value as string);
      if (!p) continue;
      const priority = lower(p.priority);
      wanted.add(`${p.exten}\u0000${priority}`);
      extens.add(p.exten);
      const want = priority === 'hint' ? { app: p.app, data: '' } : appAndData(p.app);
      const path = `extensions:[${context}].${p.exten},${priority}`;
      const loaded = ctx.priorities.find((x) => x.exten === p.exten && lower(x.priority) === priority);
      const source = kind === undefined ? {} : fromOf(lineSources(kind, l, layout));
      if (!loaded) sink.diffs.push({ module, path, before: 'not loaded', after: l.value, ...source, reason: `${p.exten},${priority} of [${context}] is not loaded` });
      else if (lower(loaded.app) !== lower(want.app) || loaded.data !== want.data || (priority !== 'hint' && loaded.label !== (p.label ?? ''))) {
        const shown = `${loaded.label ? `(${loaded.label}) ` : ''}${loaded.app}(${loaded.data})`;
        sink.diffs.push({ module, path, before: shown, after: l.value, ...source, reason: `${p.exten},${priority} of [${context}] runs ${shown}` });
      }
    }
    for (const x of ctx.priorities) {
      if (extens.has(x.exten) && !wanted.has(`${x.exten}\u0000${lower(x.priority)}`)) {
        sink.diffs.push({ module, path: `extensions:[${context}].${x.exten},${x.priority}`, before: `${x.app}(${x.data})`, after: null, reason: `${x.exten},${x.priority} of [${context}] is loaded but not in the file` });
      }
    }
  }
}

/** What `confbridge show profile` prints for the options infrasec sets, and their defaults when a section leaves them out. */
const CONFBRIDGE_FIELDS: Readonly<Record<string, Readonly<Record<string, { label: string; dflt: string; norm: (s: string) => string }>>>> = {
  user: {
    admin: { label: 'admin', dflt: 'no', norm: yesNo },
    marked: { label: 'marked user', dflt: 'no', norm: yesNo },
    wait_marked: { label: 'wait marked', dflt: 'no', norm: yesNo },
    music_on_hold_when_empty: { label: 'moh when empty', dflt: 'no', norm: yesNo },
    announce_join_leave: { label: 'announce join/leave', dflt: 'no', norm: yesNo },
    dsp_drop_silence: { label: 'drop_silence', dflt: 'no', norm: yesNo },
    talk_detection_events: { label: 'talk detect events', dflt: 'no', norm: yesNo },
  },
  bridge: {
    max_members: { label: 'max members', dflt: '0', norm: (s) => (lower(s) === 'no limit' ? '0' : s.trim()) },
    video_mode: { label: 'video mode', dflt: 'none', norm: (s) => (lower(s) === 'no video' ? 'none' : lower(s.trim())) },
  },
};

function compareConfbridge(sink: Sink, sections: readonly SectionSpec[], live: LiveAsterisk, layout: AsteriskLayout): void {
  const running = live.running.confbridge;
  if (!running || running === 'no-permission') return;
  const module = MODULE_OF.confbridge;
  for (const s of sections) {
    if (s.role !== 'confbridge') continue;
    const fields = running.get(lower(s.name));
    if (fields === undefined) continue;
    if (fields === null) {
      sink.diffs.push({ module, path: `confbridge:${s.type}[${s.name}]`, before: 'not loaded', after: 'loaded', ...fromOf(sectionSources('Conference', s.name)), reason: `profile ${s.name} is in ${layout.files.confbridge} but not loaded` });
      continue;
    }
    const known = CONFBRIDGE_FIELDS[s.type] ?? {};
    const set = new Map(s.vars.map((v) => [lower(v.name), v]));
    for (const v of s.vars) {
      const option = lower(v.name);
      if (option === 'type' || option === 'pin' || known[option]) continue;
      sink.unreadable.add(`Conference/*: confbridge ${s.type} option ${option} (not shown by "confbridge show profile")`);
    }
    for (const [option, f] of Object.entries(known)) {
      const v = set.get(option) ?? { name: option, value: f.dflt };
      compareValue(sink, module, `confbridge:${s.type}[${s.name}].${option}`, v, fields.get(f.label), f.norm, `Conference/*: confbridge ${s.type} option ${option}`, optionSources('Conference', s.type, s.name, option)[0]);
    }
    // A PIN the running profile has, or lacks, against the file's: compared whether or not the section sets one.
    if (s.type === 'user') {
      const pin = set.get('pin');
      const running = fields.get('pin');
      const want = pin ? revealValue(pin.value) : '';
      if (running !== undefined && !sameSecret(running, want)) {
        sink.diffs.push({ module, path: `confbridge:user[${s.name}].pin`, before: REDACTED, after: pin ? REDACTED : null, sensitive: true, ...fromOf(optionSources('Conference', 'user', s.name, 'pin')), reason: `profile ${s.name} runs with another PIN than the file's` });
      }
    }
  }
}

/**
 * Every difference between what Asterisk runs and these sections and lines (an object's, as the file holds them);
 * with the object's `kind`, each dialplan difference also names the YAML field it comes from.
 */
export function runningDiffs(sections: readonly SectionSpec[], lines: readonly LineSpec[], live: LiveAsterisk, layout: AsteriskLayout, unreadable?: Set<string>, kind?: ObjectKind): RunningDiff[] {
  const sink: Sink = { diffs: [], unreadable: unreadable ?? new Set() };
  comparePjsip(sink, sections, live, layout);
  compareMailboxes(sink, lines, live, layout);
  compareDialplan(sink, lines, live, layout, kind);
  compareConfbridge(sink, sections, live, layout);
  return sink.diffs;
}

/** The include line of [includeFrom] as the loaded dialplan has it, when the file has it. */
export function linkDiffs(live: LiveAsterisk, layout: AsteriskLayout): RunningDiff[] {
  if (!live.link.includes.some((k) => k > 0)) return [];
  const ctx = layout.includeFrom ? live.running.dialplan?.get(lower(layout.includeFrom)) : undefined;
  if (ctx === undefined) return [];
  const loaded = ctx !== null && ctx.includes.some((i) => lower(i) === lower(layout.context));
  if (loaded) return [];
  return [{
    module: MODULE_OF.extensions, path: `extensions:[${layout.includeFrom}].include`, before: ctx === null ? 'context not loaded' : 'not loaded', after: layout.context,
    reason: `the include => ${layout.context} line of [${layout.includeFrom}] is not loaded`,
  }];
}

/** Fields no AMI action shows for these objects with this AMI user, so their running value goes unchecked. */
export function unreadableFields(objects: ReadonlyArray<{ kind: string; sections: readonly SectionSpec[]; lines: readonly LineSpec[] }>, live: LiveAsterisk): string[] {
  const out: string[] = [];
  const has = (pred: (o: (typeof objects)[number]) => boolean) => objects.some(pred);
  if (has((o) => o.lines.some((l) => l.role === 'voicemail'))) {
    out.push('Extension/*: spec.voicemail.pin (app_voicemail lists its mailboxes without their PIN)');
    if (!live.running.mailboxes) out.push('Extension/*: spec.voicemail (VoicemailUsersList was refused: the AMI user needs write=call or reporting)');
  }
  if (has((o) => o.kind === 'Extension') && !live.running.pjsip) out.push('Extension/*: every pjsip option (PJSIPShowEndpoint was refused: the AMI user needs write=system)');
  if (has((o) => o.kind === 'Conference') && live.running.confbridge === 'no-permission') {
    out.push('Conference/*: spec.userPin, spec.leaderPin, spec.waitForLeader, spec.announceJoinLeave, spec.talkerOptimization, spec.maxMembers, spec.videoMode (only the CLI command "confbridge show profile" shows ConfBridge profiles: the AMI user needs write=command)');
  }
  if (objects.length > 0 && !live.running.dialplan) out.push('Extension/*, Conference/*: the loaded dialplan and where calls reach it (ShowDialPlan was refused: the AMI user needs write=config or reporting)');
  return out;
}

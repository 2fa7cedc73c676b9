// Test builders: desired Extensions/Conferences with their secrets, and live Asterisk state built from config sections.
import type { Conference, ConferenceSpec, DesiredState, Extension, ExtensionSpec, ResolvedState, SecretStore, SourceRef } from '../../../src/desired/model.ts';
import { API_VERSION } from '../../../src/desired/model.ts';
import { Secret, sha256Hex } from '../../../src/desired/secret.ts';
import {
  type AsteriskObject,
  type ConfSection,
  type ConfVar,
  describeValue,
  FILE_ROLES,
  hasSecret,
  type FileRole,
  type LiveAsterisk,
  type LiveFile,
  revealValue,
  type RunningFields,
  type RunningMailbox,
  type RunningPriority,
  type RunningState,
  type RunningValue,
} from '../../../src/reconcilers/asterisk/model.ts';
import { fingerprintOf } from '../../../src/reconcilers/asterisk/fingerprint.ts';
import { parseExten } from '../../../src/reconcilers/asterisk/render.ts';
import { groupOwned, includeLink, voicemailRoot } from '../../../src/reconcilers/asterisk/observe.ts';
import { type AsteriskLayout, resolveAsteriskSettings } from '../../../src/reconcilers/asterisk/settings.ts';

export const layout: AsteriskLayout = resolveAsteriskSettings({ host: '127.0.0.1', username: 'admin', secret: secret('amipass') }).layout;
/** The default instance's ownership template, `infrasec-managed-default`. */
export const OWNERSHIP_TEMPLATE = layout.template;

export function source(file: string): SourceRef {
  return { file, line: 3, col: 1, at: () => ({ line: 3, col: 1 }) };
}

export function secret(value: string): Secret {
  return new Secret(value, 'encrypted', sha256Hex(`age-ciphertext-of:${value}`));
}

/** A softphone extension as the loader hands it over (defaults filled). */
export function ext(name: string, number: string, spec: Partial<ExtensionSpec> = {}): Extension {
  const webrtc = spec.webrtc ?? false;
  return {
    apiVersion: API_VERSION,
    kind: 'Extension',
    metadata: { name },
    spec: {
      number,
      callerIdName: `Poste ${number}`,
      secret: { generate: true },
      transport: webrtc ? 'wss' : 'udp',
      webrtc,
      codecs: webrtc ? { audio: ['opus', 'g722', 'alaw', 'ulaw'], video: ['vp8'] } : { audio: ['g722', 'alaw', 'ulaw'], video: [] },
      dtmfMode: 'rfc4733',
      nat: true,
      maxContacts: webrtc ? 3 : 1,
      voicemail: { enabled: false, attach: true },
      messaging: webrtc,
      ...spec,
    },
    source: source(`telephony/${name}.yaml`),
  };
}

export function conf(name: string, number: string, spec: Partial<ConferenceSpec> = {}): Conference {
  return {
    apiVersion: API_VERSION,
    kind: 'Conference',
    metadata: { name },
    spec: { number, title: name, waitForLeader: false, talkerOptimization: true, announceJoinLeave: false, maxMembers: 0, videoMode: 'none', ...spec },
    source: source(`telephony/${name}.yaml`),
  };
}

export interface StateInput {
  readonly extensions?: readonly Extension[];
  readonly conferences?: readonly Conference[];
  /** People the extensions name as owner: name → enabled. */
  readonly users?: Readonly<Record<string, boolean>>;
  /** `Kind/name#field` → value. Extensions get `secret-<number>` unless given. */
  readonly secrets?: Readonly<Record<string, string>>;
}

export function state(input: StateInput): ResolvedState {
  const values = new Map<string, Secret>();
  for (const e of input.extensions ?? []) values.set(`Extension/${e.metadata.name}#secret`, secret(`Sip-${e.spec.number}-Secret`));
  for (const [k, v] of Object.entries(input.secrets ?? {})) values.set(k, secret(v));
  const store: SecretStore = { get: (kind, name, field) => values.get(`${kind}/${name}#${field}`) };
  const empty = new Map();
  const users = new Map(Object.entries(input.users ?? {}).map(([name, enabled]) => [name, { apiVersion: API_VERSION, kind: 'User', metadata: { name }, spec: { enabled }, source: source(`users/${name}.yaml`) }]));
  const resources: DesiredState = {
    users: users as unknown as DesiredState['users'],
    groups: empty,
    extensions: new Map((input.extensions ?? []).map((e) => [e.metadata.name, e])),
    conferences: new Map((input.conferences ?? []).map((c) => [c.metadata.name, c])),
    vpnProfiles: empty,
    firewallAliases: empty,
    firewallRules: empty,
    portForwards: empty,
    mailDomains: empty,
    mailAliases: empty,
  };
  return { resources, secrets: store, revision: 'test' };
}

/** A category as GetConfig would list it. `owned` adds the ownership template. */
export function section(name: string, vars: ReadonlyArray<readonly [string, string]>, owned = true): ConfSection {
  return { name, templates: owned ? [OWNERSHIP_TEMPLATE] : [], isTemplate: false, vars: vars.map(([n, v]) => ({ name: n, value: v })) };
}

export const TEMPLATE: ConfSection = { name: OWNERSHIP_TEMPLATE, templates: [], isTemplate: true, vars: [] };

export interface LiveInput {
  /** Extra categories per file (unowned GUI sections, hand edits). */
  readonly files?: Partial<Record<FileRole, readonly ConfSection[]>>;
  /** Desired objects already written exactly (as apply would). */
  readonly written?: readonly AsteriskObject[];
  readonly running?: RunningState;
  readonly pending?: readonly string[];
  /** Files that do not exist. */
  readonly missing?: readonly FileRole[];
  /**
   * The admin's [from-internal-custom] holding infrasec's include line, as apply leaves it. Default: present when a
   * written object has dialplan lines in infrasec's context.
   */
  readonly link?: boolean;
  /** voicemail.conf as app_voicemail loads it: its own sections, whether it #includes infrasec's file (default yes). */
  readonly voicemailConf?: { readonly sections?: readonly ConfSection[]; readonly includesOwnFile?: boolean; readonly exists?: boolean };
}

/** Live state as observe would build it from these file contents. */
export function live(input: LiveInput = {}): LiveAsterisk {
  const per: Record<FileRole, ConfSection[]> = { pjsip: [], confbridge: [], voicemail: [], extensions: [] };
  const containers = new Map<string, ConfSection>();
  for (const o of input.written ?? []) {
    for (const s of o.sections) per[s.role].push({ name: s.name, templates: [OWNERSHIP_TEMPLATE], isTemplate: false, vars: s.vars.map(copyVar) });
    for (const l of o.lines) {
      const key = `${l.role}/${l.category}`;
      let c = containers.get(key);
      if (!c) {
        c = { name: l.category, templates: [OWNERSHIP_TEMPLATE], isTemplate: false, vars: [] };
        containers.set(key, c);
        per[l.role].push(c);
      }
      (c.vars as ConfVar[]).push(copyVar({ name: l.var, value: l.value }));
    }
  }
  const dialplan = (input.written ?? []).some((o) => o.lines.some((l) => l.role === 'extensions' && l.category === layout.context));
  if (input.link ?? dialplan) per.extensions.push({ name: layout.includeFrom, templates: [], isTemplate: false, vars: [{ name: 'include', value: layout.context }] });
  for (const role of FILE_ROLES) {
    if ((input.written ?? []).some((o) => o.sections.some((s) => s.role === role) || o.lines.some((l) => l.role === role))) per[role].unshift(TEMPLATE);
    per[role].push(...(input.files?.[role] ?? []));
  }
  const files = {} as Record<FileRole, LiveFile>;
  for (const role of FILE_ROLES) {
    const exists = !(input.missing ?? []).includes(role);
    files[role] = { role, file: layout.files[role], exists, sections: exists ? per[role] : [], hasTemplate: per[role].some((s) => s.isTemplate && s.name === OWNERSHIP_TEMPLATE) };
  }
  const vc = input.voicemailConf ?? {};
  const rootSections = [...(vc.sections ?? []), ...(vc.includesOwnFile === false ? [] : files.voicemail.sections)];
  const root: LiveFile = { role: 'voicemail', file: layout.voicemailConf, exists: vc.exists ?? true, sections: rootSections, hasTemplate: rootSections.some((x) => x.isTemplate && x.name === OWNERSHIP_TEMPLATE) };
  return {
    files, ...groupOwned(files, layout), link: includeLink(files.extensions, layout), voicemailRoot: voicemailRoot(root, files.voicemail, layout),
    running: input.running ?? {}, pendingReloads: new Set(input.pending ?? []), observedAt: '2026-01-01T00:00:00.000Z',
  };
}

/** Live values are read back as text; secrets come back wrapped, as observe does it. */
function copyVar(v: ConfVar): ConfVar {
  if (typeof v.value === 'string') return { name: v.name, value: v.value };
  if (v.value instanceof Secret) return { name: v.name, value: new Secret(v.value.reveal(), 'env', 'live') };
  const text = revealValue(v.value);
  const comma = text.indexOf(',');
  return { name: v.name, value: [new Secret(comma < 0 ? text : text.slice(0, comma), 'env', 'live'), comma < 0 ? '' : text.slice(comma)] };
}

/**
 * What an Asterisk that loaded exactly these objects would report through AMI: pjsip details (secrets as
 * fingerprints), mailboxes, the dialplan of infrasec's contexts with the include line, every number answered in
 * infrasec's context, and the ConfBridge profiles.
 */
export function runningOf(objects: readonly AsteriskObject[]): Required<Omit<RunningState, 'endpoints'>> & Pick<RunningState, 'endpoints'> {
  const pjsip = new Map<string, RunningFields>();
  const endpoints = new Map<string, { name: string; aor: string; auths: string; transport: string }>();
  const mailboxes = new Map<string, RunningMailbox>();
  const contexts = new Map<string, { priorities: RunningPriority[]; includes: string[] }>();
  const ctx = (name: string) => {
    let c = contexts.get(name.toLowerCase());
    if (!c) contexts.set(name.toLowerCase(), (c = { priorities: [], includes: [] }));
    return c;
  };
  ctx(layout.context);
  ctx(layout.messageContext);
  ctx(layout.includeFrom).includes.push(layout.context);
  const reach = new Map<string, { answeredBy: string | null; reached: boolean }>();
  const confbridge = new Map<string, RunningFields | null>();
  const CB_LABELS: Record<string, string> = {
    admin: 'admin', marked: 'marked user', wait_marked: 'wait marked', music_on_hold_when_empty: 'moh when empty',
    announce_join_leave: 'announce join/leave', dsp_drop_silence: 'drop_silence', talk_detection_events: 'talk detect events', max_members: 'max members', video_mode: 'video mode',
  };
  for (const o of objects) {
    for (const s of o.sections) {
      if (s.role === 'pjsip') {
        const fields = new Map<string, RunningValue>();
        for (const v of s.vars) if (v.name !== 'type') fields.set(v.name.replace(/_/g, ''), hasSecret(v.value) ? fingerprintOf(revealValue(v.value)) : revealValue(v.value));
        pjsip.set(`${s.type}/${s.name.toLowerCase()}`, fields);
        if (s.type === 'endpoint') endpoints.set(s.name, { name: s.name, aor: String(fields.get('aors') ?? ''), auths: String(fields.get('auth') ?? ''), transport: String(fields.get('transport') ?? '') });
      }
      if (s.role === 'confbridge') {
        const fields = new Map<string, RunningValue>([['pin', fingerprintOf('')]]);
        if (s.type === 'user') for (const label of ['admin', 'marked user', 'wait marked', 'moh when empty', 'announce join/leave', 'drop_silence', 'talk detect events']) fields.set(label, 'false');
        else fields.set('max members', 'No Limit').set('video mode', 'no video');
        for (const v of s.vars) {
          if (v.name === 'pin') fields.set('pin', fingerprintOf(revealValue(v.value)));
          else if (CB_LABELS[v.name]) fields.set(CB_LABELS[v.name]!, revealValue(v.value));
        }
        confbridge.set(s.name.toLowerCase(), fields);
      }
    }
    for (const l of o.lines) {
      if (l.role === 'voicemail') {
        const [, fullname = '', email = '', pager = '', options = ''] = describeValue(l.value).split(',');
        mailboxes.set(`${l.var}@${l.category}`.toLowerCase(), { context: l.category, mailbox: l.var, fullname, email, pager, attach: /attach=yes/.test(options) ? 'Yes' : 'No' });
      }
      if (l.role === 'extensions' && typeof l.value === 'string') {
        const p = parseExten(l.value)!;
        const open = p.app.indexOf('(');
        const app = p.priority === 'hint' || open < 0 ? p.app : p.app.slice(0, open);
        const data = p.priority === 'hint' || open < 0 ? '' : p.app.slice(open + 1, p.app.lastIndexOf(')'));
        ctx(l.category).priorities.push({ exten: p.exten, priority: p.priority, label: p.label ?? '', app, data });
        if (l.category === layout.context) reach.set(p.exten, { answeredBy: layout.context, reached: true });
      }
    }
  }
  return { endpoints, pjsip, mailboxes, dialplan: contexts, reach, confbridge };
}

// Pure: which fields of an Extension's or Conference's YAML each option and owned line infrasec writes can come from.
import type { LineSpec, ObjectKind } from './model.ts';
import { parseExten } from './render.ts';
import type { AsteriskLayout } from './settings.ts';

const lower = (s: string) => s.toLowerCase();

/** pjsip options of an Extension and the YAML field that sets each; options left out come from the settings or are fixed. */
const EXTENSION_OPTIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  endpoint: {
    allow: 'spec.codecs',
    dtmf_mode: 'spec.dtmfMode',
    callerid: 'spec.callerIdName',
    transport: 'spec.transport',
    rtp_symmetric: 'spec.nat',
    force_rport: 'spec.nat',
    rewrite_contact: 'spec.nat',
    ...Object.fromEntries(
      ['webrtc', 'use_avpf', 'media_encryption', 'dtls_verify', 'dtls_setup', 'dtls_auto_generate_cert', 'ice_support', 'media_use_received_transport', 'rtcp_mux'].map((o) => [o, 'spec.webrtc']),
    ),
    mailboxes: 'spec.voicemail.enabled',
    message_context: 'spec.messaging',
    auth: 'spec.number',
    aors: 'spec.number',
  },
  aor: { max_contacts: 'spec.maxContacts', mailboxes: 'spec.voicemail.enabled' },
  auth: { password: 'spec.secret', username: 'spec.number' },
};

/** confbridge options of a Conference's profiles and the YAML field that sets each (`pin` depends on the profile). */
const CONFERENCE_OPTIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  bridge: { max_members: 'spec.maxMembers', video_mode: 'spec.videoMode' },
  user: {
    wait_marked: 'spec.waitForLeader',
    music_on_hold_when_empty: 'spec.waitForLeader',
    announce_join_leave: 'spec.announceJoinLeave',
    dsp_drop_silence: 'spec.talkerOptimization',
    talk_detection_events: 'spec.talkerOptimization',
    admin: 'spec.leaderPin',
    marked: 'spec.leaderPin',
  },
};

const isLeaderProfile = (section: string) => lower(section).endsWith('-leader');

/** The YAML fields a section's option can come from (most likely first); empty for plumbing no YAML field sets. */
export function optionSources(kind: ObjectKind, type: string, section: string, option: string): string[] {
  const o = lower(option);
  if (kind === 'Extension') {
    const from = EXTENSION_OPTIONS[lower(type)]?.[o];
    return from ? [from] : [];
  }
  if (o === 'pin') return [isLeaderProfile(section) ? 'spec.leaderPin' : 'spec.userPin'];
  const from = CONFERENCE_OPTIONS[lower(type)]?.[o];
  return from ? [from] : [];
}

/** The YAML fields a whole section exists for (it appears or goes when they change): an extension's number, a conference's leader PIN. */
export function sectionSources(kind: ObjectKind, section: string): string[] {
  if (kind === 'Extension') return ['spec.number'];
  return isLeaderProfile(section) ? ['spec.leaderPin'] : [];
}

/** The parts of a voicemail line (`<pin>,<full name>,<email>,<pager>,<options>`) and the YAML field behind each. */
export const VOICEMAIL_PARTS: Readonly<Record<string, string>> = {
  secret: 'spec.voicemail.pin',
  fullname: 'spec.callerIdName',
  email: 'spec.voicemail.email',
  attach: 'spec.voicemail.attach',
};

/**
 * The YAML fields an owned line can come from, most likely first: the one that places it (the number) before the
 * ones that shape it (maxContacts in the Dial target, the title of a conference), so a new object names its number.
 */
export function lineSources(kind: ObjectKind, line: Pick<LineSpec, 'role' | 'category' | 'value'>, layout: AsteriskLayout): string[] {
  if (line.role === 'voicemail') return ['spec.voicemail.enabled', 'spec.voicemail.email', 'spec.voicemail.attach', 'spec.callerIdName'];
  if (line.role !== 'extensions' || typeof line.value !== 'string') return [];
  if (kind === 'Extension' && lower(line.category) === lower(layout.messageContext)) return ['spec.messaging'];
  const p = parseExten(line.value);
  if (!p) return [];
  if (kind === 'Conference') {
    if (p.exten.endsWith('*')) return ['spec.leaderPin', 'spec.number', 'spec.title'];
    return /^set\(connectedline\(/i.test(p.app) ? ['spec.title', 'spec.number'] : ['spec.number', 'spec.title'];
  }
  if (lower(p.priority) === 'hint') return ['spec.number'];
  const app = lower(p.app);
  if (app.startsWith('dial(')) return ['spec.number', 'spec.maxContacts', 'metadata.name'];
  if (app.startsWith('voicemail(')) return ['spec.voicemail.enabled'];
  // Hangup moves one priority down when a VoiceMail step comes in before it.
  return ['spec.number', 'spec.voicemail.enabled'];
}

/**
 * The one YAML field a changed option or block of lines is shown under. `changed` says whether a YAML field holds
 * another value live than in Git (or cannot be read back). The first candidate that changed wins; when none did, an
 * element present on both sides changed for a reason outside the YAML (a setting: no field), and one present on one
 * side only (new, removed, or deleted by hand) goes under its first candidate.
 */
export function pickSource(candidates: readonly string[], changed: (path: string) => boolean, bothSides: boolean): string | undefined {
  const hit = candidates.find(changed);
  if (hit !== undefined) return hit;
  return bothSides ? undefined : candidates[0];
}

/** Candidates in order, without repeats. */
export function unionSources(lists: ReadonlyArray<readonly string[]>): string[] {
  return [...new Set(lists.flat())];
}

/** The candidates of a block of lines: a block that appears or goes whole is named by the number that places it. */
export function blockSources(lists: ReadonlyArray<readonly string[]>, bothSides: boolean): string[] {
  const all = unionSources(lists);
  return bothSides || !all.includes('spec.number') ? all : ['spec.number', ...all.filter((s) => s !== 'spec.number')];
}

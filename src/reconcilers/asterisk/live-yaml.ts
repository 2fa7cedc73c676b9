// Pure: reads the YAML fields of an Extension or Conference back from the config infrasec wrote for it, where one reading is unambiguous.
import { isDeepStrictEqual } from 'node:util';
import { valueAt } from '../../engine/yaml-fields.ts';
import { describeValue, hasSecret, type LineSpec, type ObjectKind, type SectionSpec } from './model.ts';
import { callerIdDisplay, dialplanText, parseExten } from './render.ts';
import type { AsteriskLayout } from './settings.ts';

const lower = (s: string) => s.toLowerCase();
const VIDEO_CODECS = new Set(['vp8', 'vp9', 'h264']);
const WEBRTC_EXPLICIT: ReadonlyArray<readonly [string, string]> = [
  ['use_avpf', 'yes'], ['media_encryption', 'dtls'], ['dtls_verify', 'fingerprint'], ['dtls_setup', 'actpass'],
  ['dtls_auto_generate_cert', 'yes'], ['ice_support', 'yes'], ['media_use_received_transport', 'yes'], ['rtcp_mux', 'yes'],
];

/** What the YAML means when it leaves a field out, as the renderer reads it (`attach` absent writes attach=yes). */
const YAML_DEFAULTS: Readonly<Record<string, unknown>> = { 'spec.voicemail.attach': true };
/** Fields the config holds in a cleaned-up form: the YAML value is compared in that form. */
const AS_WRITTEN: Readonly<Record<string, (v: string) => string>> = { 'spec.callerIdName': callerIdDisplay, 'spec.title': dialplanText };

/**
 * The YAML value at `path` as the live config holds it: null for "not set", undefined when it cannot be read back
 * (a secret, a mixed state such as one of the three nat options removed by hand, nothing written yet).
 */
export type LiveYaml = (path: string) => unknown;

/** One option's value, the last one when repeated; undefined when absent or secret. */
function option(section: SectionSpec | undefined, name: string): string | undefined {
  const v = section?.vars.filter((x) => lower(x.name) === name).at(-1);
  return v === undefined || hasSecret(v.value) ? undefined : describeValue(v.value).trim();
}
const has = (section: SectionSpec | undefined, name: string) => section?.vars.some((x) => lower(x.name) === name) ?? false;
const yes = (v: string | undefined) => v !== undefined && ['yes', 'true', '1', 'on'].includes(lower(v));

/** All of these options set as listed: true; none of them: false; anything in between cannot be read back. */
function allOrNone(section: SectionSpec | undefined, options: ReadonlyArray<readonly [string, string]>): boolean | undefined {
  if (!section) return undefined;
  const set = options.filter(([o]) => has(section, o));
  if (set.length === 0) return false;
  return set.length === options.length && options.every(([o, want]) => lower(option(section, o) ?? '') === want) ? true : undefined;
}

export function liveExtension(sections: readonly SectionSpec[], lines: readonly LineSpec[], layout: AsteriskLayout): LiveYaml {
  const ofType = (t: string) => sections.filter((s) => s.role === 'pjsip' && s.type === t).at(-1);
  const endpoint = ofType('endpoint');
  const aor = ofType('aor');
  const mailbox = lines.find((l) => l.role === 'voicemail');
  // `<pin>,<full name>,<email>,<pager>,<options>`
  const parts = mailbox ? describeValue(mailbox.value).split(',') : undefined;
  const dial = lines.map((l) => (l.role === 'extensions' && typeof l.value === 'string' ? parseExten(l.value) : undefined)).find((p) => p?.label !== undefined && p.priority === '1');
  return (path) => {
    switch (path) {
      case 'metadata.name':
        return dial?.label;
      case 'spec.number':
        return endpoint?.name ?? aor?.name ?? dial?.exten;
      case 'spec.callerIdName': {
        const m = /^"(.*)"\s*<[^>]*>$/.exec(option(endpoint, 'callerid') ?? '');
        return m ? m[1] : undefined;
      }
      case 'spec.codecs': {
        const allow = option(endpoint, 'allow');
        if (allow === undefined) return undefined;
        const codecs = allow.split(',').map((c) => lower(c.trim())).filter(Boolean);
        return { audio: codecs.filter((c) => !VIDEO_CODECS.has(c)), video: codecs.filter((c) => VIDEO_CODECS.has(c)) };
      }
      case 'spec.dtmfMode':
        return option(endpoint, 'dtmf_mode');
      case 'spec.nat':
        return allOrNone(endpoint, [['rtp_symmetric', 'yes'], ['force_rport', 'yes'], ['rewrite_contact', 'yes']]);
      case 'spec.webrtc':
        if (!endpoint) return undefined;
        if (has(endpoint, 'webrtc')) return WEBRTC_EXPLICIT.some(([o]) => has(endpoint, o)) ? undefined : yes(option(endpoint, 'webrtc'));
        return allOrNone(endpoint, WEBRTC_EXPLICIT);
      case 'spec.transport': {
        if (!endpoint) return undefined;
        const t = option(endpoint, 'transport');
        const keys = Object.entries(layout.transports).filter(([, name]) => name !== undefined && t !== undefined && lower(name) === lower(t)).map(([k]) => k);
        return keys.length === 1 ? keys[0] : undefined;
      }
      case 'spec.maxContacts': {
        const n = Number(option(aor, 'max_contacts'));
        return Number.isInteger(n) && n > 0 ? n : undefined;
      }
      case 'spec.messaging':
        return endpoint ? has(endpoint, 'message_context') : undefined;
      case 'spec.voicemail.enabled':
        return endpoint ? has(endpoint, 'mailboxes') || mailbox !== undefined : undefined;
      case 'spec.voicemail.email':
        return parts ? parts[2] || null : undefined;
      case 'spec.voicemail.attach': {
        const attach = parts ? /(^|\|)attach=([^|]*)/.exec(parts.slice(4).join(','))?.[2] : undefined;
        return attach === undefined ? undefined : yes(attach);
      }
      default:
        return undefined;
    }
  };
}

export function liveConference(sections: readonly SectionSpec[], lines: readonly LineSpec[]): LiveYaml {
  const profile = (suffix: string) => sections.filter((s) => s.role === 'confbridge' && lower(s.name).endsWith(`-${suffix}`)).at(-1);
  const bridge = profile('bridge');
  const user = profile('user');
  const entries = lines.map((l) => (l.role === 'extensions' && typeof l.value === 'string' ? parseExten(l.value) : undefined)).filter((p) => p !== undefined);
  const first = entries.find((p) => p.priority === '1' && p.label !== undefined);
  return (path) => {
    switch (path) {
      case 'metadata.name':
        return bridge ? bridge.name.slice(0, -'-bridge'.length) : first?.label;
      case 'spec.number':
        return first?.exten;
      case 'spec.title': {
        if (entries.length === 0) return undefined;
        const set = entries.find((p) => p.exten === first?.exten && /^Set\(CONNECTEDLINE\(name\)=/i.test(p.app));
        return set ? set.app.slice(set.app.indexOf('=') + 1, -1) : '';
      }
      case 'spec.maxMembers': {
        if (!bridge) return undefined;
        const n = Number(option(bridge, 'max_members') ?? '0');
        return Number.isInteger(n) ? n : undefined;
      }
      case 'spec.videoMode':
        return bridge ? (option(bridge, 'video_mode') ?? 'none') : undefined;
      case 'spec.waitForLeader':
        return allOrNone(user, [['wait_marked', 'yes'], ['music_on_hold_when_empty', 'yes']]);
      case 'spec.announceJoinLeave':
        return user ? yes(option(user, 'announce_join_leave')) : undefined;
      case 'spec.talkerOptimization':
        return allOrNone(user, [['dsp_drop_silence', 'yes'], ['talk_detection_events', 'yes']]);
      default:
        return undefined;
    }
  };
}

/** The live reading of an object's config, for its kind. */
export function liveYaml(kind: ObjectKind, sections: readonly SectionSpec[], lines: readonly LineSpec[], layout: AsteriskLayout): LiveYaml {
  return kind === 'Extension' ? liveExtension(sections, lines, layout) : liveConference(sections, lines);
}

/** The YAML object's value at `path` in the form the live reading gives it (defaults applied, text as written). */
export function yamlAsWritten(resource: unknown, path: string): unknown {
  const v = valueAt(resource, path) ?? YAML_DEFAULTS[path] ?? null;
  const clean = AS_WRITTEN[path];
  return clean && typeof v === 'string' ? clean(v) : v;
}

/** Whether the live config holds another value for `path` than the YAML object, or one that cannot be read back. */
export function differs(read: LiveYaml, resource: unknown, path: string): boolean {
  const live = read(path);
  return live === undefined || !isDeepStrictEqual(live, yamlAsWritten(resource, path));
}

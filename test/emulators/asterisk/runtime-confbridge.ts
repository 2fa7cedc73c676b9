// The "running" app_confbridge: profiles loaded from confbridge.conf and the conferences that currently have callers.
import { asciiLower, astTrue, strcaseeq } from './c-strings.js';
import type { ConfTree } from './conf-model.js';
import { loadConfig } from './conf-parser.js';

export type ProfileType = 'bridge' | 'user' | 'menu';

export interface ConfbridgeProfile {
  name: string;
  type: ProfileType;
  options: Map<string, string>;
}

const BRIDGE_OPTIONS = new Set([
  'type', 'max_members', 'record_conference', 'record_file', 'record_file_append', 'record_file_timestamp',
  'record_options', 'record_command', 'internal_sample_rate', 'maximum_sample_rate', 'language', 'mixing_interval',
  'binaural_active', 'video_mode', 'video_update_discard', 'remb_send_interval', 'remb_behavior',
  'remb_estimated_bitrate', 'enable_events', 'regcontext', 'template', 'sound_prefix', 'averaging_interval',
]);

const USER_OPTIONS = new Set([
  'type', 'admin', 'send_events', 'echo_events', 'marked', 'startmuted', 'music_on_hold_when_empty',
  'music_on_hold_class', 'quiet', 'hear_own_join_sound', 'announce_user_count', 'announce_user_count_all',
  'announce_only_user', 'wait_marked', 'end_marked', 'end_marked_any', 'talk_detection_events', 'dtmf_passthrough',
  'announce_join_leave', 'announce_join_leave_review', 'pin', 'announcement', 'denoise', 'dsp_drop_silence',
  'dsp_silence_threshold', 'dsp_talking_threshold', 'jitterbuffer', 'template', 'timeout', 'text_messaging',
  'answer_channel', 'hear_own_join_sound',
]);

function builtins(): Map<string, ConfbridgeProfile> {
  const m = new Map<string, ConfbridgeProfile>();
  m.set('default_bridge', { name: 'default_bridge', type: 'bridge', options: new Map() });
  m.set('default_user', { name: 'default_user', type: 'user', options: new Map() });
  m.set('default_menu', { name: 'default_menu', type: 'menu', options: new Map() });
  return m;
}

export interface Participant {
  channel: string;
  uniqueid: string;
  conference: string;
  callerIdNum: string;
  callerIdName: string;
  context: string;
  exten: string;
  priority: number;
  profile: ConfbridgeProfile;
  muted: boolean;
  joinedAt: number;
}

export interface Conference {
  name: string;
  bridgeProfile: ConfbridgeProfile;
  users: Participant[];
  locked: boolean;
  muted: boolean;
}

export interface JoinOptions {
  conference: string;
  bridgeProfile?: string;
  userProfile?: string;
  callerIdNum?: string;
  callerIdName?: string;
  /** PIN "typed" by the caller; required when the user profile has a pin. */
  pin?: string;
  context?: string;
  exten?: string;
  priority?: number;
}

export class ConfbridgeRuntime {
  private profiles = builtins();
  private conferences = new Map<string, Conference>();
  private channelSeq = 0;
  loadedTree: ConfTree | null = null;

  constructor(private readonly configDir: string) {}

  /**
   * conf_reload_config(): the whole file is processed as one unit; a parse error, a category of unknown type or an
   * unknown option keeps the previous profiles and the reload reports an error (status 3).
   */
  reload(): number {
    const tree = loadConfig(this.configDir, 'confbridge.conf');
    if (tree === 'invalid') return 3;
    if (tree === 'missing') return 3;
    const next = builtins();
    for (const cat of tree.categories) {
      if (cat.ignored) continue;
      if (strcaseeq(cat.name, 'general')) continue;
      const typeVar = cat.vars.find((v) => strcaseeq(v.name, 'type'));
      const type = typeVar ? asciiLower(typeVar.value) : '';
      if (type !== 'bridge' && type !== 'user' && type !== 'menu') return 3;
      const options = new Map<string, string>();
      for (const v of cat.vars) {
        const name = asciiLower(v.name);
        if (type === 'bridge' && !BRIDGE_OPTIONS.has(name) && !name.startsWith('sound_')) return 3;
        if (type === 'user' && !USER_OPTIONS.has(name)) return 3;
        options.set(name, v.value);
      }
      next.set(cat.name, { name: cat.name, type, options });
    }
    this.profiles = next;
    this.loadedTree = tree;
    return 0;
  }

  profile(name: string, type: ProfileType): ConfbridgeProfile | undefined {
    const p = this.profiles.get(name);
    return p && p.type === type ? p : undefined;
  }

  /** What ConfBridge(conference,bridge_profile,user_profile) does for one caller. Throws when it would fail. */
  join(opts: JoinOptions): Participant {
    const bridge = this.profile(opts.bridgeProfile || 'default_bridge', 'bridge');
    if (!bridge) throw new Error(`Conference bridge profile ${opts.bridgeProfile} does not exist`);
    const user = this.profile(opts.userProfile || 'default_user', 'user');
    if (!user) throw new Error(`Conference user profile ${opts.userProfile} does not exist`);
    const pin = user.options.get('pin');
    if (pin && opts.pin !== pin) throw new Error('Conference PIN rejected');
    let conf = this.conferences.get(opts.conference);
    if (!conf) {
      conf = { name: opts.conference, bridgeProfile: bridge, users: [], locked: false, muted: false };
      this.conferences.set(opts.conference, conf);
    }
    const max = Number.parseInt(conf.bridgeProfile.options.get('max_members') ?? '0', 10);
    if (max > 0 && conf.users.length >= max) throw new Error('Conference is full');
    this.channelSeq++;
    const num = opts.callerIdNum ?? '';
    const p: Participant = {
      channel: `PJSIP/${num || 'anonymous'}-${this.channelSeq.toString(16).padStart(8, '0')}`,
      uniqueid: `${Math.floor(Date.now() / 1000)}.${this.channelSeq}`,
      conference: opts.conference,
      callerIdNum: num,
      callerIdName: opts.callerIdName ?? '',
      context: opts.context ?? '',
      exten: opts.exten ?? '',
      priority: opts.priority ?? 1,
      profile: user,
      muted: astTrue(user.options.get('startmuted')),
      joinedAt: Date.now(),
    };
    conf.users.push(p);
    return p;
  }

  /** Hang a participant up; the conference disappears with its last caller. */
  leave(channel: string): boolean {
    for (const conf of this.conferences.values()) {
      const i = conf.users.findIndex((u) => u.channel === channel);
      if (i >= 0) {
        conf.users.splice(i, 1);
        if (conf.users.length === 0) this.conferences.delete(conf.name);
        return true;
      }
    }
    return false;
  }

  list(): Conference[] {
    return [...this.conferences.values()];
  }

  get(name: string): Conference | undefined {
    return this.conferences.get(name);
  }

  static flag(p: Participant, option: string): boolean {
    return astTrue(p.profile.options.get(option));
  }

  /** A wait_marked user waits while no marked user is in the conference. */
  static waiting(conf: Conference, p: Participant): boolean {
    if (!ConfbridgeRuntime.flag(p, 'wait_marked')) return false;
    return !conf.users.some((u) => ConfbridgeRuntime.flag(u, 'marked'));
  }
}

// `confbridge show profile user|bridge <name>`: the loaded ConfBridge profiles as app_confbridge's CLI prints them.
import { astTrue } from './c-strings.js';
import type { ConfbridgeProfile } from './runtime-confbridge.js';

/** confbridge.h DEFAULT_SILENCE_THRESHOLD / DEFAULT_TALKING_THRESHOLD */
const SILENCE_THRESHOLD = 2500;
const TALKING_THRESHOLD = 160;

/** An OPT_BOOLFLAG_T option with its registered default. */
function flag(p: ConfbridgeProfile, option: string, dflt: boolean): boolean {
  const v = p.options.get(option);
  return v === undefined ? dflt : astTrue(v);
}

function uint(p: ConfbridgeProfile, option: string, dflt: number): number {
  const n = Number.parseInt(p.options.get(option) ?? '', 10);
  return Number.isFinite(n) && n >= 0 ? n : dflt;
}

/** handle_cli_confbridge_show_user_profile() (apps/confbridge/conf_config_parser.c). */
export function showUserProfile(p: ConfbridgeProfile): string {
  const tf = (o: string, d = false) => (flag(p, o, d) ? 'true' : 'false');
  const ed = (o: string, d = false) => (flag(p, o, d) ? 'enabled' : 'disabled');
  const joinLeave = flag(p, 'announce_join_leave_review', false) ? 'enabled (with review)' : flag(p, 'announce_join_leave', false) ? 'enabled' : 'disabled';
  const pin = p.options.get('pin') ?? '';
  return [
    '--------------------------------------------',
    `Name:                    ${p.name}`,
    `Admin:                   ${tf('admin')}`,
    `Send Events:             ${tf('send_events')}`,
    `Echo Events:             ${tf('echo_events')}`,
    `Marked User:             ${tf('marked')}`,
    `Start Muted:             ${tf('startmuted')}`,
    `MOH When Empty:          ${ed('music_on_hold_when_empty')}`,
    `MOH Class:               ${p.options.get('music_on_hold_class') || 'default'}`,
    `Announcement:            ${p.options.get('announcement') ?? ''}`,
    `Quiet:                   ${ed('quiet')}`,
    `Hear Join:               ${ed('hear_own_join_sound', true)}`,
    `Wait Marked:             ${ed('wait_marked')}`,
    `END Marked (All):        ${ed('end_marked')}`,
    `END Marked (Any):        ${ed('end_marked_any')}`,
    `Drop_silence:            ${ed('dsp_drop_silence')}`,
    `Silence Threshold:       ${uint(p, 'dsp_silence_threshold', SILENCE_THRESHOLD)}ms`,
    `Talking Threshold:       ${uint(p, 'dsp_talking_threshold', TALKING_THRESHOLD)}`,
    `Denoise:                 ${ed('denoise')}`,
    `Jitterbuffer:            ${ed('jitterbuffer')}`,
    `Talk Detect Events:      ${ed('talk_detection_events')}`,
    `DTMF Pass Through:       ${ed('dtmf_passthrough')}`,
    `PIN:                     ${pin === '' ? 'None' : pin}`,
    `Announce User Count:     ${ed('announce_user_count')}`,
    `Announce join/leave:     ${joinLeave}`,
    `Announce User Count all: ${ed('announce_user_count_all')}`,
    `Text Messaging:          ${ed('text_messaging', true)}`,
    `Answer Channel:          ${tf('answer_channel', true)}`,
    '',
    '',
  ].join('\n');
}

const VIDEO_MODES: Record<string, string> = { last_marked: 'last_marked', first_marked: 'first_marked', follow_talker: 'follow_talker', sfu: 'sfu' };

/**
 * handle_cli_confbridge_show_bridge_profile(), up to "Enable Events". The sound_* lines that follow in Asterisk are
 * not emulated (the emulator keeps no sound table).
 */
export function showBridgeProfile(p: ConfbridgeProfile): string {
  const yn = (o: string, d = false) => (flag(p, o, d) ? 'yes' : 'no');
  const internal = uint(p, 'internal_sample_rate', 0);
  const maximum = uint(p, 'maximum_sample_rate', 0);
  const mix = uint(p, 'mixing_interval', 0);
  const max = uint(p, 'max_members', 0);
  const video = VIDEO_MODES[(p.options.get('video_mode') ?? '').toLowerCase()] ?? 'no video';
  return [
    '--------------------------------------------',
    `Name:                 ${p.name}`,
    `Language:             ${p.options.get('language') ?? 'en'}`,
    `Internal Sample Rate: ${internal ? internal : 'auto'}`,
    `Maximum Sample Rate: ${maximum ? maximum : 'none'}`,
    mix ? `Mixing Interval:      ${mix}` : 'Mixing Interval:      Default 20ms',
    `Record Conference:    ${yn('record_conference')}`,
    `Record File Append:    ${yn('record_file_append', true)}`,
    `Record File Timestamp: ${yn('record_file_timestamp', true)}`,
    `Record File:          ${p.options.get('record_file') || 'Auto Generated'}`,
    `Record Options:       ${p.options.get('record_options') ?? ''}`,
    `Record Command:       ${p.options.get('record_command') ?? ''}`,
    max ? `Max Members:          ${max}` : 'Max Members:          No Limit',
    `Registration context: ${p.options.get('regcontext') ?? ''}`,
    `Video Mode:           ${video}`,
    `Video Update Discard: ${uint(p, 'video_update_discard', 2000)}`,
    `REMB Send Interval: ${uint(p, 'remb_send_interval', 0)}`,
    `REMB Behavior:           ${p.options.get('remb_behavior') || 'average'}`,
    `Enable Events:             ${yn('enable_events')}`,
    '',
  ].join('\n');
}

// The Asterisk CLI commands reachable through Action: Command (a small subset), with the CLI's "No such command" text.
import { asciiLower } from './c-strings.js';
import { showBridgeProfile, showUserProfile } from './cli-confbridge.js';
import { RELOAD, type AsteriskRuntime } from './runtime.js';

export interface CliResult {
  /** RESULT_SUCCESS; anything else makes the Command action answer Response: Error. */
  ok: boolean;
  output: string;
}

export interface CliContext {
  runtime: AsteriskRuntime;
  version: string;
  buildDate: Date;
}

/**
 * Word lists of commands registered in a stock Asterisk 22 (used only to reproduce find_best() in the
 * "No such command" message). `[x]` marks an optional trailing word.
 */
const REGISTERED = [
  '!',
  'core show version', 'core show uptime [seconds]', 'core show help', 'core show settings', 'core show sysinfo',
  'core show channels', 'core show channel', 'core show threads', 'core show taskprocessors', 'core show codecs',
  'core show hints', 'core show calls', 'core show functions', 'core show function', 'core show applications',
  'core show application', 'core show globals', 'core show license', 'core show warranty', 'core show translation',
  'core stop now', 'core stop gracefully', 'core stop when convenient', 'core restart now', 'core restart gracefully',
  'core restart when convenient', 'core abort shutdown', 'core reload', 'core waitfullybooted', 'core set verbose',
  'core set debug', 'module reload', 'module load', 'module unload', 'module show', 'module refresh',
  'dialplan reload', 'dialplan show', 'dialplan save', 'dialplan add extension', 'dialplan remove extension',
  'dialplan set global', 'pjsip show endpoints', 'pjsip show endpoint', 'pjsip show aors', 'pjsip show aor',
  'pjsip show auths', 'pjsip show auth', 'pjsip show contacts', 'pjsip show contact', 'pjsip show transports',
  'pjsip show transport', 'pjsip show identifies', 'pjsip show identify', 'pjsip show registrations',
  'pjsip show channels', 'pjsip show version', 'pjsip show settings', 'pjsip reload', 'pjsip qualify',
  'pjsip list endpoints', 'pjsip list aors', 'pjsip list auths', 'pjsip list contacts', 'pjsip send notify',
  'voicemail show users', 'voicemail show zones', 'voicemail reload', 'confbridge list', 'confbridge kick',
  'confbridge mute', 'confbridge unmute', 'confbridge lock', 'confbridge unlock', 'confbridge show profile bridges',
  'confbridge show profile users', 'confbridge show profile bridge', 'confbridge show profile user', 'confbridge show menus', 'manager show commands', 'manager show command',
  'manager show connected', 'manager show users', 'manager show user', 'manager show settings', 'manager reload',
  'logger reload', 'logger rotate', 'logger show channels', 'database show', 'database put', 'database get',
  'database del', 'database deltree', 'channel originate', 'channel request hangup', 'bridge show all',
].map((c) => c.split(' '));

/** find_cli(words, -1) != NULL, for a command table without wildcard words. */
function findCliPartial(words: string[]): boolean {
  for (const entry of REGISTERED) {
    const required = entry[entry.length - 1]?.startsWith('[') ? entry.slice(0, -1) : entry;
    let i = 0;
    while (i < words.length && i < required.length && asciiLower(words[i] as string) === required[i]) i++;
    if (i === required.length && i === words.length) return true;
    if (i < required.length && i < words.length && i === words.length - 1 && i === required.length - 1) return true;
  }
  return false;
}

/** find_best(): the words kept while some command could still match, plus the first one that cannot. */
function findBest(words: string[]): string {
  const kept: string[] = [];
  for (const w of words) {
    kept.push(w);
    if (!findCliPartial(kept)) break;
  }
  return kept.join(' ');
}

/** print_uptimestr() */
function uptimeString(seconds: number): string {
  let s = Math.max(0, Math.floor(seconds));
  const parts: string[] = [];
  const units: Array<[number, string]> = [
    [365 * 86400, 'year'],
    [7 * 86400, 'week'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of units) {
    if (s > size) {
      const x = Math.floor(s / size);
      s -= x * size;
      parts.push(`${x} ${name}${x === 1 ? '' : 's'}`);
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s} second${s === 1 ? '' : 's'}`);
  return parts.join(', ');
}

function utcStamp(d: Date): string {
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

function reloadMessage(name: string, status: number): string {
  switch (status) {
    case RELOAD.NOT_FOUND:
      return `No such module '${name}'\n`;
    case RELOAD.NOT_IMPLEMENTED:
      return `The module '${name}' does not support reloads\n`;
    case RELOAD.QUEUED:
      return 'Asterisk cannot reload a module yet; request queued\n';
    case RELOAD.ERROR:
      return `The module '${name}' reported a reload failure\n`;
    case RELOAD.IN_PROGRESS:
      return 'A module reload request is already in progress; please be patient\n';
    case RELOAD.UNINITIALIZED:
      return `The module '${name}' was not properly initialized. Before reloading the module, you must run "module load ${name}" and fix whatever is preventing the module from being initialized.\n`;
    default:
      return `Module '${name}' reloaded successfully.\n`;
  }
}

/** ast_cli_command(): run one CLI line and return its raw output. */
export function runCli(line: string, ctx: CliContext): CliResult {
  const words = line.split(/[ \t]+/).filter((w) => w !== '');
  const lw = words.map(asciiLower);
  const is = (...expect: string[]) => expect.length === lw.length && expect.every((w, i) => lw[i] === w);
  const now = Date.now();

  if (is('core', 'show', 'version')) {
    return { ok: true, output: `Asterisk ${ctx.version} built by root @ vm on a x86_64 running Linux on ${utcStamp(ctx.buildDate)} UTC\n` };
  }
  if (is('core', 'show', 'uptime') || is('core', 'show', 'uptime', 'seconds')) {
    const secs = lw.length === 4;
    const up = (now - ctx.runtime.startTime) / 1000;
    const rl = (now - ctx.runtime.lastReloadTime) / 1000;
    const fmt = (v: number) => (secs ? String(Math.floor(v)) : uptimeString(v));
    return { ok: true, output: `System uptime: ${fmt(up)}\nLast reload: ${fmt(rl)}\n` };
  }
  if (is('pjsip', 'show', 'endpoints')) {
    return { ok: true, output: ctx.runtime.pjsip.cliShowEndpoints() };
  }
  if (lw.length === 5 && lw[0] === 'confbridge' && lw[1] === 'show' && lw[2] === 'profile' && (lw[3] === 'user' || lw[3] === 'bridge')) {
    const type = lw[3];
    const p = ctx.runtime.confbridge.profile(words[4] as string, type);
    if (!p) return { ok: true, output: `No conference ${type} profile named '${words[4]}' found!\n` };
    return { ok: true, output: type === 'user' ? showUserProfile(p) : showBridgeProfile(p) };
  }
  if (is('dialplan', 'reload')) {
    ctx.runtime.dialplan.reload();
    return { ok: true, output: 'Dialplan reloaded.\n' };
  }
  if (lw.length >= 2 && lw.length <= 3 && lw[0] === 'dialplan' && lw[1] === 'show') {
    const r = ctx.runtime.dialplan.cliShow(words[2] ?? '');
    return { ok: r.ok, output: r.text };
  }
  if (is('core', 'reload') || is('module', 'reload')) {
    ctx.runtime.reload(null);
    return { ok: true, output: '' };
  }
  if (lw.length > 2 && lw[0] === 'module' && lw[1] === 'reload') {
    let out = '';
    for (const name of words.slice(2)) out += reloadMessage(name, ctx.runtime.reload(name));
    return { ok: true, output: out };
  }
  return {
    ok: false,
    output: `No such command '${line}' (type 'core show help ${findBest(words)}' for other possible commands)\n`,
  };
}

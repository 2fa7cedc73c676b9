// The emulated Asterisk core: loaded modules, ast_module_reload() with its statuses and Reload events, test calls.
import { asciiLower, astStrip } from './c-strings.js';
import { ConfbridgeRuntime, type Participant } from './runtime-confbridge.js';
import { DialplanRuntime } from './runtime-dialplan.js';
import { PjsipRuntime } from './runtime-pjsip.js';
import { VoicemailRuntime } from './runtime-voicemail.js';

/** enum ast_module_reload_result */
export const RELOAD = {
  SUCCESS: 0,
  QUEUED: 1,
  NOT_FOUND: 2,
  ERROR: 3,
  IN_PROGRESS: 4,
  UNINITIALIZED: 5,
  NOT_IMPLEMENTED: 6,
} as const;

export type ReloadEventSink = (module: string, status: number) => void;

/** A module the emulated Asterisk knows: its reload callback, or null when it has none. */
interface ModuleEntry {
  name: string;
  reload: (() => number) | null;
}

export class AsteriskRuntime {
  readonly pjsip: PjsipRuntime;
  readonly confbridge: ConfbridgeRuntime;
  readonly voicemail: VoicemailRuntime;
  readonly dialplan: DialplanRuntime;
  readonly startTime = Date.now();
  lastReloadTime = Date.now();
  private readonly modules: ModuleEntry[];

  constructor(
    configDir: string,
    private readonly onReload: ReloadEventSink,
  ) {
    this.pjsip = new PjsipRuntime(configDir);
    this.confbridge = new ConfbridgeRuntime(configDir);
    this.voicemail = new VoicemailRuntime(configDir);
    this.dialplan = new DialplanRuntime(configDir);
    const noop = () => RELOAD.SUCCESS;
    this.modules = [
      { name: 'res_pjsip', reload: () => this.pjsip.reload() },
      { name: 'pbx_config', reload: () => this.dialplan.reload() },
      { name: 'app_voicemail', reload: () => this.voicemail.reload() },
      { name: 'app_confbridge', reload: () => this.confbridge.reload() },
      // Loaded modules whose reload has no effect on what the emulator models.
      { name: 'manager', reload: noop },
      { name: 'logger', reload: noop },
      { name: 'cdr', reload: noop },
      { name: 'cel', reload: noop },
      { name: 'http', reload: noop },
      { name: 'dnsmgr', reload: noop },
      { name: 'extconfig', reload: noop },
      { name: 'features', reload: noop },
      { name: 'res_musiconhold', reload: noop },
      { name: 'res_pjsip_outbound_registration', reload: noop },
      { name: 'res_pjsip_notify', reload: noop },
      { name: 'app_queue', reload: noop },
      // Loaded modules without a reload callback.
      { name: 'chan_pjsip', reload: null },
      { name: 'res_pjsip_session', reload: null },
      { name: 'app_dial', reload: null },
    ];
  }

  /** Initial load at "boot": every module reads its configuration once. */
  boot(): void {
    for (const m of this.modules) m.reload?.();
  }

  static moduleBaseName(name: string): string {
    const n = asciiLower(astStrip(name));
    return n.endsWith('.so') ? n.slice(0, -3) : n;
  }

  /**
   * ast_module_reload(name): null reloads everything (published as Module: All). The Reload event is published
   * for every attempt, with the name as given.
   */
  reload(name: string | null): number {
    let status: number;
    if (name === null) {
      for (const m of this.modules) m.reload?.();
      status = RELOAD.SUCCESS;
    } else {
      const wanted = AsteriskRuntime.moduleBaseName(name);
      const m = this.modules.find((x) => x.name === wanted);
      if (!m) status = RELOAD.NOT_FOUND;
      else if (!m.reload) status = RELOAD.NOT_IMPLEMENTED;
      else status = m.reload();
    }
    if (status === RELOAD.SUCCESS || status === RELOAD.QUEUED) this.lastReloadTime = Date.now();
    this.onReload(name ?? 'All', status);
    return status;
  }

  /**
   * Place a test call to `exten`@`context` through the loaded dialplan: the first ConfBridge() reached joins the
   * caller (Answer/NoOp/Set/... are stepped over, Hangup ends the call). Throws when no conference is reached.
   */
  dial(exten: string, context: string, caller: { callerIdNum?: string; callerIdName?: string; pin?: string } = {}): Participant {
    const ext = this.dialplan.find(context, exten);
    if (!ext) throw new Error(`No extension ${exten}@${context} in the loaded dialplan`);
    for (const p of ext.priorities) {
      const app = asciiLower(p.app);
      if (app === 'hangup') break;
      if (app !== 'confbridge') continue;
      const data = p.data.replace(/\$\{EXTEN\}/g, exten);
      const [conference = '', bridgeProfile = '', userProfile = ''] = data.split(',').map((s) => astStrip(s));
      return this.confbridge.join({
        conference,
        bridgeProfile,
        userProfile,
        callerIdNum: caller.callerIdNum,
        callerIdName: caller.callerIdName,
        pin: caller.pin,
        context,
        exten,
        priority: p.priority,
      });
    }
    throw new Error(`${exten}@${context} does not reach ConfBridge()`);
  }
}

// The emulator's TCP server: startAmiEmulator(), the session registry, event broadcast and the test-facing helpers.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { actionsByName } from './action-registry.js';
import type { ActionDefinition, AmiUser } from './action-types.js';
import { asciiLower, binaryToUtf8, utf8ToBinary } from './c-strings.js';
import { GuiRegeneration } from './gui-regeneration.js';
import type { ConfTree } from './conf-model.js';
import { authorityToStr } from './permissions.js';
import { Reply } from './protocol.js';
import { AsteriskRuntime } from './runtime.js';
import { AmiSession, type SessionHost } from './session.js';

/** AMI protocol version announced in the banner, by Asterisk major version (13 is not emulated: it used Follows). */
const AMI_VERSION_BY_MAJOR: Record<number, string> = {
  16: '5.0.5',
  18: '7.0.3',
  20: '9.0.0',
  21: '10.0.0',
  22: '11.0.0',
};

export interface AmiEmulatorOptions {
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Listen port; 0 (default) picks an ephemeral port. */
  port?: number;
  /** The Asterisk config directory (/etc/asterisk): real .conf files are read and rewritten there. */
  configDir: string;
  /** manager.conf users (default: admin / amipass with read=all, write=all). */
  users?: AmiUser[];
  /** Emulated Asterisk version, 16.x–22.x (default 22.10.1, banner "Asterisk Call Manager/11.0.0"). */
  version?: string;
  /** manager.conf authtimeout in seconds (default 30). */
  authTimeoutSec?: number;
  /** manager.conf authlimit (default 50 unauthenticated sessions). */
  authLimit?: number;
  /** The sleep(1) before "Authentication failed" (default 1000 ms). */
  authFailDelayMs?: number;
  /**
   * A PBX GUI owns these files (config-dir relative): regenerateGui() writes them back as they were when the emulator
   * started, as the GUI's "Apply Config" writes them from its database. voicemail.conf is always rewritten by the GUI's
   * voicemail writer instead (see gui-voicemail.ts).
   */
  guiGenerated?: readonly string[];
}

export interface AmiStats {
  /** Messages received per action (canonical name when known, else as sent), counted before any auth check. */
  actions: Record<string, number>;
  connections: number;
}

/** One category of a loaded ("running") configuration, decoded as UTF-8 text. */
export interface LoadedCategory {
  name: string;
  /** Config-dir relative file the [header] came from. */
  file: string;
  isTemplate: boolean;
  templates: string[];
  variables: Array<{ name: string; value: string }>;
}

export interface AmiEmulator {
  readonly host: string;
  readonly port: number;
  /** Absolute (real) path of the config directory. */
  readonly configDir: string;
  readonly version: string;
  readonly amiVersion: string;
  readonly stats: AmiStats;
  /** Stop listening and close every session. */
  close(): Promise<void>;
  /** Destroy every client socket (simulated network drop); the server keeps listening. */
  dropConnections(): void;
  /**
   * What is running for a file: for a module's main file (pjsip.conf, extensions.conf, voicemail.conf,
   * confbridge.conf) the whole tree loaded at that module's last successful (re)load, includes merged in;
   * for an included file only the categories whose header is in it. null when no loaded module read it.
   */
  loadedConfig(file: string): LoadedCategory[] | null;
  /** ast_module_reload(NULL), as `Reload` without Module (publishes Event: Reload / Module: All). */
  reloadAll(): number;
  /** ast_module_reload(name); returns the status (0 success, 2 not found, 3 error, 6 no reload). */
  reload(module: string): number;
  /** Call exten@context through the loaded dialplan until ConfBridge(); returns the caller's channel name. */
  dial(exten: string, context: string, caller?: { callerIdNum?: string; callerIdName?: string; pin?: string }): string;
  /** Put a caller straight into a conference (as ConfBridge(conference,bridgeProfile,userProfile) would). */
  joinConference(opts: {
    conference: string;
    bridgeProfile?: string;
    userProfile?: string;
    callerIdNum?: string;
    callerIdName?: string;
    pin?: string;
  }): string;
  /** Hang up a conference participant; an emptied conference disappears. */
  hangup(channel: string): boolean;
  /** Number of open AMI connections. */
  sessionCount(): number;
  /**
   * The PBX GUI's "Apply Config": the guiGenerated files written again, voicemail.conf rewritten by the Issabel GUI's
   * voicemail writer, then every module reloaded. Returns the files written.
   */
  regenerateGui(): string[];
}

const DEFAULT_USERS: AmiUser[] = [{ username: 'admin', secret: 'amipass', read: ['all'], write: ['all'] }];

const MODULE_FILES: Record<string, 'pjsip' | 'dialplan' | 'voicemail' | 'confbridge'> = {
  'pjsip.conf': 'pjsip',
  'extensions.conf': 'dialplan',
  'voicemail.conf': 'voicemail',
  'confbridge.conf': 'confbridge',
};

function toBinary(u: AmiUser): AmiUser {
  return { ...u, username: utf8ToBinary(u.username), secret: utf8ToBinary(u.secret) };
}

export async function startAmiEmulator(options: AmiEmulatorOptions): Promise<AmiEmulator> {
  const version = options.version ?? '22.10.1';
  const major = Number.parseInt(version, 10);
  const amiVersion = AMI_VERSION_BY_MAJOR[major];
  if (!amiVersion) throw new Error(`Unsupported Asterisk version ${version} (supported: 16, 18, 20, 21, 22)`);
  const realDir = fs.realpathSync(options.configDir);
  if (!fs.statSync(realDir).isDirectory()) throw new Error(`${options.configDir} is not a directory`);
  const configDir = utf8ToBinary(realDir);
  const users = (options.users ?? DEFAULT_USERS).map(toBinary);
  const authLimit = options.authLimit ?? 50;
  const stats: AmiStats = { actions: {}, connections: 0 };
  const sessions = new Set<AmiSession>();
  const listenHost = options.host ?? '127.0.0.1';
  let localPort = 0;

  const publishTo = (category: number, event: string, fields: Array<[string, string | number]>) => {
    const r = new Reply().line('Event', event).line('Privilege', authorityToStr(category));
    for (const [k, v] of fields) r.line(k, v);
    const text = r.end().toString();
    for (const s of sessions) s.deliver(category, text);
  };

  const gui = new GuiRegeneration(realDir, options.guiGenerated ?? []);
  const runtime = new AsteriskRuntime(configDir, (module, status) =>
    publishTo(1 /* system */, 'Reload', [
      ['Module', module],
      ['Status', status],
    ]),
  );
  runtime.boot();

  const host: SessionHost = {
    configDir,
    version,
    amiVersion,
    buildDate: new Date(),
    runtime,
    users,
    authFailDelayMs: options.authFailDelayMs ?? 1000,
    authTimeoutMs: (options.authTimeoutSec ?? 30) * 1000,
    localAddress: listenHost,
    get localPort() {
      return localPort;
    },
    publish: publishTo,
    loggedInUsers: () => [...sessions].filter((s) => s.state.authenticated).map((s) => s.state.username),
    findAction: (name: string): ActionDefinition | undefined => actionsByName.get(asciiLower(name)),
    countAction: (name: string) => {
      stats.actions[name] = (stats.actions[name] ?? 0) + 1;
    },
    onSessionAuthenticated: () => undefined,
    onSessionClosed: (s) => {
      sessions.delete(s);
    },
  };

  const server = net.createServer((socket) => {
    stats.connections++;
    const unauthenticated = [...sessions].filter((s) => !s.state.authenticated).length;
    if (unauthenticated >= authLimit) {
      socket.destroy();
      return;
    }
    sessions.add(new AmiSession(socket, host));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as net.AddressInfo;
  localPort = addr.port;

  const treeView = (tree: ConfTree, onlyFile: string | null): LoadedCategory[] =>
    tree.categories
      .filter((c) => onlyFile === null || c.file === onlyFile)
      .map((c) => ({
        name: binaryToUtf8(c.name),
        file: binaryToUtf8(c.file ? path.relative(configDir, c.file) : ''),
        isTemplate: c.ignored,
        templates: c.templates.map((t) => binaryToUtf8(t.name)),
        variables: c.vars.map((v) => ({ name: binaryToUtf8(v.name), value: binaryToUtf8(v.value) })),
      }));

  const trees = (): Array<[string, ConfTree | null]> => [
    ['pjsip.conf', runtime.pjsip.loadedTree],
    ['extensions.conf', runtime.dialplan.loadedTree],
    ['voicemail.conf', runtime.voicemail.loadedTree],
    ['confbridge.conf', runtime.confbridge.loadedTree],
  ];

  const emulator: AmiEmulator = {
    host: listenHost,
    port: localPort,
    configDir: realDir,
    version,
    amiVersion,
    stats,
    close: async () => {
      for (const s of sessions) s.socket.destroy();
      sessions.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    dropConnections: () => {
      for (const s of sessions) s.socket.destroy();
      sessions.clear();
    },
    loadedConfig: (file: string) => {
      const rel = utf8ToBinary(file);
      if (MODULE_FILES[rel]) {
        const tree = trees().find(([f]) => f === rel)?.[1];
        if (!tree) return null;
        return treeView(tree, null).map((c) => ({ ...c, file: c.file || file }));
      }
      const abs = rel.startsWith('/') ? rel : `${configDir}/${rel}`;
      for (const [, tree] of trees()) {
        if (tree && tree.includes.some((i) => i.found && (i.includedFile === rel || i.includedFile === abs))) {
          return treeView(tree, abs);
        }
      }
      return null;
    },
    reloadAll: () => runtime.reload(null),
    reload: (module: string) => runtime.reload(utf8ToBinary(module)),
    dial: (exten, context, caller) => binaryToUtf8(runtime.dial(utf8ToBinary(exten), utf8ToBinary(context), caller).channel),
    joinConference: (opts) => runtime.confbridge.join(opts).channel,
    hangup: (channel: string) => runtime.confbridge.leave(channel),
    sessionCount: () => sessions.size,
    regenerateGui: () => {
      const written = gui.run();
      runtime.reload(null);
      return written;
    },
  };
  return emulator;
}

// Types shared by the AMI action handlers and the session/server that run them.
import type { AmiMessage } from './protocol.js';
import type { AsteriskRuntime } from './runtime.js';

export interface AmiUser {
  username: string;
  secret: string;
  /** manager.conf read= classes, e.g. ['system', 'call'] or ['all']. */
  read: string[];
  /** manager.conf write= classes, e.g. ['config', 'system'] or ['all']. */
  write: string[];
  /** manager.conf allowmultiplelogin (default true). */
  allowMultipleLogin?: boolean;
}

/** Per-connection state (struct mansession_session). */
export interface SessionState {
  readonly id: string;
  authenticated: boolean;
  username: string;
  readperm: number;
  writeperm: number;
  /** Event mask (send_events); -1 = everything the user may read. */
  sendEvents: number;
  challenge: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly startedAt: Date;
  authenticatedAt: Date | null;
}

/** What the whole emulated Asterisk offers to an action. */
export interface ServerServices {
  readonly configDir: string;
  readonly version: string;
  readonly amiVersion: string;
  readonly buildDate: Date;
  readonly runtime: AsteriskRuntime;
  readonly users: readonly AmiUser[];
  readonly authFailDelayMs: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** manager_event(): queue an event for every authenticated session whose read permission and mask allow it. */
  publish(category: number, event: string, fields: Array<[string, string | number]>): void;
  /** Usernames with an authenticated session (for allowmultiplelogin=no). */
  loggedInUsers(): string[];
}

export interface ActionContext {
  readonly session: SessionState;
  readonly server: ServerServices;
  /** Write bytes (binary string) to this session now. */
  write(text: string): void;
}

/** 'close' ends the session after the reply (Logoff, failed Login). */
export type ActionOutcome = void | 'close';

export interface ActionDefinition {
  /** Canonical name; requests match it case-insensitively. */
  name: string;
  /** Write classes of which the user needs any one (0 = none needed). */
  authority: number;
  handler(ctx: ActionContext, m: AmiMessage): ActionOutcome | Promise<ActionOutcome>;
}

// One AMI TCP connection: banner, message dispatch (auth gate, permissions), event queueing and delivery.
import { randomBytes } from 'node:crypto';
import type * as net from 'node:net';
import type { ActionContext, ActionDefinition, ServerServices, SessionState } from './action-types.js';
import { asciiLower, strcaseeq } from './c-strings.js';
import { Reply, MessageReader, getHeader, type AmiMessage, type InboundEvent } from './protocol.js';

export interface SessionHost extends ServerServices {
  findAction(name: string): ActionDefinition | undefined;
  countAction(name: string): void;
  authTimeoutMs: number;
  onSessionAuthenticated(session: AmiSession): void;
  onSessionClosed(session: AmiSession): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class AmiSession {
  readonly state: SessionState;
  private readonly reader = new MessageReader();
  private chain: Promise<void> = Promise.resolve();
  private busy = false;
  private pending: Array<{ category: number; text: string }> = [];
  private closing = false;
  private authTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly socket: net.Socket,
    private readonly host: SessionHost,
  ) {
    this.state = {
      id: `0x7f${randomBytes(5).toString('hex')}`,
      authenticated: false,
      username: '',
      readperm: 0,
      writeperm: 0,
      sendEvents: -1,
      challenge: '',
      remoteAddress: (socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      remotePort: socket.remotePort ?? 0,
      startedAt: new Date(),
      authenticatedAt: null,
    };
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose());
    this.write(`Asterisk Call Manager/${host.amiVersion}\r\n`);
    this.authTimer = setTimeout(() => {
      if (!this.state.authenticated) this.socket.destroy();
    }, host.authTimeoutMs);
    this.authTimer.unref();
  }

  get closed(): boolean {
    return this.closing || this.socket.destroyed;
  }

  write(text: string): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.socket.write(Buffer.from(text, 'latin1'));
  }

  /** Queue or deliver an event (events raised while an action runs are written after its output). */
  deliver(category: number, text: string): void {
    if (this.busy) {
      this.pending.push({ category, text });
      return;
    }
    if (this.eligible(category)) this.write(text);
  }

  private eligible(category: number): boolean {
    const s = this.state;
    return s.authenticated && (s.readperm & category) === category && (s.sendEvents & category) === category;
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    for (const ev of this.reader.push(chunk)) {
      this.chain = this.chain.then(() => this.handle(ev)).catch(() => {
        this.socket.destroy();
      });
    }
  }

  private onClose(): void {
    if (this.authTimer) clearTimeout(this.authTimer);
    this.closing = true;
    this.host.onSessionClosed(this);
  }

  private async handle(ev: InboundEvent): Promise<void> {
    if (this.closing) return;
    this.busy = true;
    let close = false;
    try {
      if (ev.kind === 'error') this.write(Reply.error(ev.message, ev.error).toString());
      else close = await this.processMessage(ev.message);
    } finally {
      this.busy = false;
    }
    if (close) {
      this.closing = true;
      this.pending = [];
      this.socket.end(() => this.socket.destroy());
      return;
    }
    const queued = this.pending;
    this.pending = [];
    for (const e of queued) if (this.eligible(e.category)) this.write(e.text);
  }

  /** process_message(). Returns true when the session must be closed. */
  private async processMessage(m: AmiMessage): Promise<boolean> {
    const action = getHeader(m, 'Action', 'skipEmpty');
    if (!action) {
      this.write(Reply.error(m, 'Missing action in request').toString());
      return false;
    }
    const def = this.host.findAction(action);
    this.host.countAction(def ? def.name : action);
    const lower = asciiLower(action);
    const s = this.state;
    if (!s.authenticated && lower !== 'login' && lower !== 'logoff' && lower !== 'challenge') {
      this.write(Reply.error(m, 'Permission denied').toString());
      return false;
    }
    if (!s.authenticated && (lower === 'login' || lower === 'challenge')) {
      const username = getHeader(m, 'Username');
      if (username && this.host.loggedInUsers().some((u) => strcaseeq(u, username))) {
        const user = this.host.users.find((u) => strcaseeq(u.username, username));
        if (user && user.allowMultipleLogin === false) {
          await sleep(this.host.authFailDelayMs);
          this.write(Reply.error(m, 'Login Already In Use').toString());
          return true;
        }
      }
    }
    if (!def) {
      this.write(
        Reply.error(m, `Invalid/unknown command: ${action}. Use Action: ListCommands to show available commands.`).toString(),
      );
      return false;
    }
    if (def.authority !== 0 && (s.writeperm & def.authority) === 0) {
      this.write(Reply.error(m, 'Permission denied').toString());
      return false;
    }
    const wasAuthenticated = s.authenticated;
    const ctx: ActionContext = { session: s, server: this.host, write: (t) => this.write(t) };
    const outcome = await def.handler(ctx, m);
    if (!wasAuthenticated && s.authenticated) this.host.onSessionAuthenticated(this);
    return outcome === 'close';
  }
}

// Speaks the Asterisk Manager Interface over TCP: framing, login, one-response and list actions, header checks; a failed connect or login names the setting to fix. Protocol only.
import { createHash } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { Secret } from '../../desired/secret.ts';
import { describeSetting } from '../../engine/module.ts';
import { AuthenticationError, InfrasecError, TargetUnavailableError } from '../../errors.ts';
import { asterisk } from './index.ts';

/** How an admin sets one of this system's settings, as every message that asks them to fix one names it. */
export function amiSetting(path: keyof typeof asterisk.env): string {
  return describeSetting(asterisk, path);
}

const ADDRESS_SETTINGS = `${amiSetting('host')} and ${amiSetting('port')}`;

/** A header value: plain text, a Secret (revealed only when the frame is written), or parts of both. */
export type HeaderValue = string | Secret | ReadonlyArray<string | Secret>;
export type AmiHeaders = ReadonlyArray<readonly [string, HeaderValue]>;

/** manager.c limits for one incoming message: 128 header lines, 1024 bytes per line. */
export const AMI_MAX_HEADER_LINES = 128;
export const AMI_MAX_LINE_BYTES = 1024;

const HEADER_NAME = /^[A-Za-z0-9_-]+$/;
const FORBIDDEN = /[\r\n\0]/;

export interface AmiClientOptions {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly secret: Secret;
  /** Connect, banner, login and per-action timeout. */
  readonly timeoutMs: number;
  /** `md5` logs in through Challenge so the secret never crosses the wire. Default `plain`. */
  readonly authType?: 'plain' | 'md5';
  readonly logger?: Logger;
}

/** One message from the server, headers in wire order. Lines without a colon (`No categories found`) are kept apart. */
export class AmiMessage {
  constructor(
    readonly headers: ReadonlyArray<readonly [string, string]>,
    readonly bareLines: readonly string[],
  ) {}

  /** First header of that name, case-insensitively, as manager.c's astman_get_header does. */
  get(name: string): string | undefined {
    // Asterisk spells its headers canonically; the case-insensitive pass is for the odd one that does not.
    for (const [k, v] of this.headers) if (k === name) return v;
    const lower = name.toLowerCase();
    for (const [k, v] of this.headers) if (k.length === lower.length && k.toLowerCase() === lower) return v;
    return undefined;
  }

  get response(): string | undefined {
    return this.get('Response');
  }

  get event(): string | undefined {
    return this.get('Event');
  }

  get isError(): boolean {
    return this.response?.toLowerCase() === 'error';
  }

  /** The server's Message header, with the stray LF some modules leave in it removed. */
  get message(): string {
    return (this.get('Message') ?? '').trim();
  }
}

export interface AmiList {
  readonly response: AmiMessage;
  readonly events: readonly AmiMessage[];
}

/** Raised before anything is written when a header would break AMI framing or limits. Never carries the value. */
export class AmiHeaderError extends InfrasecError {
  constructor(message: string, context: Readonly<Record<string, unknown>> = {}) {
    super('ami-header-rejected', message, context);
  }
}

function reveal(value: HeaderValue): string {
  if (typeof value === 'string') return value;
  if (value instanceof Secret) return value.reveal();
  return value.map((p) => (typeof p === 'string' ? p : p.reveal())).join('');
}

/**
 * Frames one action. Checks every header first: a name outside [A-Za-z0-9_-], a value with CR, LF or NUL, a line over
 * 1024 bytes or more than 128 lines is refused here, so a malformed header can never start a new header or action.
 */
export function formatAction(action: string, actionId: string, headers: AmiHeaders): string {
  const all: Array<readonly [string, HeaderValue]> = [['Action', action], ['ActionID', actionId], ...headers];
  if (all.length > AMI_MAX_HEADER_LINES) {
    throw new AmiHeaderError(`AMI action ${safeName(action)} has ${all.length} header lines, more than the ${AMI_MAX_HEADER_LINES} Asterisk accepts`, { action: safeName(action), lines: all.length });
  }
  let out = '';
  for (const [name, value] of all) {
    if (!HEADER_NAME.test(name)) throw new AmiHeaderError(`AMI header name ${JSON.stringify(safeName(name))} is not [A-Za-z0-9_-]+`, { action: safeName(action) });
    const text = reveal(value);
    // The value is never quoted in the message: it may be a secret.
    if (FORBIDDEN.test(text)) throw new AmiHeaderError(`AMI header ${name} of ${safeName(action)} contains CR, LF or NUL; refused before sending`, { action: safeName(action), header: name });
    const line = `${name}: ${text}`;
    if (Buffer.byteLength(line) > AMI_MAX_LINE_BYTES - 2) {
      throw new AmiHeaderError(`AMI header ${name} of ${safeName(action)} is longer than ${AMI_MAX_LINE_BYTES} bytes`, { action: safeName(action), header: name });
    }
    out += `${line}\r\n`;
  }
  return `${out}\r\n`;
}

const safeName = (s: string) => (HEADER_NAME.test(s) ? s : s.replace(/[^A-Za-z0-9_-]/g, '?').slice(0, 40));

/** Splits the server's byte stream into messages. LF or CRLF end a line; an empty line ends a message. */
export class AmiParser {
  #buffer = '';
  #banner: string | undefined;
  #headers: Array<[string, string]> = [];
  #bare: string[] = [];

  constructor(private readonly onMessage: (m: AmiMessage) => void, private readonly onBanner: (banner: string) => void) {}

  push(chunk: string): void {
    this.#buffer += chunk;
    let start = 0;
    for (let nl = this.#buffer.indexOf('\n', start); nl !== -1; nl = this.#buffer.indexOf('\n', start)) {
      const end = nl > start && this.#buffer.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.#line(this.#buffer.slice(start, end));
      start = nl + 1;
    }
    this.#buffer = start === 0 ? this.#buffer : this.#buffer.slice(start);
  }

  #line(line: string): void {
    if (this.#banner === undefined) {
      this.#banner = line;
      this.onBanner(line);
      return;
    }
    if (line === '') {
      // res_pjsip errors end their Message with a stray LF, which yields an empty "message": skip it.
      if (this.#headers.length === 0 && this.#bare.length === 0) return;
      const m = new AmiMessage(this.#headers, this.#bare);
      this.#headers = [];
      this.#bare = [];
      this.onMessage(m);
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      this.#bare.push(line);
      return;
    }
    let v = colon + 1;
    while (line.charCodeAt(v) === 32 || line.charCodeAt(v) === 9) v++;
    this.#headers.push([line.slice(0, colon), line.slice(v)]);
  }
}

interface Pending {
  readonly action: string;
  readonly list: boolean;
  response?: AmiMessage;
  readonly events: AmiMessage[];
  readonly resolve: (r: AmiList) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** A logged-in AMI session. Actions may be pipelined; replies are matched by ActionID. Every wait has a timeout. */
export class AmiClient {
  readonly #opts: AmiClientOptions;
  #socket: Socket | undefined;
  #ready: Promise<void> | undefined;
  #pending = new Map<string, Pending>();
  #seq = 0;
  #closing = false;

  constructor(opts: AmiClientOptions) {
    this.#opts = opts;
  }

  get where(): string {
    return `${this.#opts.host}:${this.#opts.port}`;
  }

  /** Connects and logs in once; a dropped session is reopened by the next call. */
  connect(signal?: AbortSignal): Promise<void> {
    if (this.#socket?.destroyed) this.#ready = undefined;
    this.#ready ??= this.#open(signal).catch((err: unknown) => {
      this.#ready = undefined;
      this.#drop(err instanceof Error ? err : new Error(String(err)));
      throw err;
    });
    return this.#ready;
  }

  async #open(signal?: AbortSignal): Promise<void> {
    const { host, port, timeoutMs } = this.#opts;
    this.#closing = false;
    const socket = netConnect({ host, port });
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    this.#socket = socket;
    let bannerSeen: (b: string) => void = () => undefined;
    const banner = new Promise<string>((resolve) => (bannerSeen = resolve));
    const parser = new AmiParser((m) => this.#dispatch(m), (b) => bannerSeen(b));
    socket.on('data', (chunk: string) => parser.push(chunk));
    const closed = new Promise<never>((_, reject) => {
      socket.once('error', (err) => reject(this.#unavailable(`cannot reach Asterisk AMI at ${this.where}`, err, `check ${ADDRESS_SETTINGS}, and that manager.conf has enabled = yes with a bindaddr reachable from here`)));
      socket.once('close', () => reject(this.#unavailable(`Asterisk AMI at ${this.where} closed the connection before its banner`, undefined, `check that ${ADDRESS_SETTINGS} name the AMI port (5038 unless changed)`)));
    });
    closed.catch(() => undefined);
    // Only the current socket may fail the session: a late close of an old one must not drop its successor.
    socket.on('error', (err) => this.#socket === socket && this.#drop(this.#unavailable(`AMI connection to ${this.where} failed`, err)));
    socket.on('close', () => this.#socket === socket && this.#drop(this.#unavailable(`AMI connection to ${this.where} was closed`)));

    const line = await withTimeout(Promise.race([banner, closed]), timeoutMs, signal, () =>
      this.#unavailable(`no AMI banner from ${this.where} within ${timeoutMs} ms`, undefined, `check that ${ADDRESS_SETTINGS} name the AMI port (5038 unless changed), or raise ${amiSetting('timeoutMs')}`));
    if (!line.startsWith('Asterisk Call Manager/')) throw this.#unavailable(`${this.where} does not speak AMI (unexpected banner)`, undefined, `check that ${ADDRESS_SETTINGS} name the AMI port (5038 unless changed)`);

    const { username, secret } = this.#opts;
    let login: AmiMessage;
    if (this.#opts.authType === 'md5') {
      const challenge = await this.action('Challenge', [['AuthType', 'MD5']], signal);
      const nonce = challenge.get('Challenge');
      if (challenge.isError || !nonce) {
        throw new AuthenticationError(`Asterisk AMI at ${this.where} refused the MD5 challenge (${challenge.message || 'no challenge'}); set ${amiSetting('authType')} to plain, or check the Asterisk version`, { host, port });
      }
      const key = createHash('md5').update(nonce + secret.reveal()).digest('hex');
      login = await this.action('Login', [['Username', username], ['AuthType', 'MD5'], ['Key', new Secret(key, 'env', 'ami-md5-key')], ['Events', 'off']], signal);
    } else {
      login = await this.action('Login', [['Username', username], ['Secret', secret], ['Events', 'off']], signal);
    }
    // A refused login is answered ("Authentication failed") before Asterisk closes the socket, so the answer arrives.
    if (login.isError) {
      throw new AuthenticationError(
        `Asterisk AMI at ${this.where} refused the login of ${username}: ${login.message || 'authentication failed'}; check ${amiSetting('username')} and ${amiSetting('secret')} or ${amiSetting('secretFile')} against manager.conf, and that its permit/deny lines let this host in`,
        { host, port, username },
      );
    }
    this.#opts.logger?.debug({ event: 'ami.login.done', host, port }, 'logged in to AMI');
  }

  /** Sends one action and resolves with its response (Success or Error alike; callers decide). */
  async action(action: string, headers: AmiHeaders = [], signal?: AbortSignal): Promise<AmiMessage> {
    return (await this.#send(action, headers, false, signal)).response;
  }

  /**
   * Sends a list action and collects its events. Resolves on a Response: Error, on a Success without
   * `EventList: start` (some modules answer an empty list that way) or on the event carrying `EventList: Complete`.
   */
  list(action: string, headers: AmiHeaders = [], signal?: AbortSignal): Promise<AmiList> {
    return this.#send(action, headers, true, signal);
  }

  /** Signals of pending actions, each watched by one listener however many actions are pipelined under it. */
  readonly #watched = new Map<AbortSignal, { count: number; listener: () => void }>();

  /** An abort drops the session, failing every pending action; returns the release for one action. */
  #watch(signal: AbortSignal): () => void {
    let w = this.#watched.get(signal);
    if (!w) {
      const listener = () => this.#drop(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      w = { count: 0, listener };
      this.#watched.set(signal, w);
      signal.addEventListener('abort', listener, { once: true });
    }
    w.count++;
    const watch = w;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--watch.count > 0) return;
      signal.removeEventListener('abort', watch.listener);
      this.#watched.delete(signal);
    };
  }

  #send(action: string, headers: AmiHeaders, list: boolean, signal?: AbortSignal): Promise<AmiList> {
    const socket = this.#socket;
    const id = `infrasec-${++this.#seq}`;
    let frame: string;
    try {
      frame = formatAction(action, id, headers);
    } catch (err) {
      // Always a rejected promise, never a synchronous throw: callers pipeline and await together.
      return Promise.reject(err);
    }
    if (!socket || socket.destroyed) return Promise.reject(this.#unavailable(`not connected to Asterisk AMI at ${this.where}`));
    if (signal?.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    return new Promise<AmiList>((resolve, reject) => {
      const timer = setTimeout(() => {
        // The stream position is unknown after a lost reply: drop the session rather than misread the next one.
        this.#drop(this.#unavailable(`Asterisk AMI at ${this.where} did not answer ${action} within ${this.#opts.timeoutMs} ms`));
      }, this.#opts.timeoutMs);
      const release = signal ? this.#watch(signal) : undefined;
      const done = () => {
        clearTimeout(timer);
        release?.();
      };
      this.#pending.set(id, {
        action,
        list,
        events: [],
        timer,
        resolve: (r) => {
          done();
          resolve(r);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      socket.write(frame);
    });
  }

  #dispatch(m: AmiMessage): void {
    const id = m.get('ActionID');
    if (id === undefined) return;
    const p = this.#pending.get(id);
    if (!p) return;
    // OriginateResponse-style events carry both Event and Response headers: Event decides.
    if (m.event === undefined && m.response !== undefined) {
      p.response = m;
      if (!p.list || m.isError || m.get('EventList')?.toLowerCase() !== 'start') {
        this.#pending.delete(id);
        p.resolve({ response: m, events: p.events });
      }
      return;
    }
    if (!p.list || !p.response) return;
    if (m.get('EventList')?.toLowerCase() === 'complete') {
      this.#pending.delete(id);
      p.resolve({ response: p.response, events: p.events });
      return;
    }
    p.events.push(m);
  }

  /** Fails every waiting action and forgets the socket; the next connect() opens a new session. */
  #drop(err: Error): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#ready = undefined;
    if (socket && !socket.destroyed) socket.destroy();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(this.#closing ? this.#unavailable(`AMI session to ${this.where} closed`) : err);
    }
  }

  /** `fix`, when given, says which setting to check: for failures while opening a session, which configuration explains. */
  #unavailable(message: string, cause?: unknown, fix?: string): TargetUnavailableError {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const told = `${message}${code ? `: ${code}` : ''}${fix ? `; ${fix}` : ''}`;
    return new TargetUnavailableError(told, { host: this.#opts.host, port: this.#opts.port }, cause ? { cause } : undefined);
  }

  /** Logs off (best effort, bounded by the timeout) and closes the socket. */
  async close(): Promise<void> {
    const socket = this.#socket;
    if (!socket || socket.destroyed) return;
    this.#closing = true;
    try {
      if (this.#ready) await this.#ready;
      await this.action('Logoff');
    } catch (err) {
      this.#opts.logger?.debug({ event: 'ami.logoff.failed', error: (err as Error).message }, 'logoff failed; closing anyway');
    } finally {
      this.#drop(this.#unavailable(`AMI session to ${this.where} closed`));
    }
  }
}

/** Races a promise against a timeout and an abort signal, both bounded. */
function withTimeout<T>(p: Promise<T>, ms: number, signal: AbortSignal | undefined, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    const onAbort = () => reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

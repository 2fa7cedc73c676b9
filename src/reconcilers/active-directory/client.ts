// Speaks LDAP to the domain controller (ldapts over TLS): one bound session at a time, every operation under a deadline and the caller's signal; maps failures to infrasec errors.
import { readFileSync } from 'node:fs';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { Attribute, Change, Client, InvalidCredentialsError, ResultCodeError, type Entry } from 'ldapts';
import type { Logger } from 'pino';
import { describeSetting } from '../../engine/module.ts';
import { AuthenticationError, ConfigError, InfrasecError, TargetUnavailableError } from '../../errors.ts';
import { activeDirectory } from './index.ts';
import type { LdapModification } from './model.ts';
import type { ResolvedAdSettings } from './settings.ts';

export type { Entry } from 'ldapts';

export interface SearchRequest {
  readonly base: string;
  readonly scope: 'base' | 'one' | 'sub';
  readonly filter: string;
  readonly attributes: readonly string[];
}

/** Node socket / TLS error codes that mean "cannot talk to the DC right now". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'EADDRNOTAVAIL',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_SIGNATURE_FAILURE',
  'ERR_SSL_WRONG_VERSION_NUMBER', 'ECONNABORTED',
]);
const TLS_CODES = /CERT|SSL|TLS/;
/** The DC's certificate chain does not lead to a CA this client trusts: caFile is what to fix. */
const UNTRUSTED_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED', 'CERT_REJECTED',
]);

/** How an admin sets one of this system's settings, as every message that asks them to fix one names it. */
export function adSetting(path: keyof typeof activeDirectory.env): string {
  return describeSetting(activeDirectory, path);
}

/** An LDAP operation the DC answered with an error result (not a lost connection); `resultCode` is LDAP's (32: no such object). */
export class AdResultError extends InfrasecError {
  constructor(what: string, readonly resultCode: number, cause: ResultCodeError) {
    super('ad-operation-failed', `${what} failed: ${describeLdapError(cause)}`, { resultCode }, { cause });
  }
}

/** LDAP's result code for a base or parent that does not exist. */
export const NO_SUCH_OBJECT = 32;

/** The names a peer certificate carries (subjectAltName, else its CN), from a hostname-check error. */
function certificateNames(err: unknown): string | undefined {
  const cert = (err as { cert?: { subjectaltname?: string; subject?: { CN?: string | string[] } } }).cert;
  if (cert?.subjectaltname) return cert.subjectaltname;
  const cn = cert?.subject?.CN;
  return cn ? `CN=${Array.isArray(cn) ? cn.join(',') : cn}` : undefined;
}

/** Describes an LDAP failure without anything from the request (no values, no unicodePwd). */
export function describeLdapError(err: unknown): string {
  if (err instanceof ResultCodeError) return `LDAP ${err.code} ${err.name}: ${err.message}`;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** True when the failure is about the connection rather than the operation (retry later, don't blame the change). */
export function isConnectionFailure(err: unknown): boolean {
  if (err instanceof ResultCodeError) return false;
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && (UNAVAILABLE_CODES.has(code) || TLS_CODES.test(code))) return true;
  return /Connection timeout|Operation timed out|Connection closed|Socket error|Socket connection not established|session was closed/.test(err.message);
}

/** One connection and its bind. A session whose socket died is thrown away whole; ldapts never reconnects it on its own. */
interface Session {
  readonly client: Client;
  readonly sockets: Set<TLSSocket>;
  dead: boolean;
  /** Forgets this session in its AdClient, so the next call opens a new one. */
  release?: () => void;
}

/** Ends a wait on the first of: the promise settling, the timer, the signal. The loser's later rejection is swallowed. */
function withDeadline<T>(promise: Promise<T>, ms: number, signal: AbortSignal | undefined, onTimeout: () => Error, onAbort: (reason: unknown) => Error): Promise<T> {
  promise.catch(() => undefined);
  if (signal?.aborted) return Promise.reject(onAbort(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
    };
    const aborted = () => {
      done();
      reject(onAbort(signal?.reason));
    };
    const timer = setTimeout(() => {
      done();
      reject(onTimeout());
    }, ms);
    signal?.addEventListener('abort', aborted, { once: true });
    promise.then(
      (v) => {
        done();
        resolve(v);
      },
      (err: unknown) => {
        done();
        reject(err);
      },
    );
  });
}

/** The caller's signal fired (pass timeout, shutdown): the operation was given up, not refused by AD. */
export class AdOperationAbortedError extends InfrasecError {
  constructor(what: string, reason: unknown) {
    super('aborted', `${what} aborted: ${reason instanceof Error ? reason.message : String(reason ?? 'signal aborted')}`);
  }
}

/**
 * The session: connects and binds once, shares it between concurrent operations, and opens a new one (one attempt in
 * flight, every caller awaiting the same one) when the socket dies. Every operation has a deadline (timeoutMs) and
 * follows the caller's signal; when either fires the session's socket is destroyed, so ldapts settles every other
 * operation on it too, and the next call reconnects.
 */
export class AdClient {
  readonly #settings: ResolvedAdSettings;
  readonly #log: Logger | undefined;
  #session: Promise<Session> | undefined;
  #connectAttempts = 0;

  constructor(settings: ResolvedAdSettings, logger?: Logger) {
    this.#settings = settings;
    this.#log = logger;
  }

  /** How many sessions were opened (or tried): what shows that concurrent callers share one reconnect. */
  get connectAttempts(): number {
    return this.#connectAttempts;
  }

  /** A live, bound session: the current one, the one being opened, or a new one (serialized). */
  async #acquire(what: string, signal: AbortSignal | undefined): Promise<Session> {
    // Two rounds at most: the current session may turn out dead once awaited, then one fresh attempt.
    for (let round = 0; round < 2; round++) {
      const pending = (this.#session ??= this.#open());
      const session = await withDeadline(
        pending,
        // #open has its own deadline; this one only protects the caller from a bug there.
        2 * this.#settings.timeoutMs + 1_000,
        signal,
        () => this.#timeoutError('connect and bind', 2 * this.#settings.timeoutMs + 1_000),
        (reason) => new AdOperationAbortedError(what, reason),
      );
      if (!session.dead && session.client.isConnected) return session;
      this.#discard(session);
    }
    throw new TargetUnavailableError(`Active Directory at ${this.#settings.url} closed every new session at once`, { url: this.#settings.url });
  }

  #open(): Promise<Session> {
    this.#connectAttempts++;
    const opened: Promise<Session> = this.#connectAndBind().then((session) => {
      session.release = () => {
        if (this.#session === opened) this.#session = undefined;
      };
      return session;
    });
    // A failed attempt is forgotten, so the next caller tries again; callers already waiting see the failure.
    opened.catch(() => {
      if (this.#session === opened) this.#session = undefined;
    });
    return opened;
  }

  async #connectAndBind(): Promise<Session> {
    const s = this.#settings;
    const tlsOptions: ConnectionOptions = { rejectUnauthorized: !s.tlsInsecure, minVersion: 'TLSv1.2' };
    if (s.caFile) {
      try {
        tlsOptions.ca = readFileSync(s.caFile);
      } catch (err) {
        throw new ConfigError(`cannot read ${adSetting('caFile')} ${s.caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { caFile: s.caFile }, { cause: err });
      }
    }
    if (s.tlsServerName) tlsOptions.servername = s.tlsServerName;
    if (s.tlsInsecure) this.#log?.warn({ event: 'ad.tls.insecure', url: s.url }, 'TLS certificate verification is OFF for Active Directory (tlsInsecure)');
    const sockets = new Set<TLSSocket>();
    // How far the first socket got: a reset after TCP connected but before TLS did is a handshake failure, not an outage.
    const progress: { reached: 'nothing' | 'tcp' | 'tls' } = { reached: 'nothing' };
    let first = true;
    const client = new Client({
      url: s.url, timeout: s.timeoutMs, connectTimeout: s.timeoutMs, tlsOptions, autoRebind: false,
      // One socket per session: a second one would be ldapts reconnecting without a bind behind our back.
      createSecureConnection: ((port: number, host: string, options: ConnectionOptions) => {
        const socket = tlsConnect(port, host, options);
        if (first) {
          socket.once('connect', () => {
            if (progress.reached === 'nothing') progress.reached = 'tcp';
          });
          socket.once('secureConnect', () => {
            progress.reached = 'tls';
          });
        }
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        if (!first) setImmediate(() => socket.destroy(new Error('the AD session was closed; a new one binds again')));
        first = false;
        return socket;
      }) as typeof tlsConnect,
    });
    const session: Session = { client, sockets, dead: false };
    try {
      await withDeadline(
        client.bind(s.bindDN, s.bindPassword.reveal()),
        s.timeoutMs,
        undefined,
        () => this.#timeoutError('connect and bind', s.timeoutMs),
        (reason) => new AdOperationAbortedError('bind', reason),
      );
    } catch (err) {
      this.#kill(session);
      throw this.#mapSessionError(err, progress.reached === 'tcp');
    }
    this.#log?.debug({ event: 'ad.bind.done', url: s.url }, 'bound to Active Directory');
    return session;
  }

  /** Destroys the session's sockets: ldapts rejects whatever was pending on them. */
  #kill(session: Session): void {
    session.dead = true;
    for (const socket of session.sockets) socket.destroy();
  }

  #discard(session: Session): void {
    this.#kill(session);
    session.release?.();
  }

  #timeoutError(what: string, ms: number): TargetUnavailableError {
    const s = this.#settings;
    const hint = what === 'connect and bind' ? `; check ${adSetting('url')} and that the DC is running, or raise ${adSetting('timeoutMs')}` : '';
    return new TargetUnavailableError(`Active Directory at ${s.url} did not answer (${what}) within ${ms} ms: Operation timed out${hint}`, { url: s.url, timeoutMs: ms });
  }

  /**
   * Runs one LDAP operation on a live session, under timeoutMs and the caller's signal. On either, the whole session is
   * dropped (its socket destroyed): a DC that stopped answering one operation answers none on that socket.
   */
  async #run<T>(what: string, signal: AbortSignal | undefined, op: (client: Client) => Promise<T>, on?: Session): Promise<T> {
    const session = on ?? (await this.#acquire(what, signal));
    const ms = this.#settings.timeoutMs;
    try {
      return await withDeadline(
        op(session.client),
        ms,
        signal,
        () => {
          this.#discard(session);
          return this.#timeoutError(what, ms);
        },
        (reason) => {
          this.#discard(session);
          return new AdOperationAbortedError(what, reason);
        },
      );
    } catch (err) {
      if (err instanceof InfrasecError) throw err;
      if (isConnectionFailure(err) || err instanceof InvalidCredentialsError) {
        this.#discard(session);
        throw this.#mapSessionError(err);
      }
      throw err;
    }
  }

  /** A failed connect or bind, as an error that names the setting to check. Never includes the password. */
  #mapSessionError(err: unknown, duringHandshake = false): InfrasecError {
    const s = this.#settings;
    const context = { url: s.url, bindDN: s.bindDN };
    if (err instanceof InfrasecError) return err;
    if (err instanceof InvalidCredentialsError) {
      return new AuthenticationError(
        `Active Directory at ${s.url} refused the bind as ${s.bindDN}: invalid credentials; check ${adSetting('bindDN')} and ${adSetting('bindPassword')} or ${adSetting('bindPasswordFile')}`,
        context,
        { cause: err },
      );
    }
    const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
    const detail = describeLdapError(err);
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      const names = certificateNames(err);
      const now = s.tlsServerName ? ` (now "${s.tlsServerName}")` : ` (unset: the host of ${adSetting('url')} is checked)`;
      return new TargetUnavailableError(
        `Active Directory at ${s.url}: its certificate does not name the host checked (${detail})${names ? `; it names ${names}` : ''}; set ${adSetting('tlsServerName')} to a name in the certificate${now}`,
        context,
        { cause: err },
      );
    }
    if (UNTRUSTED_CODES.has(code)) {
      const now = s.caFile ? `${s.caFile} does not hold it` : 'unset: only the system\'s CA store is trusted';
      return new TargetUnavailableError(
        `Active Directory at ${s.url}: its certificate is not signed by a trusted CA (${detail}); set ${adSetting('caFile')} to a PEM file of the CA that signed it (${now})`,
        context,
        { cause: err },
      );
    }
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
      return new TargetUnavailableError(`Active Directory at ${s.url}: its certificate is not valid now (${detail}); renew the DC's certificate, or check this machine's clock`, context, { cause: err });
    }
    // A peer that accepted TCP and then said nothing is more likely a hung DC than a wrong port.
    if (code === 'ETIMEDOUT' || /Connection timeout|timed out/i.test(detail)) return this.#timeoutError('connect and bind', s.timeoutMs);
    if (duringHandshake || TLS_CODES.test(code) || code === 'EPROTO' || /secure TLS connection|handshake/i.test(detail)) {
      return new TargetUnavailableError(
        `TLS handshake with Active Directory at ${s.url} failed (${detail}); check that ${adSetting('url')} names the DC's LDAPS port (636 unless changed), then ${adSetting('caFile')} and ${adSetting('tlsServerName')}`,
        context,
        { cause: err },
      );
    }
    if (isConnectionFailure(err)) {
      return new TargetUnavailableError(`cannot reach Active Directory at ${s.url} (${detail}); check ${adSetting('url')} and that the DC is running and reachable from here`, context, { cause: err });
    }
    return new TargetUnavailableError(`Active Directory at ${s.url} refused the session (${detail}); check ${adSetting('url')}, ${adSetting('bindDN')} and ${adSetting('bindPassword')}`, context, { cause: err });
  }

  /**
   * One paged search, pages fetched in sequence until the server has no more. Each page has its own deadline and
   * follows the signal; bounded by the page count a directory of 10M objects would need.
   */
  async search(req: SearchRequest, signal?: AbortSignal): Promise<Entry[]> {
    const entries: Entry[] = [];
    const maxPages = Math.ceil(10_000_000 / this.#settings.pageSize);
    const what = `search under ${req.base}`;
    const session = await this.#acquire(what, signal);
    const pages = session.client.searchPaginated(req.base, {
      scope: req.scope,
      filter: req.filter,
      attributes: [...req.attributes],
      paged: { pageSize: this.#settings.pageSize },
    });
    for (let n = 1; ; n++) {
      const page = await this.#run(what, signal, () => pages.next(), session).catch((err: unknown) => {
        throw err instanceof ResultCodeError ? new AdResultError(what, err.code, err) : err;
      });
      if (page.done) break;
      for (const e of page.value.searchEntries) entries.push(e);
      if (n > maxPages) throw new InfrasecError('ad-search-runaway', `search under ${req.base} returned more than ${maxPages} pages`);
    }
    return entries;
  }

  /** The DC's own naming context (rootDSE defaultNamingContext), for a message about a base DN that does not exist. */
  async defaultNamingContext(signal?: AbortSignal): Promise<string | undefined> {
    const [root] = await this.search({ base: '', scope: 'base', filter: '(objectClass=*)', attributes: ['defaultNamingContext'] }, signal);
    const value = root?.['defaultNamingContext'];
    return typeof value === 'string' ? value : undefined;
  }

  /** Like search, but "no such object" under a missing base yields nothing instead of failing. */
  async searchIfExists(req: SearchRequest, signal?: AbortSignal): Promise<Entry[]> {
    try {
      return await this.search(req, signal);
    } catch (err) {
      if (err instanceof AdResultError && err.resultCode === NO_SUCH_OBJECT) return [];
      throw err;
    }
  }

  async add(dn: string, attributes: ReadonlyArray<readonly [string, readonly (string | Buffer)[]]>, signal?: AbortSignal): Promise<void> {
    await this.#run(`add ${dn}`, signal, (client) =>
      client.add(
        dn,
        attributes.map(([type, values]) => new Attribute({ type, values: values as string[] | Buffer[] })),
      ),
    );
  }

  async modify(dn: string, changes: ReadonlyArray<LdapModification | { operation: 'replace'; attribute: string; values: readonly Buffer[] }>, signal?: AbortSignal): Promise<void> {
    await this.#run(`modify ${dn}`, signal, (client) =>
      client.modify(
        dn,
        changes.map((c) => new Change({ operation: c.operation, modification: new Attribute({ type: c.attribute, values: [...c.values] as string[] | Buffer[] }) })),
      ),
    );
  }

  async delete(dn: string, signal?: AbortSignal): Promise<void> {
    await this.#run(`delete ${dn}`, signal, (client) => client.del(dn));
  }

  /** Unbinds (under the deadline) and destroys the socket whatever the DC does; idempotent. */
  async close(): Promise<void> {
    const pending = this.#session;
    this.#session = undefined;
    if (!pending) return;
    const session = await pending.catch(() => undefined);
    if (!session) return;
    if (!session.dead && session.client.isConnected) {
      await withDeadline(session.client.unbind(), this.#settings.timeoutMs, undefined, () => this.#timeoutError('unbind', this.#settings.timeoutMs), (r) => new AdOperationAbortedError('unbind', r)).catch(
        (err: unknown) => this.#log?.debug({ event: 'ad.close.failed', err: describeLdapError(err) }, 'closing the session'),
      );
    }
    this.#kill(session);
  }
}

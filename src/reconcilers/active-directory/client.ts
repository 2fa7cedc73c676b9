// Speaks LDAP to the domain controller (ldapts over TLS): connect, bind, paged search, add/modify/delete; maps failures to infrasec errors.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Attribute, Change, Client, InvalidCredentialsError, ResultCodeError, type Entry } from 'ldapts';
import type { Logger } from 'pino';
import { AuthenticationError, ConfigError, InfrasecError, TargetUnavailableError } from '../../errors.ts';
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
  return /Connection timeout|Operation timed out|Connection closed|Socket error|Socket connection not established/.test(err.message);
}

export class AdClient {
  readonly #settings: ResolvedAdSettings;
  readonly #log: Logger | undefined;
  #client: Client | undefined;
  #ready: Promise<Client> | undefined;

  constructor(settings: ResolvedAdSettings, logger?: Logger) {
    this.#settings = settings;
    this.#log = logger;
  }

  /** Connects and binds once; later calls reuse the session (ldapts re-binds on reconnect). */
  connect(): Promise<Client> {
    this.#ready ??= this.#open().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  async #open(): Promise<Client> {
    const s = this.#settings;
    const tlsOptions: ConnectionOptions = { rejectUnauthorized: !s.tlsInsecure, minVersion: 'TLSv1.2' };
    if (s.caFile) {
      try {
        tlsOptions.ca = readFileSync(s.caFile);
      } catch (err) {
        throw new ConfigError(`cannot read the AD CA file ${s.caFile}: ${(err as Error).message}`, { caFile: s.caFile }, { cause: err });
      }
    }
    if (s.tlsServerName) tlsOptions.servername = s.tlsServerName;
    if (s.tlsInsecure) this.#log?.warn({ event: 'ad.tls.insecure', url: s.url }, 'TLS certificate verification is OFF for Active Directory (tlsInsecure)');
    const client = new Client({ url: s.url, timeout: s.timeoutMs, connectTimeout: s.timeoutMs, tlsOptions, autoRebind: true });
    try {
      await client.bind(s.bindDN, s.bindPassword.reveal());
    } catch (err) {
      await client.unbind().catch((closeErr: unknown) => this.#log?.debug({ event: 'ad.close.failed', err: describeLdapError(closeErr) }, 'closing a failed session'));
      throw this.#mapSessionError(err);
    }
    this.#client = client;
    this.#log?.debug({ event: 'ad.bind.done', url: s.url }, 'bound to Active Directory');
    return client;
  }

  #mapSessionError(err: unknown): InfrasecError {
    const s = this.#settings;
    const context = { url: s.url, bindDN: s.bindDN };
    if (err instanceof InfrasecError) return err;
    if (err instanceof InvalidCredentialsError) {
      return new AuthenticationError(`Active Directory at ${s.url} refused the bind as ${s.bindDN}: invalid credentials`, context, { cause: err });
    }
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return new TargetUnavailableError(
        `Active Directory at ${s.url}: the certificate does not name this host (${(err as Error).message}); set tlsServerName to the name in the DC's certificate`,
        context,
        { cause: err },
      );
    }
    if (isConnectionFailure(err)) {
      return new TargetUnavailableError(`cannot reach Active Directory at ${s.url}: ${describeLdapError(err)}`, context, { cause: err });
    }
    return new TargetUnavailableError(`Active Directory at ${s.url} refused the session: ${describeLdapError(err)}`, context, { cause: err });
  }

  /**
   * One paged search, pages fetched in sequence until the server has no more. Bounded by the page count a
   * directory of 10M objects would need; the signal is checked between pages.
   */
  async search(req: SearchRequest, signal?: AbortSignal): Promise<Entry[]> {
    const client = await this.connect();
    const entries: Entry[] = [];
    const maxPages = Math.ceil(10_000_000 / this.#settings.pageSize);
    let pages = 0;
    try {
      for await (const page of client.searchPaginated(req.base, {
        scope: req.scope,
        filter: req.filter,
        attributes: [...req.attributes],
        paged: { pageSize: this.#settings.pageSize },
      })) {
        signal?.throwIfAborted();
        for (const e of page.searchEntries) entries.push(e);
        if (++pages > maxPages) throw new InfrasecError('ad-search-runaway', `search under ${req.base} returned more than ${maxPages} pages`);
      }
    } catch (err) {
      // ldapts reconnects and re-binds on its own; a failure there is a session failure, not a search failure.
      if (isConnectionFailure(err) || err instanceof InvalidCredentialsError) throw this.#mapSessionError(err);
      throw err;
    }
    return entries;
  }

  /** Like search, but "no such object" under a missing base yields nothing instead of failing. */
  async searchIfExists(req: SearchRequest, signal?: AbortSignal): Promise<Entry[]> {
    try {
      return await this.search(req, signal);
    } catch (err) {
      if (err instanceof ResultCodeError && err.code === 32) return [];
      throw err;
    }
  }

  async add(dn: string, attributes: ReadonlyArray<readonly [string, readonly (string | Buffer)[]]>): Promise<void> {
    const client = await this.connect();
    await client.add(
      dn,
      attributes.map(([type, values]) => new Attribute({ type, values: values as string[] | Buffer[] })),
    );
  }

  async modify(dn: string, changes: ReadonlyArray<LdapModification | { operation: 'replace'; attribute: string; values: readonly Buffer[] }>): Promise<void> {
    const client = await this.connect();
    await client.modify(
      dn,
      changes.map((c) => new Change({ operation: c.operation, modification: new Attribute({ type: c.attribute, values: [...c.values] as string[] | Buffer[] }) })),
    );
  }

  async delete(dn: string): Promise<void> {
    const client = await this.connect();
    await client.del(dn);
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#ready = undefined;
    if (client) await client.unbind();
  }
}

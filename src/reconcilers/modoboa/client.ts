// Speaks Modoboa's REST API v2 over undici: token auth, a deadline and the caller's AbortSignal on every call, 429 retried after Retry-After, paged lists, the three error shapes, errors naming the setting to fix.
import { sleep } from '../../engine/backoff.ts';
import { Agent, request } from 'undici';
import type { Secret } from '../../desired/secret.ts';
import { checkServerName, describeConnectionFailure } from '../../engine/connection-failure.ts';
import { describeSetting } from '../../engine/module.ts';
import { AuthenticationError, InfrasecError, TargetUnavailableError } from '../../errors.ts';
import { modoboa } from './index.ts';

/** How an admin sets one of this system's settings, as every message that asks them to fix one names it. */
export function modoboaSetting(path: keyof typeof modoboa.env): string {
  return describeSetting(modoboa, path);
}

/** The settings that hold the API token, as an error asking to change it names them. */
export const TOKEN_SETTINGS = `${modoboaSetting('token')} or ${modoboaSetting('tokenFile')}`;

export interface ModoboaClientOptions {
  /** Base URL, e.g. https://mail.example.fr (no /api suffix). */
  readonly url: string;
  readonly token: Secret;
  /** PEM text of the CA to trust for https (replaces the system store). */
  readonly ca?: string;
  readonly timeoutMs: number;
  readonly pageSize: number;
  readonly maxRetries: number;
  readonly maxRetryAfterMs: number;
  /** Observed 429 waits (for logs and tests). */
  readonly onThrottled?: (waitMs: number, path: string) => void;
}

/**
 * Modoboa refused a request. `shape` says which of its three error bodies came back: `fields` (DRF validation,
 * `{"name": ["…"]}`), `error` (its own exceptions, `{"error": "…"}`, e.g. a 404 for a missing alias recipient) or
 * `detail` (DRF's `{"detail": "…"}`: auth, not found, throttled). The message never holds the request body.
 */
export class ModoboaApiError extends InfrasecError {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly shape: 'fields' | 'error' | 'detail' | 'other',
    readonly summary: string,
    readonly fields: Readonly<Record<string, readonly string[]>> = {},
  ) {
    super('modoboa-api', `Modoboa answered ${method} ${path} with ${status}: ${summary}`, { status, shape });
  }
}

export interface Page<T> {
  readonly count: number;
  readonly next: string | null;
  readonly results: readonly T[];
}

/** Modoboa's error body → one readable line and the field errors, whatever the shape. */
export function describeErrorBody(status: number, body: unknown): { shape: ModoboaApiError['shape']; summary: string; fields: Record<string, string[]> } {
  const clip = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}…` : s);
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const o = body as Record<string, unknown>;
    if (typeof o['error'] === 'string') return { shape: 'error', summary: clip(o['error'] || `(empty error, HTTP ${status})`), fields: {} };
    if (typeof o['detail'] === 'string') return { shape: 'detail', summary: clip(o['detail']), fields: {} };
    const fields: Record<string, string[]> = {};
    const flatten = (prefix: string, v: unknown) => {
      if (Array.isArray(v)) fields[prefix] = v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) flatten(prefix ? `${prefix}.${k}` : k, x);
      else fields[prefix] = [String(v)];
    };
    flatten('', o);
    const keys = Object.keys(fields);
    if (keys.length > 0) return { shape: 'fields', summary: clip(keys.map((k) => `${k}: ${fields[k]!.join(' ')}`).join('; ')), fields };
  }
  return { shape: 'other', summary: typeof body === 'string' && body.trim() ? clip(body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim()) : `HTTP ${status}`, fields: {} };
}

/** Seconds (or an HTTP date) → milliseconds, capped; a missing or silly value waits one second. */
export function retryAfterMs(header: string | string[] | undefined, capMs: number, now = Date.now()): number {
  const raw = Array.isArray(header) ? header[0] : header;
  let ms = 1000;
  if (raw !== undefined && /^\d+(\.\d+)?$/.test(raw.trim())) ms = Number(raw) * 1000;
  else if (raw !== undefined && !Number.isNaN(Date.parse(raw))) ms = Date.parse(raw) - now;
  return Math.min(Math.max(ms, 0), capMs);
}


export class ModoboaClient {
  readonly #base: URL;
  readonly #token: Secret;
  readonly #agent: Agent;
  readonly #opts: ModoboaClientOptions;
  /** HTTP requests sent that could change something (POST, PUT, PATCH, DELETE), retries included. */
  writes = 0;
  /** Every HTTP request sent. */
  requests = 0;
  /** 429 answers waited out. */
  throttled = 0;

  constructor(opts: ModoboaClientOptions) {
    this.#opts = opts;
    this.#base = new URL(opts.url.endsWith('/') ? opts.url : `${opts.url}/`);
    this.#token = opts.token;
    this.#agent = new Agent({
      connect: { ca: opts.ca, timeout: opts.timeoutMs, checkServerIdentity: checkServerName },
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      connections: 4,
      // Below the idle timeout of common front ends (gunicorn closes after 2 s): reuse within a burst, not across pauses.
      keepAliveTimeout: 1_000,
      keepAliveMaxTimeout: 1_000,
    });
  }

  get origin(): string {
    return this.#base.origin;
  }

  /** One call, JSON in and out. 429 is retried after Retry-After up to maxRetries; any other non-2xx rejects. */
  async call<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body: unknown, signal: AbortSignal): Promise<T> {
    const url = /^https?:\/\//.test(path) ? new URL(path) : new URL(path.replace(/^\//, ''), this.#base);
    if (url.origin !== this.#base.origin) throw new InfrasecError('modoboa-api', `refusing to send the token to ${url.origin} (not ${this.#base.origin})`);
    const shownPath = url.pathname + url.search;
    let resets = 0;
    for (let attempt = 0; ; attempt++) {
      const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.#opts.timeoutMs)]);
      this.requests++;
      if (method !== 'GET') this.writes++;
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(url, {
          method,
          dispatcher: this.#agent,
          signal: deadline,
          headers: {
            authorization: `Token ${this.#token.reveal()}`,
            accept: 'application/json',
            'accept-language': 'en',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (err) {
        if (signal.aborted) throw err;
        // A kept-alive socket the server closed while idle fails the next request before any answer. A GET is
        // safe to send again, once or twice; a write is not (it may have reached Modoboa): the next pass converges.
        const code = (err as { code?: string }).code;
        if (method === 'GET' && resets < 2 && !deadline.aborted && (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE')) {
          resets++;
          attempt--;
          continue;
        }
        // Our own deadline fired: undici reports it as an abort, which says nothing about the timeout.
        const failure = deadline.aborted ? Object.assign(new Error(`no answer to ${method} ${shownPath}`), { code: 'ETIMEDOUT' }) : err;
        throw new TargetUnavailableError(describeConnectionFailure(failure, {
          system: 'Modoboa', url: this.#base.origin, urlSetting: modoboaSetting('url'), caFileSetting: modoboaSetting('caFile'), caFileSet: this.#opts.ca !== undefined,
          timeoutSetting: modoboaSetting('timeoutMs'), timeoutMs: this.#opts.timeoutMs,
        }), { method, path: shownPath }, { cause: err });
      }
      let text: string;
      try {
        text = await res.body.text();
      } catch (err) {
        if (signal.aborted) throw err;
        throw new TargetUnavailableError(`Modoboa at ${this.#base.origin} dropped the answer to ${method} ${shownPath}: ${(err as Error).message}`, {}, { cause: err });
      }
      let parsed: unknown = undefined;
      if (text) {
        try {
          parsed = JSON.parse(text) as unknown;
        } catch {
          parsed = text;
        }
      }
      if (res.statusCode === 429 && attempt < this.#opts.maxRetries) {
        const wait = retryAfterMs(res.headers['retry-after'], this.#opts.maxRetryAfterMs);
        this.throttled++;
        this.#opts.onThrottled?.(wait, shownPath);
        await sleep(wait, signal);
        continue;
      }
      if (res.statusCode >= 200 && res.statusCode < 300) return parsed as T;
      const { shape, summary, fields } = describeErrorBody(res.statusCode, parsed);
      if (res.statusCode === 401) {
        throw new AuthenticationError(`Modoboa at ${this.#base.origin} refused the API token (${method} ${shownPath}: ${summary}); check ${TOKEN_SETTINGS}`, { status: 401 });
      }
      // DRF's 403 with a detail: the token is someone's who may not do this (the API wants a super administrator's).
      if (res.statusCode === 403 && shape === 'detail') {
        throw new AuthenticationError(
          `Modoboa at ${this.#base.origin} refused ${method} ${shownPath} to the API token's account (403: ${summary}); set ${TOKEN_SETTINGS} to a super administrator's token`,
          { status: 403 },
        );
      }
      throw new ModoboaApiError(method, shownPath, res.statusCode, shape, res.statusCode === 429 ? `${summary} (still throttled after ${attempt} retries)` : summary, fields);
    }
  }

  /** Every item of a paged v2 list, following `next` on the same origin only; accepts a bare array (older servers). */
  async list<T>(path: string, signal: AbortSignal, query: Record<string, string> = {}): Promise<T[]> {
    const params = new URLSearchParams({ ...query, page_size: String(this.#opts.pageSize) });
    let next: string | null = `${path}?${params}`;
    const out: T[] = [];
    let expected = Infinity;
    for (let pages = 0; next !== null; pages++) {
      // Ceiling: the page count the first answer announced, plus one for objects created meanwhile.
      if (pages > Math.ceil(expected / this.#opts.pageSize) + 1 || pages > 100_000) {
        throw new InfrasecError('modoboa-api', `Modoboa kept paging ${path} past ${pages} pages of ${this.#opts.pageSize}`);
      }
      const page: Page<T> | T[] = await this.call<Page<T> | T[]>('GET', next, undefined, signal);
      if (Array.isArray(page)) return page;
      if (!page || !Array.isArray(page.results)) throw new InfrasecError('modoboa-api', `Modoboa answered ${path} with something that is not a list`);
      if (pages === 0) expected = page.count;
      out.push(...page.results);
      next = page.next === null || page.next === undefined ? null : this.#relative(page.next);
    }
    return out;
  }

  /** Behind a proxy Modoboa may build `next` with its own host name: keep our origin, take its path and query. */
  #relative(next: string): string {
    const u = new URL(next, this.#base);
    return `${this.#base.origin}${u.pathname}${u.search}`;
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

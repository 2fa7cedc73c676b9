// pfRest v2 over undici: deadlines and AbortSignal on every call, capped retry of the 503 config lock, typed errors naming the setting to fix.
import { sleep } from '../../engine/backoff.ts';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import { checkServerName, describeConnectionFailure } from '../../engine/connection-failure.ts';
import { describeSetting } from '../../engine/module.ts';
import { ApplyError, AuthenticationError, InfrasecError, TargetUnavailableError } from '../../errors.ts';
import { pfsense } from './index.ts';
import type { PfSenseAuth } from './settings.ts';

/** How an admin sets one of this system's settings, as every message that asks them to fix one names it. */
export function pfSetting(path: keyof typeof pfsense.env): string {
  return describeSetting(pfsense, path);
}

export interface PfSenseClientOptions {
  readonly url: string;
  readonly auth: PfSenseAuth;
  readonly ca?: string;
  readonly timeoutMs: number;
  readonly lockRetries: number;
  readonly lockMaxDelayMs: number;
  readonly logger?: Logger;
}

/** pfRest answered with an error envelope. `responseId` is its stable UPPER_SNAKE id. */
export class PfSenseApiError extends ApplyError {
  constructor(readonly status: number, readonly responseId: string, message: string, context: Readonly<Record<string, unknown>> = {}) {
    super(`pfSense ${status} ${responseId}: ${message}`, { status, responseId, ...context });
  }
}

type Query = Readonly<Record<string, string | number | boolean>>;
type Envelope = { code?: number; response_id?: string; message?: string; data?: unknown };

export class PfSenseClient {
  readonly #opts: PfSenseClientOptions;
  readonly #agent: Agent;
  readonly #base: string;
  /** Write requests sent (including retries): what the benchmark and tests compare with the server's counters. */
  writes = 0;
  reads = 0;

  constructor(opts: PfSenseClientOptions) {
    this.#opts = opts;
    this.#base = `${opts.url.replace(/\/+$/, '')}/api/v2/`;
    this.#agent = new Agent({ connect: { ...(opts.ca ? { ca: opts.ca } : {}), checkServerIdentity: checkServerName }, connections: 4, keepAliveTimeout: 10_000 });
  }

  #headers(json: boolean): Record<string, string> {
    const a = this.#opts.auth;
    const h: Record<string, string> = { accept: 'application/json' };
    if (a.kind === 'key') h['x-api-key'] = a.key.reveal();
    else h.authorization = `Basic ${Buffer.from(`${a.username}:${a.password.reveal()}`).toString('base64')}`;
    // GET/DELETE must not say JSON: pfRest would then ignore the query string.
    if (json) h['content-type'] = 'application/json';
    return h;
  }

  /** The settings that hold the credentials in use, as an admin sets them. */
  #credentialSettings(): string {
    return this.#opts.auth.kind === 'key'
      ? `${pfSetting('apiKey')} or ${pfSetting('apiKeyFile')}`
      : `${pfSetting('username')} and ${pfSetting('password')} or ${pfSetting('passwordFile')}`;
  }

  #account(): string {
    return this.#opts.auth.kind === 'key' ? 'the API key\'s user' : `the user ${this.#opts.auth.username}`;
  }

  async #send(method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT', path: string, query: Query | undefined, body: unknown, signal: AbortSignal): Promise<unknown> {
    const qs = query ? `?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString()}` : '';
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.#opts.timeoutMs)]);
    let status: number;
    let text: string;
    try {
      const res = await request(`${this.#base}${path}${qs}`, {
        method,
        headers: this.#headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: this.#agent,
        signal: deadline,
        headersTimeout: this.#opts.timeoutMs,
        bodyTimeout: this.#opts.timeoutMs,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new TargetUnavailableError('pfSense call aborted', { path }, { cause: err });
      // Our own deadline fired: undici reports it as an abort, which says nothing about the timeout.
      const failure = deadline.aborted ? Object.assign(new Error(`no answer to ${method} ${path}`), { code: 'ETIMEDOUT' }) : err;
      throw new TargetUnavailableError(describeConnectionFailure(failure, {
        system: 'pfSense', url: this.#opts.url, urlSetting: pfSetting('url'), caFileSetting: pfSetting('caFile'), caFileSet: this.#opts.ca !== undefined,
        timeoutSetting: pfSetting('timeoutMs'), timeoutMs: this.#opts.timeoutMs,
      }), { path, method, url: this.#opts.url }, { cause: err });
    }
    let env: Envelope;
    try {
      env = JSON.parse(text) as Envelope;
    } catch {
      throw new TargetUnavailableError(`pfSense ${method} ${path} answered ${status} with a body that is not JSON`, { path, status });
    }
    if (status === 200 && env.response_id === 'SUCCESS') return env.data;
    const id = env.response_id ?? 'UNKNOWN';
    // The server's message names fields and values we sent; none of them is a secret.
    const message = String(env.message ?? '').slice(0, 500);
    if (status === 401) throw new AuthenticationError(`pfSense at ${this.#opts.url} refused the credentials (401 ${id}); check ${this.#credentialSettings()}`, { path });
    if (status === 403 && id === 'AUTH_AUTHORIZATION_FAILED') {
      throw new AuthenticationError(`pfSense at ${this.#opts.url}: ${this.#account()} lacks the privilege for ${method} ${path} (403); give it page-all (System > User Manager), or set ${this.#credentialSettings()} to an account that has it`, { path });
    }
    if (status === 503 && id !== 'MODEL_WRITE_CONFIG_LOCKED') throw new TargetUnavailableError(`pfSense ${method} ${path}: 503 ${id}`, { path });
    throw new PfSenseApiError(status, id, message, { path, method });
  }

  /** A plural or singular read. */
  async get<T>(path: string, query: Query | undefined, signal: AbortSignal): Promise<T> {
    this.reads++;
    return (await this.#send('GET', path, query, undefined, signal)) as T;
  }

  /** A write, retried only on 503 MODEL_WRITE_CONFIG_LOCKED (nothing was written), with capped backoff and jitter. */
  async write<T>(method: 'POST' | 'PATCH' | 'DELETE', path: string, body: Readonly<Record<string, unknown>>, signal: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      this.writes++;
      try {
        // DELETE takes its parameters from the query string (no JSON content type).
        return (method === 'DELETE'
          ? await this.#send(method, path, body as Query, undefined, signal)
          : await this.#send(method, path, undefined, body, signal)) as T;
      } catch (err) {
        const locked = err instanceof PfSenseApiError && err.responseId === 'MODEL_WRITE_CONFIG_LOCKED';
        if (!locked || attempt >= this.#opts.lockRetries) throw err;
        const delay = Math.min(this.#opts.lockMaxDelayMs, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
        this.#opts.logger?.warn({ event: 'pfsense.lock.retry', attempt: attempt + 1, delayMs: Math.round(delay), path }, 'pfSense config locked, retrying');
        await sleep(delay, signal);
      }
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}


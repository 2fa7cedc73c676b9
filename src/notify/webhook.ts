// Generic JSON webhook notifications (drift found, apply failed, guard refused, head not applied), posted with undici and a capped, jittered retry.
import type { Logger } from 'pino';
import { request } from 'undici';
import { backoffDelay, sleep, type BackoffPolicy } from '../engine/backoff.ts';
import type { Notification, Notifier } from './notification.ts';

export interface WebhookNotifierOptions {
  readonly url: string;
  readonly logger: Logger;
  readonly attempts?: number;
  readonly timeoutMs?: number;
  readonly backoff?: BackoffPolicy;
  /** Called once per notification that could not be delivered. */
  readonly onFailure?: (n: Notification) => void;
}

/** Pure: whether a response status is worth another attempt. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export class WebhookNotifier implements Notifier {
  private readonly attempts: number;
  private readonly timeoutMs: number;
  private readonly backoff: BackoffPolicy;
  /** Webhook URLs often embed a token in the path: only the origin is ever logged. */
  private readonly origin: string;

  constructor(private readonly opts: WebhookNotifierOptions) {
    this.attempts = Math.max(1, Math.min(opts.attempts ?? 4, 10));
    this.timeoutMs = opts.timeoutMs ?? 5_000;
    this.backoff = opts.backoff ?? { baseMs: 500, maxMs: 10_000, factor: 2, jitter: 0.5 };
    this.origin = new URL(opts.url).origin;
  }

  /** Delivers one notification; true when the receiver answered 2xx. Never throws: failure is logged and reported through onFailure. */
  async send(n: Notification, signal?: AbortSignal): Promise<boolean> {
    const body = JSON.stringify(n);
    let last = '';
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (signal?.aborted) break;
      try {
        const res = await request(this.opts.url, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', 'user-agent': 'infrasec' },
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
          signal,
        });
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) {
          this.opts.logger.info({ event: 'notify.sent', notification: n.event, system: n.system, attempt }, 'notification sent');
          return true;
        }
        last = `HTTP ${res.statusCode}`;
        if (!isRetryableStatus(res.statusCode)) break;
      } catch (err) {
        last = (err as Error).name === 'AbortError' ? 'aborted' : ((err as NodeJS.ErrnoException).code ?? (err as Error).name);
      }
      if (attempt < this.attempts) {
        try {
          await sleep(backoffDelay(attempt, this.backoff), signal);
        } catch {
          break; // aborted while waiting: shutting down
        }
      }
    }
    this.opts.logger.error({ event: 'notify.failed', notification: n.event, system: n.system, target: this.origin, error: last }, 'notification not delivered');
    this.opts.onFailure?.(n);
    return false;
  }
}

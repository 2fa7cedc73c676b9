// Notifications posted to a webhook (undici): the body in the receiver's format, signed with a timestamped HMAC-SHA256 when a secret is set, with a capped, jittered retry.
import type { Logger } from 'pino';
import { request } from 'undici';
import type { BackoffPolicy } from '../engine/backoff.ts';
import { webhookBody, type WebhookFormat } from './formats.ts';
import type { Notification, Notifier } from './notification.ts';
import { DEFAULT_NOTIFY_BACKOFF, deliver, type AttemptResult } from './retry.ts';
import { SIGNATURE_HEADER, signBody } from './signature.ts';

export interface WebhookNotifierOptions {
  readonly url: string;
  readonly logger: Logger;
  /** Body format (default `generic`). */
  readonly format?: WebhookFormat;
  /** Shared secret: each attempt is signed in `X-Infrasec-Signature: t=<unix seconds>,v1=<hex>` (signature.ts). */
  readonly secret?: string;
  /** The clock the signature's timestamp is read from (tests). */
  readonly now?: () => Date;
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
  private readonly format: WebhookFormat;
  /** Webhook URLs often embed a token in the path (Slack, Mattermost, Teams): only the origin is ever logged. */
  private readonly origin: string;

  constructor(private readonly opts: WebhookNotifierOptions) {
    this.format = opts.format ?? 'generic';
    this.origin = new URL(opts.url).origin;
  }

  /** Delivers one notification; true when the receiver answered 2xx. Never throws: failure is logged and reported through onFailure. */
  async send(n: Notification, signal?: AbortSignal): Promise<boolean> {
    const body = JSON.stringify(webhookBody(this.format, n));
    const timeoutMs = this.opts.timeoutMs ?? 5_000;
    const attempt = async (): Promise<AttemptResult> => {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'infrasec', 'x-infrasec-event': n.event };
      // Signed at each attempt: a retry after a long backoff still carries a timestamp the receiver takes.
      if (this.opts.secret) headers[SIGNATURE_HEADER] = signBody(body, this.opts.secret, this.opts.now?.() ?? new Date());
      try {
        const res = await request(this.opts.url, { method: 'POST', body, headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal });
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true };
        return { ok: false, retryable: isRetryableStatus(res.statusCode), reason: `HTTP ${res.statusCode}` };
      } catch (err) {
        const reason = (err as Error).name === 'AbortError' ? 'aborted' : ((err as NodeJS.ErrnoException).code ?? (err as Error).name);
        return { ok: false, retryable: reason !== 'aborted', reason };
      }
    };
    const r = await deliver(attempt, { attempts: this.opts.attempts ?? 4, backoff: this.opts.backoff ?? DEFAULT_NOTIFY_BACKOFF, signal });
    if (r.ok) {
      this.opts.logger.info({ event: 'notify.sent', notification: n.event, system: n.system, target: this.origin, format: this.format, attempt: r.attempts }, 'notification sent');
      return true;
    }
    this.opts.logger.error({ event: 'notify.failed', notification: n.event, system: n.system, target: this.origin, format: this.format, error: r.reason }, 'notification not delivered');
    this.opts.onFailure?.(n);
    return false;
  }
}

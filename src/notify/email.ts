// Notifications sent as plain-text e-mail through an SMTP relay (nodemailer): the one line as subject, the details as body, with the same capped retry as webhooks.
import type { Logger } from 'pino';
import nodemailer from 'nodemailer';
import type { BackoffPolicy } from '../engine/backoff.ts';
import { eventTitle, notificationDetails, notificationText, type Notification, type Notifier } from './notification.ts';
import { DEFAULT_NOTIFY_BACKOFF, deliver, type AttemptResult } from './retry.ts';

export interface EmailNotifierOptions {
  /** `smtp://host[:port]` (STARTTLS; required when credentials are set) or `smtps://host[:port]` (TLS from the start). */
  readonly url: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly username?: string;
  readonly password?: string;
  /** PEM of the CA that signed the relay's certificate, when it is not a public one. */
  readonly ca?: string;
  readonly logger: Logger;
  readonly attempts?: number;
  readonly timeoutMs?: number;
  readonly backoff?: BackoffPolicy;
  readonly onFailure?: (n: Notification) => void;
}

/** Pure: the message a notification makes (subject, plain-text body). */
export function emailMessage(n: Notification): { subject: string; text: string } {
  const details = notificationDetails(n);
  const text = [
    notificationText(n),
    '',
    `event:    ${n.event} (${eventTitle(n.event)})`,
    `system:   ${n.system}`,
    `revision: ${n.revision}`,
    `time:     ${n.time}`,
    ...(details.length > 0 ? ['', ...details] : []),
    '',
  ].join('\n');
  return { subject: notificationText(n), text };
}

/**
 * Pure: whether an SMTP failure is worth another attempt. A 4xx reply and a lost or refused connection are
 * transient; a 5xx reply, refused credentials or a TLS failure will not change by retrying.
 */
export function isRetryableSmtpError(err: { code?: string; responseCode?: number }): boolean {
  if (typeof err.responseCode === 'number') return err.responseCode >= 400 && err.responseCode < 500;
  return ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNRESET', 'ECONNREFUSED'].includes(err.code ?? '');
}

export class EmailNotifier implements Notifier {
  private readonly host: string;
  private readonly port: number | undefined;
  private readonly implicitTls: boolean;

  constructor(private readonly opts: EmailNotifierOptions) {
    const u = new URL(opts.url);
    if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') throw new Error(`e-mail relay URL must start with smtp:// or smtps:// (got ${u.protocol}//)`);
    this.host = u.hostname.replace(/^\[|\]$/g, '');
    this.port = u.port ? Number(u.port) : undefined;
    this.implicitTls = u.protocol === 'smtps:';
  }

  async send(n: Notification, signal?: AbortSignal): Promise<boolean> {
    const { subject, text } = emailMessage(n);
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    const credentials = this.opts.username !== undefined && this.opts.password !== undefined;
    const attempt = async (): Promise<AttemptResult> => {
      const transport = nodemailer.createTransport({
        host: this.host, port: this.port, secure: this.implicitTls,
        // A password never goes over a plain connection: with credentials, STARTTLS is required.
        requireTLS: credentials && !this.implicitTls,
        auth: credentials ? { user: this.opts.username!, pass: this.opts.password! } : undefined,
        tls: { ca: this.opts.ca, minVersion: 'TLSv1.2' },
        connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs,
      });
      try {
        await abortable(transport.sendMail({ from: this.opts.from, to: [...this.opts.to], subject, text, headers: { 'X-Infrasec-Event': n.event } }), signal);
        return { ok: true };
      } catch (err) {
        const e = err as { code?: string; responseCode?: number; name?: string };
        if (signal?.aborted) return { ok: false, retryable: false, reason: 'aborted' };
        // The code and reply number only: a server's reply text may quote what it was sent.
        return { ok: false, retryable: isRetryableSmtpError(e), reason: e.responseCode ? `SMTP ${e.responseCode}` : (e.code ?? e.name ?? 'error') };
      } finally {
        transport.close();
      }
    };
    const r = await deliver(attempt, { attempts: this.opts.attempts ?? 4, backoff: this.opts.backoff ?? DEFAULT_NOTIFY_BACKOFF, signal });
    if (r.ok) {
      this.opts.logger.info({ event: 'notify.sent', notification: n.event, system: n.system, target: `smtp:${this.host}`, recipients: this.opts.to.length, attempt: r.attempts }, 'notification e-mailed');
      return true;
    }
    this.opts.logger.error({ event: 'notify.failed', notification: n.event, system: n.system, target: `smtp:${this.host}`, error: r.reason }, 'notification not e-mailed');
    this.opts.onFailure?.(n);
    return false;
  }
}

/** Stops waiting when the controller stops; the SMTP session then ends on its own socket timeout. */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

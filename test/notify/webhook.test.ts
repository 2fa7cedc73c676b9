// Integration (real HTTP receiver on 127.0.0.1): notifications in the receiver's format, signed when a secret is set, with capped retry — retried on 5xx, not on 4xx, given up after the cap.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.ts';
import { notificationText, type Notification } from '../../src/notify/notification.ts';
import { isRetryableStatus, WebhookNotifier } from '../../src/notify/webhook.ts';

const fast = { baseMs: 5, maxMs: 20, factor: 2, jitter: 0 };
const note: Notification = { event: 'apply.failed', time: '2026-03-01T12:00:00Z', system: 'active-directory', revision: 'abc', summary: '1 change failed' };

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function receiver(statuses: number[]): Promise<{ url: string; bodies: unknown[]; raw: string[]; headers: Array<Record<string, string | string[] | undefined>> }> {
  const bodies: unknown[] = [];
  const raw: string[] = [];
  const headers: Array<Record<string, string | string[] | undefined>> = [];
  let i = 0;
  server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      raw.push(data);
      headers.push(req.headers);
      bodies.push(JSON.parse(data));
      res.statusCode = statuses[Math.min(i++, statuses.length - 1)]!;
      res.end();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/hooks/secret-path`, bodies, raw, headers };
}

describe('WebhookNotifier', () => {
  it('posts the notification as JSON and retries 5xx until it is accepted', async () => {
    const r = await receiver([503, 500, 204]);
    const ok = await new WebhookNotifier({ url: r.url, logger: silentLogger, backoff: fast }).send(note);
    expect(ok).toBe(true);
    expect(r.bodies).toHaveLength(3);
    expect(r.bodies[0]).toEqual({ ...note, text: notificationText(note) });
    expect(r.headers[0]!['x-infrasec-event']).toBe('apply.failed');
    expect(r.headers[0]!['x-infrasec-signature']).toBeUndefined();
  });

  it('signs each body with HMAC-SHA256 of its exact bytes when a secret is set', async () => {
    const r = await receiver([204]);
    await new WebhookNotifier({ url: r.url, logger: silentLogger, backoff: fast, secret: 'notify-S3CRET' }).send(note);
    const expected = `sha256=${createHmac('sha256', 'notify-S3CRET').update(r.raw[0]!).digest('hex')}`;
    expect(r.headers[0]!['x-infrasec-signature']).toBe(expected);
    expect(r.raw[0]).not.toContain('notify-S3CRET');
  });

  it.each(['slack', 'mattermost', 'rocket'] as const)('posts the %s body (a text field) when that format is chosen', async (format) => {
    const r = await receiver([200]);
    await new WebhookNotifier({ url: r.url, logger: silentLogger, backoff: fast, format }).send(note);
    expect((r.bodies[0] as { text: string }).text).toBe(notificationText(note));
    expect(r.bodies[0]).not.toHaveProperty('event');
  });

  it('never logs the URL path (its token) or the secret', async () => {
    const r = await receiver([500]);
    let logged = '';
    const logger = createLogger({ level: 'trace', destination: new Writable({ write: (chunk, _enc, done) => ((logged += String(chunk)), done()) }) });
    await new WebhookNotifier({ url: r.url, logger, backoff: fast, attempts: 2, secret: 'notify-S3CRET' }).send(note);
    expect(logged).toContain('notify.failed');
    expect(logged).not.toContain('secret-path');
    expect(logged).not.toContain('S3CRET');
  });

  it('does not retry a 4xx and reports the failure once', async () => {
    const r = await receiver([400]);
    const failed: string[] = [];
    const ok = await new WebhookNotifier({ url: r.url, logger: silentLogger, backoff: fast, onFailure: (n) => failed.push(n.event) }).send(note);
    expect(ok).toBe(false);
    expect(r.bodies).toHaveLength(1);
    expect(failed).toEqual(['apply.failed']);
  });

  it('gives up after the capped number of attempts', async () => {
    const r = await receiver([500]);
    const ok = await new WebhookNotifier({ url: r.url, logger: silentLogger, backoff: fast, attempts: 3 }).send(note);
    expect(ok).toBe(false);
    expect(r.bodies).toHaveLength(3);
  });

  it('survives a receiver that is down (connection refused) without throwing', async () => {
    const r = await receiver([204]);
    await new Promise<void>((res) => server!.close(() => res()));
    server = undefined;
    await expect(new WebhookNotifier({ url: r.url, logger: silentLogger, backoff: fast, attempts: 2 }).send(note)).resolves.toBe(false);
  });

  it('classifies statuses', () => {
    expect([408, 429, 500, 503].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 404, 422].some(isRetryableStatus)).toBe(false);
  });
});

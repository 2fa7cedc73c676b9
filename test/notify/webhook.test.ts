// Integration (real HTTP receiver on 127.0.0.1): JSON notifications with capped retry — retried on 5xx, not on 4xx, given up after the cap.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import type { Notification } from '../../src/notify/notification.ts';
import { isRetryableStatus, WebhookNotifier } from '../../src/notify/webhook.ts';

const fast = { baseMs: 5, maxMs: 20, factor: 2, jitter: 0 };
const note: Notification = { event: 'apply.failed', time: '2026-03-01T12:00:00Z', system: 'active-directory', revision: 'abc', summary: '1 change failed' };

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function receiver(statuses: number[]): Promise<{ url: string; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  let i = 0;
  server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      bodies.push(JSON.parse(data));
      res.statusCode = statuses[Math.min(i++, statuses.length - 1)]!;
      res.end();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/hooks/secret-path`, bodies };
}

describe('WebhookNotifier', () => {
  it('posts the notification as JSON and retries 5xx until it is accepted', async () => {
    const r = await receiver([503, 500, 204]);
    const ok = await new WebhookNotifier({ url: r.url, logger: silentLogger, backoff: fast }).send(note);
    expect(ok).toBe(true);
    expect(r.bodies).toHaveLength(3);
    expect(r.bodies[0]).toEqual(note);
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

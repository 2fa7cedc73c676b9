// Integration (real HTTP receiver on 127.0.0.1): notifications in the receiver's format, signed with a timestamp when a secret is set (checked with the README's recipes), with capped retry — retried on 5xx, not on 4xx, given up after the cap.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import * as crypto from 'node:crypto';
import { createHmac } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.ts';
import { notificationText, type Notification } from '../../src/notify/notification.ts';
import { verifyBodySignature } from '../../src/notify/signature.ts';
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

  it('signs each attempt with t=<seconds>,v1=<HMAC-SHA256 of "<t>.<exact body>"> when a secret is set', async () => {
    const r = await receiver([503, 204]);
    const clock = [new Date('2026-03-01T12:00:00Z'), new Date('2026-03-01T12:00:07Z')];
    await new WebhookNotifier({ url: r.url, logger: silentLogger, backoff: fast, secret: 'notify-S3CRET', now: () => clock.shift()! }).send(note);
    const hmac = (t: number, body: string) => createHmac('sha256', 'notify-S3CRET').update(`${t}.${body}`).digest('hex');
    expect(r.headers[0]!['x-infrasec-signature']).toBe(`t=1772366400,v1=${hmac(1772366400, r.raw[0]!)}`);
    // The retry carries its own timestamp.
    expect(r.headers[1]!['x-infrasec-signature']).toBe(`t=1772366407,v1=${hmac(1772366407, r.raw[1]!)}`);
    expect(r.raw[0]).not.toContain('notify-S3CRET');
  });

  describe("the README's receiver recipes", () => {
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    // The fences sit in a list item: their lines are indented by two spaces.
    const unindent = (block: string | undefined) => block?.replace(/^ {2}/gm, '');
    const nodeRecipe = unindent(/```js\n( {2}const \[, t, v1\][\s\S]*?) {2}```/.exec(readme)?.[1]);
    const shellRecipe = unindent(/By hand, with the header in `\$SIG`[\s\S]*?```sh\n([\s\S]*?) {2}```/.exec(readme)?.[1]);

    /** The Node snippet as the README prints it, run with the request's header and raw body. */
    function nodeVerifies(header: string, rawBody: string, secret: string): boolean {
      const run = new Function('crypto', 'req', 'secret', 'rawBody', `${nodeRecipe}\nreturn valid;`) as (...a: unknown[]) => boolean;
      return run(crypto, { headers: { 'x-infrasec-signature': header } }, secret, Buffer.from(rawBody));
    }

    /** The sh + openssl lines as the README prints them, in a scratch directory holding body.json. */
    async function shellVerifies(header: string, rawBody: string, secret: string): Promise<boolean> {
      const dir = await mkdtemp(join(tmpdir(), 'infrasec-signature-'));
      try {
        await writeFile(join(dir, 'body.json'), rawBody);
        const { stdout } = await promisify(execFile)('sh', ['-c', shellRecipe!], { cwd: dir, env: { PATH: process.env['PATH'], SIG: header, SECRET: secret } }).catch((e: { stdout: string }) => e);
        return stdout.trim() === 'valid';
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }

    async function signedPost(now?: Date): Promise<{ header: string; body: string }> {
      const r = await receiver([204]);
      await new WebhookNotifier({ url: r.url, logger: silentLogger, backoff: fast, secret: 'notify-S3CRET', now: now && (() => now) }).send(note);
      return { header: String(r.headers[0]!['x-infrasec-signature']), body: r.raw[0]! };
    }

    it('are in the README', () => {
      expect(nodeRecipe).toBeDefined();
      expect(shellRecipe).toBeDefined();
    });

    it('take a post as infrasec sent it', async () => {
      const { header, body } = await signedPost();
      expect(nodeVerifies(header, body, 'notify-S3CRET')).toBe(true);
      expect(await shellVerifies(header, body, 'notify-S3CRET')).toBe(true);
    });

    it('refuse it with a changed body, a changed timestamp or another secret', async () => {
      const { header, body } = await signedPost();
      const t = Number(/^t=(\d+),/.exec(header)![1]);
      const changedBody = body.replace('1 change failed', '0 change failed');
      const changedTime = header.replace(`t=${t}`, `t=${t - 1}`);
      expect(changedBody).not.toBe(body);
      for (const [h, b, secret] of [[header, changedBody, 'notify-S3CRET'], [changedTime, body, 'notify-S3CRET'], [header, body, 'other']] as const) {
        expect(nodeVerifies(h, b, secret)).toBe(false);
        expect(await shellVerifies(h, b, secret)).toBe(false);
      }
    });

    it('refuse a genuine post replayed more than 5 minutes later', async () => {
      const { header, body } = await signedPost(new Date(Date.now() - 10 * 60_000));
      expect(nodeVerifies(header, body, 'notify-S3CRET')).toBe(false);
      expect(await shellVerifies(header, body, 'notify-S3CRET')).toBe(false);
      expect(verifyBodySignature(body, 'notify-S3CRET', header, new Date(Date.now() - 10 * 60_000)).ok).toBe(true);
    });
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

// The notification targets infrasec.yaml and the environment name: notifyUrl as before, its format and signing secret, more webhooks, e-mail; secret files read, never quoted.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';
import { Writable } from 'node:stream';
import { createLogger, silentLogger } from '../../src/log.ts';
import { EmailNotifier } from '../../src/notify/email.ts';
import { verifyBodySignature } from '../../src/notify/signature.ts';
import { FanOutNotifier } from '../../src/notify/fan-out.ts';
import { notificationText, type Notification } from '../../src/notify/notification.ts';
import { buildNotifier } from '../../src/notify/targets.ts';

const note: Notification = { event: 'guard.refused', time: '2026-03-01T12:00:00Z', system: 'pbx', revision: 'f'.repeat(40), summary: 'pbx: a guard refused the plan', reasons: ['too many deletions'] };
const base = { INFRASEC_CONFIG: join(tmpdir(), 'infrasec-no-such-config.yaml'), INFRASEC_DIRECTORY: '/tmp/desired' };

let dir: string;
const servers: Server[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infrasec-notify-'));
});
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

interface Post { path: string; raw: string; signature: string | undefined }
async function receiver(): Promise<{ base: string; posts: Post[] }> {
  const posts: Post[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', raw, signature: req.headers['x-infrasec-signature'] as string | undefined });
      res.statusCode = 200;
      res.end('ok');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, posts };
}

describe('buildNotifier', () => {
  it('keeps INFRASEC_NOTIFY_URL alone working as before: the generic JSON, now with text, unsigned', async () => {
    const r = await receiver();
    const config = await loadConfig({ env: { ...base, INFRASEC_NOTIFY_URL: `${r.base}/hook` } });
    const notifier = await buildNotifier(config.controller, { logger: silentLogger });
    expect(await notifier!.send(note)).toBe(true);
    expect(JSON.parse(r.posts[0]!.raw)).toEqual({ ...note, text: notificationText(note) });
    expect(r.posts[0]!.signature).toBeUndefined();
  });

  it('posts the chosen format signed with the secret file given in the environment', async () => {
    const r = await receiver();
    await writeFile(join(dir, 'hmac'), 'hmac-S3CRET\n');
    const config = await loadConfig({ env: { ...base, INFRASEC_NOTIFY_URL: `${r.base}/hooks/T0K3N`, INFRASEC_NOTIFY_FORMAT: 'mattermost', INFRASEC_NOTIFY_SECRET_FILE: join(dir, 'hmac') } });
    await (await buildNotifier(config.controller, { logger: silentLogger }))!.send(note);
    const post = r.posts[0]!;
    expect(JSON.parse(post.raw)).toMatchObject({ text: notificationText(note) });
    expect(verifyBodySignature(post.raw, 'hmac-S3CRET', post.signature)).toMatchObject({ ok: true });
    expect(verifyBodySignature(post.raw, 'hmac-S3CRET\n', post.signature).ok).toBe(false);
  });

  it('sends to every target of infrasec.yaml: notifyUrl, more webhooks (one URL read from a file), e-mail', async () => {
    const r = await receiver();
    await writeFile(join(dir, 'teams-url'), `${r.base}/teams/T0K3N\n`);
    const file = join(dir, 'infrasec.yaml');
    await writeFile(file, [
      'controller:',
      '  directory: /tmp/desired',
      `  notifyUrl: ${r.base}/generic`,
      '  notifyWebhooks:',
      `    - { url: "${r.base}/slack", format: slack }`,
      `    - { urlFile: ${join(dir, 'teams-url')}, format: msteams }`,
      '  notifyEmail: { url: "smtp://127.0.0.1:1", from: infrasec@cod67.test, to: [astreinte@cod67.test] }',
    ].join('\n'));
    const config = await loadConfig({ file, env: {} });
    const notifier = await buildNotifier(config.controller, { logger: silentLogger });
    expect(notifier).toBeInstanceOf(FanOutNotifier);
    const targets = (notifier as unknown as { targets: unknown[] }).targets;
    expect(targets).toHaveLength(4);
    expect(targets[3]).toBeInstanceOf(EmailNotifier);
    // The three webhooks only (the e-mail relay is tested in email.test.ts).
    const webhooks = new FanOutNotifier(targets.slice(0, 3) as never);
    expect(await webhooks.send(note)).toBe(true);
    expect(r.posts.map((p) => p.path).sort()).toEqual(['/generic', '/slack', '/teams/T0K3N']);
    expect(JSON.parse(r.posts.find((p) => p.path.startsWith('/teams'))!.raw)).toMatchObject({ type: 'message' });
  });

  it('is undefined when nothing is configured', async () => {
    expect(await buildNotifier((await loadConfig({ env: base })).controller, { logger: silentLogger })).toBeUndefined();
  });

  it.each([
    ['a secret with no notifyUrl', { INFRASEC_NOTIFY_SECRET: 'hmac-S3CRET' }, 'controller.notifySecret(File) signs the posts to controller.notifyUrl, which is not set'],
    ['an unreadable secret file', { INFRASEC_NOTIFY_URL: 'https://chat.example/h', INFRASEC_NOTIFY_SECRET_FILE: '/nonexistent/hmac' }, 'cannot read controller.notifySecretFile /nonexistent/hmac: ENOENT'],
    ['an SMTP login without a password', { INFRASEC_NOTIFY_SMTP_URL: 'smtp://mail.example:587', INFRASEC_NOTIFY_EMAIL_FROM: 'a@b.c', INFRASEC_NOTIFY_EMAIL_TO: 'd@e.f', INFRASEC_NOTIFY_SMTP_USERNAME: 'u' }, 'controller.notifyEmail: set both username and password'],
  ])('refuses %s with a ConfigError naming the setting', async (_name, env, message) => {
    const config = await loadConfig({ env: { ...base, ...env } });
    const err = await buildNotifier(config.controller, { logger: silentLogger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(message);
    expect((err as Error).message).not.toContain('S3CRET');
  });

  it('refuses a URL file that holds no URL without quoting what it holds', async () => {
    await writeFile(join(dir, 'url'), 'T0K3N-S3CRET\n');
    const file = join(dir, 'infrasec.yaml');
    await writeFile(file, `controller:\n  notifyWebhooks: [{ urlFile: ${join(dir, 'url')} }]\n`);
    const err = await buildNotifier((await loadConfig({ file, env: {} })).controller, { logger: silentLogger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('controller.notifyWebhooks[0].urlFile');
    expect((err as Error).message).not.toContain('S3CRET');
  });

  it('warns at start, naming the setting, for a chat webhook or a signed one on plain http:// to another host; loopback and https:// are quiet', async () => {
    await writeFile(join(dir, 'teams-url'), 'http://teams.cod67.example/workflows/T0K3N\n');
    const file = join(dir, 'infrasec.yaml');
    await writeFile(file, [
      'controller:',
      '  directory: /tmp/desired',
      '  notifyUrl: http://chat.cod67.example:8065/hooks/T0K3N',
      '  notifyFormat: mattermost',
      '  notifyWebhooks:',
      `    - { urlFile: ${join(dir, 'teams-url')}, format: msteams }`,
      '    - { url: "http://10.0.0.5/hook", secret: s3cret }',
      '    - { url: "http://10.0.0.6/hook" }',
      '    - { url: "http://127.0.0.1:9/hooks/T0K3N", format: slack }',
      '    - { url: "https://hooks.slack.com/services/T0K3N", format: slack }',
    ].join('\n'));
    let logged = '';
    const logger = createLogger({ level: 'info', destination: new Writable({ write: (chunk, _enc, done) => ((logged += String(chunk)), done()) }) });
    await buildNotifier((await loadConfig({ file, env: {} })).controller, { logger });
    const warnings = logged.trim().split('\n').map((l) => JSON.parse(l) as { level: number; event: string; setting: string; target: string; msg: string });
    expect(warnings.every((w) => w.level === 40 && w.event === 'notify.plain_http')).toBe(true);
    expect(warnings.map((w) => [w.setting, w.target])).toEqual([
      ['controller.notifyUrl (INFRASEC_NOTIFY_URL)', 'http://chat.cod67.example:8065'],
      ['controller.notifyWebhooks[0].urlFile', 'http://teams.cod67.example'],
      ['controller.notifyWebhooks[1].url', 'http://10.0.0.5'],
    ]);
    expect(warnings[0]!.msg).toContain("the mattermost webhook's token (in the URL path) and every notification cross the network unencrypted; use the receiver's https:// URL");
    expect(logged).not.toContain('T0K3N');
    expect(logged).not.toContain('s3cret');
  });
});

describe('notification settings', () => {
  it('reads the e-mail target from the environment, recipients comma-separated', async () => {
    const config = await loadConfig({
      env: { ...base, INFRASEC_NOTIFY_SMTP_URL: 'smtps://mail.cod67.test:465', INFRASEC_NOTIFY_EMAIL_FROM: 'infrasec@cod67.test', INFRASEC_NOTIFY_EMAIL_TO: 'astreinte@cod67.test, rssi@cod67.test', INFRASEC_NOTIFY_SMTP_PASSWORD_FILE: '/etc/pw' },
    });
    expect(config.controller.notifyEmail).toEqual({ url: 'smtps://mail.cod67.test:465', from: 'infrasec@cod67.test', to: ['astreinte@cod67.test', 'rssi@cod67.test'], passwordFile: '/etc/pw' });
  });

  it.each([
    ['an unknown format', { INFRASEC_NOTIFY_URL: 'https://x.example/h', INFRASEC_NOTIFY_FORMAT: 'discord' }, 'INFRASEC_NOTIFY_FORMAT (controller.notifyFormat): "discord" is not understood; accepted: one of generic, slack, mattermost, rocket, msteams'],
    ['credentials in the SMTP URL', { INFRASEC_NOTIFY_SMTP_URL: 'smtp://u:pw-S3CRET@mail.example', INFRASEC_NOTIFY_EMAIL_FROM: 'a@b.c', INFRASEC_NOTIFY_EMAIL_TO: 'd@e.f' }, 'controller.notifyEmail.url: must be smtp://host[:port] or smtps://host[:port], with no credentials in it'],
    ['a recipient with a line break', { INFRASEC_NOTIFY_SMTP_URL: 'smtp://mail.example', INFRASEC_NOTIFY_EMAIL_FROM: 'a@b.c', INFRASEC_NOTIFY_EMAIL_TO: 'd@e.f\r\nBcc: x@y.z' }, 'controller.notifyEmail.to.0: must be a plain address'],
  ])('refuses %s, naming the setting', async (_name, env, message) => {
    const err = await loadConfig({ env: { ...base, ...env } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(message);
    expect((err as Error).message).not.toContain('S3CRET');
  });
});

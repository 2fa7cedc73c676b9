// Integration (a real SMTP server, smtp-server, on 127.0.0.1): notifications e-mailed through a relay, with or without login, STARTTLS or TLS from the start; a password never crosses a plain connection; 4xx retried, 5xx not.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../src/log.ts';
import { EmailNotifier, emailMessage, isRetryableSmtpError } from '../../src/notify/email.ts';
import { notificationText, type Notification } from '../../src/notify/notification.ts';

const fast = { baseMs: 5, maxMs: 20, factor: 2, jitter: 0 };
const PASSWORD = 'smtp-S3CRET-pw';
const note: Notification = {
  event: 'drift.found', time: '2026-03-01T12:00:00Z', system: 'active-directory', revision: 'abcdef0123456789abcdef0123456789abcdef01',
  summary: '1 object(s) in active-directory drifted', objects: [{ object: 'User/jdupont', action: 'update', mode: 'report', corrected: false, fields: [{ path: 'spec.title' }] }],
};

let dir: string;
let key: string;
let cert: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infrasec-smtp-'));
  // A self-signed certificate for 127.0.0.1: it is its own CA, given to the notifier as caFile.
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ]);
  key = await readFile(join(dir, 'key.pem'), 'utf8');
  cert = await readFile(join(dir, 'cert.pem'), 'utf8');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Received { from: string; to: string[]; raw: string; secure: boolean; user?: string }
interface Relay { port: number; received: Received[]; logins: Array<{ user: string; pass: string; secure: boolean }>; rcptCalls: number }

const servers: SMTPServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

/** Starts an SMTP server on 127.0.0.1; `rcpt` answers each RCPT TO in turn (undefined: accept). */
async function relay(opts: Partial<SMTPServerOptions>, rcpt: Array<{ code: number; message: string } | undefined> = []): Promise<Relay> {
  const state: Relay = { port: 0, received: [], logins: [], rcptCalls: 0 };
  const server = new SMTPServer({
    logger: false, key, cert, authOptional: true, ...opts,
    onAuth(auth, session, cb) {
      state.logins.push({ user: auth.username ?? '', pass: auth.password ?? '', secure: session.secure });
      if (auth.username === 'infrasec' && auth.password === PASSWORD) return cb(null, { user: auth.username });
      cb(new Error('535 bad credentials'));
    },
    onRcptTo(_address, _session, cb) {
      const answer = rcpt[state.rcptCalls++];
      if (!answer) return cb();
      cb(Object.assign(new Error(answer.message), { responseCode: answer.code }));
    },
    onData(stream, session, cb) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      stream.on('end', () => {
        state.received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address),
          raw, secure: session.secure, user: session.user as string | undefined,
        });
        cb();
      });
    },
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  return state;
}

/** Decodes a quoted-printable body (soft line breaks and =XX escapes). */
function quotedPrintable(s: string): string {
  return Buffer.from(s.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
}

const target = { from: 'infrasec@cod67.test', to: ['astreinte@cod67.test', 'rssi@cod67.test'] };

describe('EmailNotifier', () => {
  it('e-mails through a relay that takes mail without login: the one line as subject, the details as body', async () => {
    const r = await relay({ disabledCommands: ['STARTTLS', 'AUTH'] });
    const ok = await new EmailNotifier({ url: `smtp://127.0.0.1:${r.port}`, ...target, logger: silentLogger, backoff: fast }).send(note);
    expect(ok).toBe(true);
    expect(r.received).toHaveLength(1);
    const m = r.received[0]!;
    expect(m.from).toBe('infrasec@cod67.test');
    expect(m.to).toEqual(['astreinte@cod67.test', 'rssi@cod67.test']);
    const unfolded = m.raw.replace(/\r\n[ \t]+/g, ' ');
    expect(unfolded).toContain(`Subject: ${notificationText(note)}`);
    expect(unfolded).toContain('X-Infrasec-Event: drift.found');
    expect(unfolded).toContain('Content-Type: text/plain; charset=utf-8');
    const body = quotedPrintable(m.raw.slice(m.raw.indexOf('\r\n\r\n') + 4));
    expect(body).toContain('User/jdupont update (not corrected) [spec.title]');
    expect(body).toContain('revision: abcdef0123456789abcdef0123456789abcdef01');
  });

  it('logs in over STARTTLS, trusting the relay through caFile, and the password is not logged', async () => {
    const r = await relay({ authMethods: ['PLAIN', 'LOGIN'] });
    let logged = '';
    const logger = createLogger({ level: 'trace', destination: new Writable({ write: (chunk, _enc, done) => ((logged += String(chunk)), done()) }) });
    const ok = await new EmailNotifier({ url: `smtp://127.0.0.1:${r.port}`, ...target, username: 'infrasec', password: PASSWORD, ca: cert, logger, backoff: fast }).send(note);
    expect(ok).toBe(true);
    expect(r.logins).toEqual([{ user: 'infrasec', pass: PASSWORD, secure: true }]);
    expect(r.received[0]).toMatchObject({ secure: true, user: 'infrasec' });
    expect(logged).toContain('notify.sent');
    expect(logged).not.toContain(PASSWORD);
  });

  it('sends over TLS from the start with smtps://', async () => {
    const r = await relay({ secure: true, disabledCommands: ['AUTH'] });
    const ok = await new EmailNotifier({ url: `smtps://127.0.0.1:${r.port}`, ...target, ca: cert, logger: silentLogger, backoff: fast }).send(note);
    expect(ok).toBe(true);
    expect(r.received[0]!.secure).toBe(true);
  });

  it('never sends the password over a relay that offers no STARTTLS: not delivered, no login attempted, not retried', async () => {
    const r = await relay({ disabledCommands: ['STARTTLS'], allowInsecureAuth: true });
    const failed: string[] = [];
    const ok = await new EmailNotifier({ url: `smtp://127.0.0.1:${r.port}`, ...target, username: 'infrasec', password: PASSWORD, logger: silentLogger, backoff: fast, onFailure: (n) => failed.push(n.event) }).send(note);
    expect(ok).toBe(false);
    expect(r.logins).toEqual([]);
    expect(r.received).toEqual([]);
    expect(failed).toEqual(['drift.found']);
  });

  it('refuses a relay certificate it cannot verify (no caFile for a private CA)', async () => {
    const r = await relay({ disabledCommands: ['AUTH'] });
    const ok = await new EmailNotifier({ url: `smtp://127.0.0.1:${r.port}`, ...target, logger: silentLogger, backoff: fast, attempts: 3 }).send(note);
    expect(ok).toBe(false);
    expect(r.received).toEqual([]);
  });

  it('retries a 4xx answer until the relay takes it, and gives up at once on a 5xx', async () => {
    const busy = await relay({ disabledCommands: ['STARTTLS', 'AUTH'] }, [{ code: 451, message: 'try again later' }]);
    expect(await new EmailNotifier({ url: `smtp://127.0.0.1:${busy.port}`, from: target.from, to: ['a@cod67.test'], logger: silentLogger, backoff: fast }).send(note)).toBe(true);
    expect(busy.rcptCalls).toBe(2);
    expect(busy.received).toHaveLength(1);

    const refused = await relay({ disabledCommands: ['STARTTLS', 'AUTH'] }, [{ code: 550, message: 'no such mailbox' }, { code: 550, message: 'no such mailbox' }]);
    expect(await new EmailNotifier({ url: `smtp://127.0.0.1:${refused.port}`, from: target.from, to: ['a@cod67.test'], logger: silentLogger, backoff: fast }).send(note)).toBe(false);
    expect(refused.rcptCalls).toBe(1);
  });

  it('survives a relay that is down without throwing', async () => {
    const r = await relay({});
    await new Promise<void>((res) => servers.pop()!.close(() => res()));
    await expect(new EmailNotifier({ url: `smtp://127.0.0.1:${r.port}`, ...target, logger: silentLogger, backoff: fast, attempts: 2, timeoutMs: 2_000 }).send(note)).resolves.toBe(false);
  });
});

describe('pure parts', () => {
  it('builds the message from the notification', () => {
    const m = emailMessage(note);
    expect(m.subject).toBe(notificationText(note));
    expect(m.text.split('\n')).toEqual([
      notificationText(note), '', 'event:    drift.found (drift found)', 'system:   active-directory', 'revision: abcdef0123456789abcdef0123456789abcdef01',
      'time:     2026-03-01T12:00:00Z', '', 'User/jdupont update (not corrected) [spec.title]', '',
    ]);
  });

  it.each([
    [{ responseCode: 451 }, true], [{ responseCode: 421 }, true], [{ responseCode: 550 }, false], [{ responseCode: 535, code: 'EAUTH' }, false],
    [{ code: 'ECONNECTION' }, true], [{ code: 'ETIMEDOUT' }, true], [{ code: 'ETLS' }, false], [{ code: 'EAUTH' }, false],
  ])('classifies %j as retryable: %s', (err, expected) => {
    expect(isRetryableSmtpError(err)).toBe(expected);
  });
});

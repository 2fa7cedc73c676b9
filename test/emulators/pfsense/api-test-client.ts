// Raw HTTPS calls to the emulator for its own tests (trusting its CA), plus an openvpn parse check.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Agent, request } from 'undici';
import type { PfSenseEmulator } from './server.js';

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { code: number; status: string; response_id: string; message: string; data: any };
  text: string;
}

export interface CallOptions {
  json?: unknown;
  /** Raw query string (without `?`). */
  query?: string;
  /** `user:pass` for Basic; null for no Authorization header. Default admin:pfsense. */
  basic?: string | null;
  headers?: Record<string, string>;
  body?: string;
}

const agents = new WeakMap<PfSenseEmulator, Agent>();

export function agentFor(emu: PfSenseEmulator): Agent {
  let a = agents.get(emu);
  if (!a) {
    a = new Agent({ connect: { ca: emu.caPem } });
    agents.set(emu, a);
  }
  return a;
}

export async function closeAgent(emu: PfSenseEmulator): Promise<void> {
  await agents.get(emu)?.close();
  agents.delete(emu);
}

export async function call(emu: PfSenseEmulator, method: string, p: string, opts: CallOptions = {}): Promise<RawReply> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const basic = opts.basic === undefined ? 'admin:pfsense' : opts.basic;
  if (basic !== null) headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(opts.json);
  }
  const res = await request(`${emu.url}/api/v2/${p}${opts.query ? `?${opts.query}` : ''}`, {
    method: method as 'GET',
    headers,
    body,
    dispatcher: agentFor(emu),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.body.text();
  let parsed: RawReply['body'];
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { code: res.statusCode, status: '', response_id: '', message: text, data: null };
  }
  return { status: res.statusCode, headers: res.headers, body: parsed, text };
}

/**
 * Runs the real openvpn on a copy of `ovpn` whose `remote` points at a closed local port, until it has parsed
 * the options and loaded the inline CA/cert/key (it then opens the link) or exits. Returns its log.
 */
export async function openvpnParses(ovpn: string): Promise<{ ok: boolean; log: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ovpn-'));
  try {
    const local = ovpn.replace(/^remote .*$/m, 'remote 127.0.0.1 9 udp4');
    await writeFile(path.join(dir, 'client.ovpn'), local, { mode: 0o600 });
    await writeFile(path.join(dir, 'creds'), 'user\npass\n', { mode: 0o600 });
    return await new Promise((resolve) => {
      const child = spawn('/usr/sbin/openvpn', ['--config', 'client.ovpn', '--auth-user-pass', 'creds', '--dev', 'null',
        '--route-noexec', '--ifconfig-noexec', '--verb', '3'], { cwd: dir });
      let log = '';
      let done = false;
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (child.exitCode === null) child.kill('SIGKILL');
        resolve({ ok, log });
      };
      const onData = (b: Buffer) => {
        log += b.toString();
        if (/link remote:/.test(log)) finish(!/Options error|fatal error/i.test(log));
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', () => finish(false));
      const timer = setTimeout(() => finish(false), 15_000);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

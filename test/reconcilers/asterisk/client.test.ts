// The AMI client over TCP: framing quirks, list collection, header checks before sending, login and connection failures.
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../../src/desired/secret.ts';
import { AuthenticationError, TargetUnavailableError } from '../../../src/errors.ts';
import { AmiClient, AmiHeaderError, AmiMessage, AmiParser, formatAction } from '../../../src/reconcilers/asterisk/client.ts';
import { type AmiEmulator, startAmiEmulator } from '../../emulators/asterisk/index.ts';

const secret = (v: string) => new Secret(v, 'env', 'test');
let emu: AmiEmulator;
let dir: string;
const clients: AmiClient[] = [];
const client = (over: Partial<ConstructorParameters<typeof AmiClient>[0]> = {}) => {
  const c = new AmiClient({ host: '127.0.0.1', port: emu.port, username: 'admin', secret: secret('amipass'), timeoutMs: 3000, ...over });
  clients.push(c);
  return c;
};
const sent = (action: string) => emu.stats.actions[action] ?? 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'infrasec-ami-'));
  writeFileSync(join(dir, 'pjsip.conf'), '[global]\ntype=global\n#include pjsip_custom.conf\n');
  writeFileSync(join(dir, 'pjsip_custom.conf'), '');
  writeFileSync(join(dir, 'voicemail.conf'), '[general]\n');
  emu = await startAmiEmulator({ configDir: dir, authFailDelayMs: 20 });
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A TCP server that plays a script: what it writes on connect and how it answers (or not). */
async function fakeServer(onConnect: (s: Socket) => void): Promise<{ port: number; server: Server }> {
  const server = createServer(onConnect);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server };
}

describe('formatAction', () => {
  it('frames headers with CRLF and a blank line, Action and ActionID first', () => {
    expect(formatAction('Ping', 'infrasec-1', [['X-Y', 'z']])).toBe('Action: Ping\r\nActionID: infrasec-1\r\nX-Y: z\r\n\r\n');
  });

  it.each([
    ['CR', 'a\rb'],
    ['LF', 'a\nAction: Command'],
    ['CRLFCRLF', 'x\r\n\r\nAction: Command\r\nCommand: core stop now'],
    ['NUL', 'a\u0000b'],
  ])('refuses a value with %s and never echoes it', (_, value) => {
    const run = () => formatAction('UpdateConfig', 'infrasec-1', [['Value-000000', value]]);
    expect(run).toThrow(AmiHeaderError);
    expect(run).toThrow(/CR, LF or NUL/);
    try {
      run();
    } catch (err) {
      expect((err as Error).message).not.toContain('Command');
    }
  });

  it('refuses a secret value with a line break without revealing it', () => {
    expect(() => formatAction('Login', 'x', [['Secret', secret('pw\r\nAction: Logoff')]])).toThrow(/Secret of Login contains CR, LF or NUL/);
  });

  it('refuses bad header names, lines over 1024 bytes and more than 128 lines', () => {
    expect(() => formatAction('Ping', 'x', [['Bad Name', 'v']])).toThrow(AmiHeaderError);
    expect(() => formatAction('Ping', 'x', [['Ok', 'é'.repeat(520)]])).toThrow(/longer than 1024 bytes/);
    expect(() => formatAction('Ping', 'x', Array.from({ length: 127 }, (_, i) => [`H${i}`, 'v'] as const))).toThrow(/129 header lines/);
    expect(formatAction('Ping', 'x', Array.from({ length: 126 }, (_, i) => [`H${i}`, 'v'] as const)).split('\r\n')).toHaveLength(130);
  });

  it('reveals secret parts only in the frame', () => {
    expect(formatAction('UpdateConfig', 'x', [['Value-000000', ['>', secret('1234'), ',Nom']]])).toContain('Value-000000: >1234,Nom\r\n');
  });
});

describe('AmiParser', () => {
  const parse = (chunks: string[]) => {
    const out: AmiMessage[] = [];
    let banner = '';
    const p = new AmiParser((m) => out.push(m), (b) => (banner = b));
    for (const c of chunks) p.push(c);
    return { out, banner };
  };

  it('takes the banner line alone, then splits messages on blank lines across chunk boundaries', () => {
    const { out, banner } = parse(['Asterisk Call Manager/11.0.0\r\nResp', 'onse: Success\r\nActionID: a\r', '\n\r\nResponse: Error\nActionID: b\n\n']);
    expect(banner).toBe('Asterisk Call Manager/11.0.0');
    expect(out.map((m) => [m.response, m.get('actionid')])).toEqual([['Success', 'a'], ['Error', 'b']]);
  });

  it('tolerates the stray LF res_pjsip leaves in error messages (no empty message, message trimmed)', () => {
    const { out } = parse(['Asterisk Call Manager/11.0.0\r\n', 'Response: Error\r\nActionID: e1\r\nMessage: No endpoints found\n\r\n\r\n', 'Response: Success\r\nActionID: e2\r\n\r\n']);
    expect(out).toHaveLength(2);
    expect(out[0]!.message).toBe('No endpoints found');
  });

  it('keeps lines without a colon apart and keeps trailing spaces of values', () => {
    const { out } = parse(['Asterisk Call Manager/11.0.0\r\n', 'Response: Success\r\nActionID: g2\r\nNo categories found\r\nLine-000000-000000: callerid="A: B" <1>  \r\n\r\n']);
    expect(out[0]!.bareLines).toEqual(['No categories found']);
    expect(out[0]!.get('Line-000000-000000')).toBe('callerid="A: B" <1>  ');
  });
});

describe('AmiClient against the emulator', () => {
  it('logs in with events off and pipelines actions, matching replies by ActionID', async () => {
    const c = client();
    await c.connect();
    const [a, b, g] = await Promise.all([c.action('Ping'), c.action('Ping'), c.action('GetConfig', [['Filename', 'pjsip.conf']])]);
    expect([a.get('Ping'), b.get('Ping')]).toEqual(['Pong', 'Pong']);
    expect(g.get('Category-000000')).toBe('global');
  });

  it('logs in by MD5 challenge', async () => {
    const c = client({ authType: 'md5' });
    await c.connect();
    expect((await c.action('Ping')).get('Ping')).toBe('Pong');
  });

  it('collects list events until the Complete event, and resolves empty lists answered as Error or plain Success', async () => {
    const c = client();
    await c.connect();
    const empty = await c.list('PJSIPShowEndpoints');
    expect(empty.response.isError).toBe(true);
    expect(empty.response.message).toBe('No endpoints found');
    const vm = await c.list('VoicemailUsersList');
    expect(vm.response.isError).toBe(false);
    expect(vm.events).toEqual([]);
    writeFileSync(join(dir, 'pjsip_custom.conf'), '[300]\ntype=endpoint\naors=300\n[300]\ntype=aor\nmax_contacts=1\n');
    emu.reload('res_pjsip');
    const full = await c.list('PJSIPShowEndpoints');
    expect(full.events.map((e) => [e.event, e.get('ObjectName'), e.get('Aor')])).toEqual([['EndpointList', '300', '300']]);
    expect((await c.action('Ping')).get('Ping')).toBe('Pong');
  });

  it('sends nothing when a header is refused, and the session stays usable', async () => {
    const c = client();
    await c.connect();
    const before = sent('UpdateConfig');
    await expect(c.action('UpdateConfig', [['SrcFilename', 'pjsip_custom.conf'], ['DstFilename', 'pjsip_custom.conf'], ['Action-000000', 'NewCat'], ['Cat-000000', 'x\r\nAction: Logoff']])).rejects.toBeInstanceOf(AmiHeaderError);
    expect(sent('UpdateConfig')).toBe(before);
    expect(sent('Logoff')).toBe(0);
    // A list action with a bad header rejects too (no synchronous throw for a pipelining caller to miss).
    const listed = c.list('PJSIPShowEndpoint', [['Endpoint', '200\n']]);
    await expect(listed).rejects.toBeInstanceOf(AmiHeaderError);
    expect((await c.action('Ping')).get('Ping')).toBe('Pong');
  });

  it('maps a refused login to AuthenticationError naming the username and secret settings, without the secret', async () => {
    const c = client({ secret: secret('not-the-password') });
    const err = await c.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toBe(
      `Asterisk AMI at 127.0.0.1:${emu.port} refused the login of admin: Authentication failed; check systems.asterisk.username (INFRASEC_AMI_USERNAME) and systems.asterisk.secret (INFRASEC_AMI_SECRET) or systems.asterisk.secretFile (INFRASEC_AMI_SECRET_FILE) against manager.conf, and that its permit/deny lines let this host in`,
    );
    expect(JSON.stringify(err)).not.toContain('not-the-password');
  });

  it('maps a refused MD5 login the same way', async () => {
    const err = await client({ authType: 'md5', secret: secret('not-the-password') }).connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toContain('check systems.asterisk.username (INFRASEC_AMI_USERNAME) and systems.asterisk.secret (INFRASEC_AMI_SECRET)');
  });

  it('fails pending actions with TargetUnavailableError when the connection drops, then reconnects', async () => {
    const c = client();
    await c.connect();
    const pending = c.action('GetConfig', [['Filename', 'pjsip.conf']]).then(
      () => 'answered',
      (e: unknown) => e,
    );
    emu.dropConnections();
    const outcome = await pending;
    // The answer may have won the race; if not, the failure is a TargetUnavailableError.
    if (outcome !== 'answered') expect(outcome).toBeInstanceOf(TargetUnavailableError);
    await expect(c.action('Ping')).rejects.toBeInstanceOf(TargetUnavailableError);
    await c.connect();
    expect((await c.action('Ping')).get('Ping')).toBe('Pong');
  });
});

describe('AmiClient failures', () => {
  it('maps a refused connection to TargetUnavailableError naming the host and port settings', async () => {
    const { port, server } = await fakeServer(() => undefined);
    await new Promise<void>((r) => server.close(() => r()));
    const err = await client({ port }).connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetUnavailableError);
    expect((err as Error).message).toBe(
      `cannot reach Asterisk AMI at 127.0.0.1:${port}: ECONNREFUSED; check systems.asterisk.host (INFRASEC_AMI_HOST) and systems.asterisk.port (INFRASEC_AMI_PORT), and that manager.conf has enabled = yes with a bindaddr reachable from here`,
    );
  });

  it('a peer that says nothing: names the port and timeout settings', async () => {
    const { port, server } = await fakeServer(() => undefined);
    try {
      await expect(client({ port, timeoutMs: 200 }).connect()).rejects.toThrow(
        `no AMI banner from 127.0.0.1:${port} within 200 ms; check that systems.asterisk.host (INFRASEC_AMI_HOST) and systems.asterisk.port (INFRASEC_AMI_PORT) name the AMI port (5038 unless changed), or raise systems.asterisk.timeoutMs (INFRASEC_AMI_TIMEOUT_MS)`,
      );
    } finally {
      server.close();
    }
  });

  it('times out a server that never answers, as TargetUnavailableError', async () => {
    const { port, server } = await fakeServer((s) => s.write('Asterisk Call Manager/11.0.0\r\n'));
    const c = client({ port, timeoutMs: 200 });
    await expect(c.connect()).rejects.toThrow(/did not answer Login within 200 ms/);
    server.close();
  });

  it('refuses a peer that does not speak AMI', async () => {
    const { port, server } = await fakeServer((s) => s.write('SSH-2.0-OpenSSH_9.2\r\n'));
    await expect(client({ port }).connect()).rejects.toThrow(`127.0.0.1:${port} does not speak AMI (unexpected banner); check that systems.asterisk.host (INFRASEC_AMI_HOST) and systems.asterisk.port (INFRASEC_AMI_PORT) name the AMI port (5038 unless changed)`);
    server.close();
  });

  it('ignores an OriginateResponse-style event that carries our ActionID and a Response header', async () => {
    const { port, server } = await fakeServer((s) => {
      s.write('Asterisk Call Manager/11.0.0\r\n');
      s.on('data', (d: Buffer) => {
        const id = /ActionID: (\S+)/.exec(d.toString())?.[1];
        if (/Action: Login/.test(d.toString())) s.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\n`);
        else s.write(`Event: OriginateResponse\r\nActionID: ${id}\r\nResponse: Failure\r\n\r\nResponse: Success\r\nActionID: ${id}\r\nMessage: Originate successfully queued\r\n\r\n`);
      });
    });
    const c = client({ port });
    await c.connect();
    expect((await c.action('Originate')).message).toBe('Originate successfully queued');
    await c.close();
    server.close();
  });
});

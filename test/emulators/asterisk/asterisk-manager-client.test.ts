// The real npm `asterisk-manager` 0.2 client against the emulator: login, GetConfig, Command, list events, quirks.
// @ts-ignore -- the package ships no type declarations (see shared/contracts/notes-asterisk-manager.md)
import AsteriskManager from 'asterisk-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { BASE_FILES, makeConfigDir } from './conf-fixtures.js';
import { startAmiEmulator, type AmiEmulator } from './index.js';

type Msg = Record<string, string | string[] | undefined>;

interface ManagerClient {
  on(event: string, cb: (msg: Msg) => void): void;
  action(obj: Record<string, string>, cb: (err: Msg | undefined, res: Msg) => void): string;
  disconnect(): void;
}

const connectManager = AsteriskManager as unknown as (
  port: number,
  host: string,
  username: string,
  password: string,
  events: boolean,
) => ManagerClient;

let emu: AmiEmulator | null = null;
let ami: ManagerClient | null = null;
afterEach(async () => {
  ami?.disconnect();
  ami = null;
  await emu?.close();
  emu = null;
});

function call(client: ManagerClient, obj: Record<string, string>): Promise<{ err: Msg | undefined; res: Msg }> {
  return new Promise((resolve) => client.action(obj, (err, res) => resolve({ err, res })));
}

async function start(files: Record<string, string> = BASE_FILES): Promise<ManagerClient> {
  emu = await startAmiEmulator({ configDir: makeConfigDir(files) });
  ami = connectManager(emu.port, '127.0.0.1', 'admin', 'amipass', false);
  return ami;
}

describe('asterisk-manager npm client', () => {
  it('logs in (held actions are flushed after login) and reads GetConfig', async () => {
    const c = await start();
    const { err, res } = await call(c, { action: 'GetConfig', filename: 'pjsip.conf' });
    expect(err).toBeUndefined();
    expect(res['response']).toBe('Success');
    expect(res['category-000000']).toBe('global');
    expect(res['line-000001-000002']).toBe('bind=127.0.0.1:5060');
    expect(emu!.stats.actions['Login']).toBe(1);
    expect(emu!.stats.actions['GetConfig']).toBe(1);
  });

  it('passes Error responses as the callback error', async () => {
    const c = await start();
    const { err } = await call(c, { action: 'GetConfig', filename: 'nothere.conf' });
    expect(err?.['message']).toBe('Config file not found');
  });

  it('Command output arrives as an array of Output lines', async () => {
    const c = await start();
    const { res } = await call(c, { action: 'Command', command: 'pjsip show endpoints' });
    expect(res['message']).toBe('Command output follows');
    expect(res['output']).toEqual(['No objects found.', '']);
  });

  it('gets only the ack of a list action; items and Complete come as events carrying the ActionID', async () => {
    const c = await start({ ...BASE_FILES, 'pjsip_custom.conf': '[1001]\ntype=endpoint\n[1002]\ntype=endpoint\n' });
    const events: Msg[] = [];
    c.on('managerevent', (e) => events.push(e));
    const { res } = await call(c, { action: 'PJSIPShowEndpoints', actionid: 'list-1' });
    expect(res['eventlist']).toBe('start');
    await new Promise((r) => setTimeout(r, 100));
    const mine = events.filter((e) => e['actionid'] === 'list-1');
    expect(mine.map((e) => e['event'])).toEqual(['EndpointList', 'EndpointList', 'EndpointListComplete']);
    expect(mine[2]!['listitems']).toBe('2');
  });

  it('its `events` flag is ignored (it sends Event:, not Events:): FullyBooted still arrives', async () => {
    emu = await startAmiEmulator({ configDir: makeConfigDir() });
    const c = connectManager(emu.port, '127.0.0.1', 'admin', 'amipass', false);
    ami = c;
    const booted = new Promise<Msg>((resolve) => c.on('fullybooted', resolve));
    const e = await booted;
    expect(e['status']).toBe('Fully Booted');
  });

  it('a wrong password only shows as a closed socket; the callback is never called', async () => {
    emu = await startAmiEmulator({ configDir: makeConfigDir(), authFailDelayMs: 50 });
    const c = connectManager(emu.port, '127.0.0.1', 'admin', 'wrong', false);
    ami = c;
    let called = false;
    c.action({ action: 'Ping' }, () => {
      called = true;
    });
    await new Promise<void>((resolve) => c.on('close', () => resolve()));
    expect(called).toBe(false);
  });
});

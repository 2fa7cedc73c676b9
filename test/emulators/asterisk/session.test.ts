// Session behaviour over a real socket: login (plain/MD5), auth gate, per-user permissions, events, limits, helpers.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { RawAmiClient, frame } from './ami-test-client.js';
import { startHarness, type Harness } from './conf-fixtures.js';
import type { AmiUser } from './index.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

const USERS: AmiUser[] = [
  { username: 'admin', secret: 'amipass', read: ['all'], write: ['all'] },
  { username: 'cfg', secret: 'c', read: ['system', 'config'], write: ['config'] },
  { username: 'sys', secret: 's', read: ['call'], write: ['system'] },
  { username: 'rep', secret: 'r', read: ['reporting'], write: ['reporting'] },
  { username: 'callonly', secret: 'x', read: [], write: ['call'] },
  { username: 'single', secret: 'one', read: ['all'], write: ['all'], allowMultipleLogin: false },
];

async function fresh(): Promise<RawAmiClient> {
  const c = await RawAmiClient.connect(h!.emu.port);
  await c.banner();
  return c;
}

describe('Login', () => {
  it('accepts the secret and answers Already authenticated to a second Login', async () => {
    h = await startHarness(undefined, { users: USERS });
    const c = await fresh();
    const r = await c.action('Login', [['Username', 'ADMIN'], ['Secret', 'amipass'], ['Events', 'off']]);
    expect(r.raw).toBe(`Response: Success\r\nActionID: ${r.get('ActionID')}\r\nMessage: Authentication accepted`);
    const again = await c.action('Login', [['Username', 'admin'], ['Secret', 'wrong']]);
    expect(again.get('Message')).toBe('Already authenticated');
    c.close();
  });

  it.each([
    ['wrong secret', [['Username', 'admin'], ['Secret', 'nope']]],
    ['unknown user', [['Username', 'ghost'], ['Secret', 'amipass']]],
    ['no Username', [['Secret', 'amipass']]],
  ] as Array<[string, Array<[string, string]>]>)('%s: delay, Authentication failed, connection closed', async (_n, headers) => {
    h = await startHarness(undefined, { users: USERS, authFailDelayMs: 300 });
    const c = await fresh();
    const t0 = Date.now();
    const r = await c.action('Login', headers);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(r.get('Response')).toBe('Error');
    expect(r.get('Message')).toBe('Authentication failed');
    expect(await c.waitFor(() => c.closed)).toBe(true);
  });

  it('MD5: Challenge (reused when asked twice), then Key = md5(challenge + secret)', async () => {
    h = await startHarness(undefined, { users: USERS });
    const c = await fresh();
    const ch1 = await c.action('Challenge', [['AuthType', 'md5']]);
    const ch2 = await c.action('Challenge', [['AuthType', 'MD5']]);
    const challenge = ch1.get('Challenge') as string;
    expect(challenge).toMatch(/^\d+$/);
    expect(ch2.get('Challenge')).toBe(challenge);
    expect(ch1.get('Message')).toBeUndefined();
    const key = createHash('md5').update(challenge + 'amipass').digest('hex');
    const r = await c.action('Login', [['AuthType', 'MD5'], ['Username', 'admin'], ['Key', key], ['Events', 'off']]);
    expect(r.get('Message')).toBe('Authentication accepted');
    c.close();
  });

  it('MD5 with a wrong key, or without a Challenge first, fails', async () => {
    h = await startHarness(undefined, { users: USERS });
    const c = await fresh();
    const key = createHash('md5').update('123amipass').digest('hex');
    const r = await c.action('Login', [['AuthType', 'MD5'], ['Username', 'admin'], ['Key', key]]);
    expect(r.get('Message')).toBe('Authentication failed');
  });

  it('Challenge without AuthType: Must specify AuthType', async () => {
    h = await startHarness(undefined, { users: USERS });
    const c = await fresh();
    expect((await c.action('Challenge')).get('Message')).toBe('Must specify AuthType');
    c.close();
  });

  it('allowmultiplelogin=no: a second session of the same user gets Login Already In Use and is closed', async () => {
    h = await startHarness(undefined, { users: USERS });
    await h.connect('off', 'single', 'one');
    const c = await fresh();
    const r = await c.action('Login', [['Username', 'single'], ['Secret', 'one']]);
    expect(r.get('Message')).toBe('Login Already In Use');
    expect(await c.waitFor(() => c.closed)).toBe(true);
  });
});

describe('auth gate and Logoff', () => {
  it('before login every action but Login/Logoff/Challenge is Permission denied, even unknown ones', async () => {
    h = await startHarness(undefined, { users: USERS });
    const c = await fresh();
    for (const a of ['Ping', 'GetConfig', 'NoSuchAction']) {
      expect((await c.action(a)).get('Message')).toBe('Permission denied');
    }
    c.send('ActionID: z\r\n\r\n');
    expect((await c.nextMessage()).get('Message')).toBe('Missing action in request');
    const bye = await c.action('Logoff');
    expect(bye.get('Response')).toBe('Goodbye');
    expect(bye.get('Message')).toBe('Thanks for all the fish.');
    expect(await c.waitFor(() => c.closed)).toBe(true);
  });

  it('unknown action after login names the action', async () => {
    h = await startHarness();
    const r = await h.client.action('Frobnicate');
    expect(r.get('Message')).toBe('Invalid/unknown command: Frobnicate. Use Action: ListCommands to show available commands.');
  });
});

describe('write permissions per user', () => {
  const cases: Array<[string, string, Array<[string, string]>, boolean]> = [
    ['cfg', 'GetConfig', [['Filename', 'pjsip.conf']], true],
    ['cfg', 'UpdateConfig', [['SrcFilename', 'pjsip_custom.conf'], ['DstFilename', 'pjsip_custom.conf']], true],
    ['cfg', 'Reload', [['Module', 'res_pjsip']], true],
    ['cfg', 'Command', [['Command', 'core show version']], false],
    ['cfg', 'PJSIPShowEndpoints', [], false],
    ['sys', 'GetConfig', [['Filename', 'pjsip.conf']], true],
    ['sys', 'UpdateConfig', [['SrcFilename', 'pjsip_custom.conf'], ['DstFilename', 'pjsip_custom.conf']], false],
    ['sys', 'ListCategories', [['Filename', 'pjsip.conf']], false],
    ['sys', 'PJSIPShowEndpoints', [], true],
    ['sys', 'ConfbridgeListRooms', [], false],
    ['rep', 'ConfbridgeListRooms', [], true],
    ['rep', 'VoicemailUsersList', [], true],
    ['callonly', 'VoicemailUsersList', [], true],
    ['callonly', 'Ping', [], true],
    ['callonly', 'GetConfig', [['Filename', 'pjsip.conf']], false],
  ];
  it.each(cases)('user %s, action %s', async (user, action, headers, allowed) => {
    const secret = USERS.find((u) => u.username === user)!.secret;
    h = await startHarness(undefined, { users: USERS });
    const c = await h.connect('off', user, secret);
    const r = await c.action(action, headers);
    if (allowed) expect(r.get('Message')).not.toBe('Permission denied');
    else expect(r.raw).toBe(`Response: Error\r\nActionID: ${r.get('ActionID')}\r\nMessage: Permission denied`);
  });
});

describe('events', () => {
  it('Login without Events: FullyBooted then SuccessfulAuth (UsingPassword: 0)', async () => {
    h = await startHarness();
    const c = await fresh();
    c.send(frame([['Action', 'Login'], ['Username', 'admin'], ['Secret', 'amipass'], ['ActionID', 'l']]));
    expect((await c.nextMessage()).get('Message')).toBe('Authentication accepted');
    const fb = await c.nextMessage();
    expect(fb.lines.slice(0, 2)).toEqual(['Event: FullyBooted', 'Privilege: system,all']);
    expect(fb.get('Status')).toBe('Fully Booted');
    const sa = await c.nextMessage();
    expect(sa.get('Event')).toBe('SuccessfulAuth');
    expect(sa.get('Privilege')).toBe('security,all');
    expect(sa.get('UsingPassword')).toBe('0');
    expect(sa.get('AccountID')).toBe('admin');
    c.close();
  });

  it('no FullyBooted for a user whose read= lacks system', async () => {
    h = await startHarness(undefined, { users: USERS });
    const c = await fresh();
    c.send(frame([['Action', 'Login'], ['Username', 'sys'], ['Secret', 's'], ['ActionID', 'l']]));
    expect((await c.nextMessage()).get('Message')).toBe('Authentication accepted');
    expect(await c.drain()).toBe('');
    c.close();
  });

  it('Events action: On / Off without Message, Invalid event mask when missing', async () => {
    h = await startHarness();
    const on = await h.client.action('Events', [['EventMask', 'system,config']]);
    expect(on.raw).toBe(`Response: Success\r\nActionID: ${on.get('ActionID')}\r\nEvents: On`);
    expect((await h.client.action('Events', [['EventMask', 'off']])).get('Events')).toBe('Off');
    expect((await h.client.action('Events')).get('Message')).toBe('Invalid event mask');
  });

  it('a Reload is broadcast only to sessions whose mask and read= include system', async () => {
    h = await startHarness(undefined, { users: USERS });
    const listener = await h.connect('on');
    await listener.drain();
    const quiet = await h.connect('off');
    const noSystem = await h.connect('on', 'rep', 'r');
    await noSystem.drain();
    // The listener also sees the other logins' SuccessfulAuth security events (broadcast, as in Asterisk).
    const logins = await listener.drain();
    expect(logins.match(/Event: SuccessfulAuth\r\n/g)?.length).toBe(2);
    const r = await h.client.action('Reload', [['Module', 'res_pjsip.so']]);
    expect(r.get('Message')).toBe('Module Reloaded');
    const ev = await listener.nextMessage();
    expect(ev.raw).toBe('Event: Reload\r\nPrivilege: system,all\r\nModule: res_pjsip.so\r\nStatus: 0');
    expect(await quiet.drain()).toBe('');
    expect(await noSystem.drain()).toBe('');
  });

  it('events raised by an action are written after its response', async () => {
    h = await startHarness();
    const c = await h.connect('system');
    await c.drain();
    c.send(frame([['Action', 'Reload'], ['ActionID', 'r1']]));
    const first = await c.nextMessage();
    const second = await c.nextMessage();
    expect(first.get('Response')).toBe('Success');
    expect(second.get('Event')).toBe('Reload');
    expect(second.get('Module')).toBe('All');
  });
});

describe('session limits and test helpers', () => {
  it('authtimeout drops an unauthenticated session', async () => {
    h = await startHarness(undefined, { authTimeoutSec: 0.3 });
    const c = await fresh();
    expect(await c.waitFor(() => c.closed, 2000)).toBe(true);
  });

  it('authlimit refuses further unauthenticated connections without a banner', async () => {
    h = await startHarness(undefined, { authLimit: 1 });
    const a = await fresh();
    const b = await RawAmiClient.connect(h.emu.port);
    expect(await b.waitFor(() => b.closed, 2000)).toBe(true);
    expect(b.received).toBe('');
    a.close();
  });

  it('dropConnections() kills every socket; the server keeps accepting', async () => {
    h = await startHarness();
    const other = await h.connect();
    h.emu.dropConnections();
    expect(await h.client.waitFor(() => h!.client.closed)).toBe(true);
    expect(await other.waitFor(() => other.closed)).toBe(true);
    const again = await h.connect();
    expect((await again.action('Ping')).get('Ping')).toBe('Pong');
  });

  it('stats count received actions by canonical name, including refused ones', async () => {
    h = await startHarness();
    await h.client.action('ping');
    await h.client.action('PING');
    await h.client.action('NoSuch');
    expect(h.emu.stats.actions['Ping']).toBe(2);
    expect(h.emu.stats.actions['NoSuch']).toBe(1);
    expect(h.emu.stats.actions['Login']).toBe(1);
  });

  it('Ping without ActionID has no ActionID header', async () => {
    h = await startHarness();
    h.client.send('Action: Ping\r\n\r\n');
    expect((await h.client.nextMessage()).raw).toMatch(/^Response: Success\r\nPing: Pong\r\nTimestamp: \d+\.\d{6}$/);
  });
});

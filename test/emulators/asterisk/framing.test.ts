// Wire framing over a real socket: banner, CRLF/LF, header lookup, ActionID echo, line/header limits, injection.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RawAmiClient, frame } from './ami-test-client.js';
import { startHarness, type Harness } from './conf-fixtures.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.stop();
});

describe('banner', () => {
  it('is exactly one CRLF line and nothing else until the client speaks', async () => {
    const c = await RawAmiClient.connect(h.emu.port);
    expect(await c.waitFor(() => c.received.includes('\r\n'))).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(c.received).toBe('Asterisk Call Manager/11.0.0\r\n');
    c.close();
  });
});

describe('line endings', () => {
  it('accepts LF-only framing and still answers with CRLF', async () => {
    h.client.send('Action: Ping\nActionID: lf\n\n');
    const m = await h.client.nextMessage();
    expect(m.raw).toMatch(/^Response: Success\r\nActionID: lf\r\nPing: Pong\r\nTimestamp: \d+\.\d{6}$/);
  });

  it('keeps a bare CR inside a value and echoes it', async () => {
    h.client.send('Action: Ping\r\nActionID: a\rb\r\n\r\n');
    const m = await h.client.nextMessage();
    expect(m.get('ActionID')).toBe('a\rb');
  });

  it('ends a header at a bare LF inside a value (the rest is a separate line)', async () => {
    h.client.send('Action: Ping\r\nActionID: abc\ndef\r\n\r\n');
    const m = await h.client.nextMessage();
    expect(m.get('ActionID')).toBe('abc');
  });

  it('runs a message split into single bytes', async () => {
    for (const ch of 'Action: Ping\r\nActionID: slow\r\n\r\n') h.client.send(ch);
    expect((await h.client.nextMessage()).get('ActionID')).toBe('slow');
  });

  it('runs pipelined messages of one packet in order', async () => {
    h.client.send(frame([['Action', 'Ping'], ['ActionID', 'p1']]) + frame([['Action', 'Ping'], ['ActionID', 'p2']]));
    expect((await h.client.nextMessage()).get('ActionID')).toBe('p1');
    expect((await h.client.nextMessage()).get('ActionID')).toBe('p2');
  });
});

describe('header lookup and ActionID echo', () => {
  it('matches header and action names case-insensitively; the first duplicate wins', async () => {
    h.client.send('aCtIoN: pInG\r\nactionid: first\r\nActionID: second\r\n\r\n');
    const m = await h.client.nextMessage();
    expect(m.get('Response')).toBe('Success');
    expect(m.get('ActionID')).toBe('first');
  });

  it('does not echo an empty ActionID, even when a later one has a value', async () => {
    h.client.send('Action: Ping\r\nActionID: \r\nActionID: later\r\n\r\n');
    const m = await h.client.nextMessage();
    expect(m.lines[0]).toBe('Response: Success');
    expect(m.lines[1]).toBe('Ping: Pong');
  });

  it('skips leading blanks of a value but keeps trailing ones (Action: Ping   is unknown)', async () => {
    h.client.send('Action:    Ping   \r\nActionID: x\r\n\r\n');
    const m = await h.client.nextMessage();
    expect(m.raw).toBe(
      'Response: Error\r\nActionID: x\r\nMessage: Invalid/unknown command: Ping   . Use Action: ListCommands to show available commands.',
    );
  });

  it('needs the colon right after the name: Action-000000 is not Action', async () => {
    h.client.send('Action-000000: Ping\r\nActionID: x\r\n\r\n');
    expect((await h.client.nextMessage()).raw).toBe('Response: Error\r\nActionID: x\r\nMessage: Missing action in request');
  });

  it('takes the first non-empty Action header', async () => {
    h.client.send('Action: \r\nAction: Ping\r\nActionID: x\r\n\r\n');
    expect((await h.client.nextMessage()).get('Ping')).toBe('Pong');
  });

  it('truncates a line at a NUL byte', async () => {
    h.client.send(Buffer.from('Action: Ping\r\nActionID: ab\0cd\r\n\r\n', 'latin1'));
    expect((await h.client.nextMessage()).get('ActionID')).toBe('ab');
  });

  it('treats a line starting with NUL as the end of the message', async () => {
    h.client.send(Buffer.from('Action: Ping\r\nActionID: n1\r\n\0garbage\r\nAction: Ping\r\nActionID: n2\r\n\r\n', 'latin1'));
    expect((await h.client.nextMessage()).get('ActionID')).toBe('n1');
    expect((await h.client.nextMessage()).get('ActionID')).toBe('n2');
  });
});

describe('limits (the session survives both)', () => {
  it('accepts a line of 1024 bytes including CRLF and refuses 1025', async () => {
    const okValue = 'a'.repeat(1022 - 'ActionID: '.length);
    h.client.send(`Action: Ping\r\nActionID: ${okValue}\r\n\r\n`);
    expect((await h.client.nextMessage()).get('ActionID')).toBe(okValue);
    h.client.send(`Action: Ping\r\nActionID: ${okValue}b\r\n\r\n`);
    const m = await h.client.nextMessage();
    expect(m.get('Response')).toBe('Error');
    expect(m.get('Message')).toBe('Failed to parse message: line too long');
    expect((await h.client.action('Ping')).get('Ping')).toBe('Pong');
  });

  it('with LF-only framing a 1023-byte line (+LF) still fits', async () => {
    const v = 'b'.repeat(1023 - 'ActionID: '.length);
    h.client.send(`Action: Ping\nActionID: ${v}\n\n`);
    expect((await h.client.nextMessage()).get('ActionID')).toBe(v);
  });

  it('echoes an ActionID that came before the long line in the error', async () => {
    h.client.send(`ActionID: before\r\nAction: Ping\r\nX-Long: ${'z'.repeat(3000)}\r\n\r\n`);
    expect((await h.client.nextMessage()).raw).toBe(
      'Response: Error\r\nActionID: before\r\nMessage: Failed to parse message: line too long',
    );
  });

  it('accepts 128 header lines and refuses 129', async () => {
    const filler = (n: number) => Array.from({ length: n }, (_, i) => `X-${i}: y\r\n`).join('');
    h.client.send(`Action: Ping\r\nActionID: h128\r\n${filler(126)}\r\n`);
    expect((await h.client.nextMessage()).get('Ping')).toBe('Pong');
    h.client.send(`Action: Ping\r\nActionID: h129\r\n${filler(127)}\r\n`);
    expect((await h.client.nextMessage()).raw).toBe(
      'Response: Error\r\nActionID: h129\r\nMessage: Too many lines in message or allocation failure',
    );
    expect((await h.client.action('Ping')).get('Ping')).toBe('Pong');
  });
});

describe('header injection (contract §11, transcript 20)', () => {
  it('CRLFCRLF inside a value ends the action and runs the rest as a second action', async () => {
    h.client.send('Action: Ping\r\nActionID: x\r\n\r\nAction: Logoff\r\nActionID: injected\r\n\r\n');
    expect((await h.client.nextMessage()).get('ActionID')).toBe('x');
    expect((await h.client.nextMessage()).raw).toBe('Response: Goodbye\r\nActionID: injected\r\nMessage: Thanks for all the fish.');
    expect(await h.client.waitFor(() => h.client.closed)).toBe(true);
  });

  it('a CRLF inside a value adds a header that was not present yet', async () => {
    const c = h.client;
    const r = await c.action('UpdateConfig', [
      ['SrcFilename', 'pjsip_custom.conf'],
      ['DstFilename', 'pjsip_custom.conf'],
      ['Action-000000', 'NewCat'],
      ['Cat-000000', 'victim\r\nAction-000001: NewCat\r\nCat-000001: smuggled'],
    ]);
    expect(r.get('Response')).toBe('Success');
    const g = await c.action('ListCategories', [['Filename', 'pjsip_custom.conf']]);
    expect(g.getAll('Category-000000')).toEqual(['victim']);
    expect(g.get('Category-000001')).toBe('smuggled');
  });
});

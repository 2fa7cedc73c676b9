// Replays the real Asterisk 22.10.1 wire transcripts against the emulator and compares the server bytes exactly.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RawAmiClient } from './ami-test-client.js';
import { makeConfigDir } from './conf-fixtures.js';
import { startAmiEmulator, type AmiEmulator } from './index.js';

// The contracts live in shared/, beside the repository (as on every developer machine and in CI).
const TRANSCRIPTS = path.resolve(import.meta.dirname, '../../../../shared/contracts/ami-transcripts');

type Rec = { kind: 'send' | 'recv'; data: string } | { kind: 'close' };

/** Parse a *.ami file (records '>> n', '<< n', '-- close', '-- note'; payloads are raw bytes + one LF). */
function parseTranscript(file: string): Rec[] {
  const text = fs.readFileSync(path.join(TRANSCRIPTS, file)).toString('latin1');
  const recs: Rec[] = [];
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const header = text.slice(pos, nl < 0 ? text.length : nl);
    pos = nl < 0 ? text.length : nl + 1;
    const m = /^(>>|<<) (\d+) t=/.exec(header);
    if (m) {
      const n = Number(m[2]);
      recs.push({ kind: m[1] === '>>' ? 'send' : 'recv', data: text.slice(pos, pos + n) });
      pos += n + 1;
    } else if (header.startsWith('-- close')) {
      recs.push({ kind: 'close' });
    }
  }
  return recs;
}

/** Values that differ on every run (index.md) are wildcards: the rest of such a line must only exist. */
const WILDCARD_PREFIXES = [
  'Timestamp: ',
  'Uptime: ',
  'LastReload: ',
  'EventTV: ',
  'SessionID: ',
  'LocalAddress: ',
  'RemoteAddress: ',
  'SessionTV: ',
  'Challenge: ',
  'Output: Asterisk 22.10.1 built by ',
  'Output: System uptime: ',
  'Output: Last reload: ',
];

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function expectedPattern(expected: string): RegExp {
  const re = expected
    .split('\r\n')
    .map((line) => {
      const pre = WILDCARD_PREFIXES.find((w) => line.startsWith(w));
      return pre ? `${esc(pre)}[^\\r\\n]*` : esc(line);
    })
    .join('\\r\\n');
  return new RegExp(`^${re}`);
}

const PJSIP_CONF =
  '[global]\ntype=global\nuser_agent=Asterisk-local-test\n\n[transport-udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:5060\n\n#include pjsip_custom.conf\n';

/** pjsip_custom.conf as left by scenario 11. */
const AFTER_11 = `[1001]
type=endpoint
context=from-internal
disallow=all
allow=ulaw
auth=1001-auth
aors=1001-aor
callerid="Alice" <1001>

[1001-auth]
type=auth
auth_type=userpass
username=1001
password=s3cret

[1001-aor]
type=aor
max_contacts=1
`;

let emu: AmiEmulator | null = null;
let client: RawAmiClient | null = null;
afterEach(async () => {
  client?.close();
  client = null;
  await emu?.close();
  emu = null;
});

async function replay(file: string, custom = '', beforeConnect?: (dir: string) => void): Promise<void> {
  const dir = makeConfigDir({ 'pjsip.conf': PJSIP_CONF, 'pjsip_custom.conf': custom });
  emu = await startAmiEmulator({ configDir: dir, users: [{ username: 'admin', secret: 'amipass', read: ['all'], write: ['all'] }] });
  beforeConnect?.(dir);
  const c = await RawAmiClient.connect(emu.port);
  client = c;
  let cursor = 0;
  for (const rec of parseTranscript(file)) {
    if (rec.kind === 'send') {
      let data = rec.data;
      if (/\r\nKey: [0-9a-f]{32}\r\n/.test(data)) {
        // MD5 login: the recorded key belongs to the recorded challenge.
        const challenge = /Challenge: (\d+)\r\n/.exec(c.received)?.[1] ?? '';
        const key = createHash('md5').update(challenge + 'amipass').digest('hex');
        data = data.replace(/\r\nKey: [0-9a-f]{32}\r\n/, `\r\nKey: ${key}\r\n`);
      }
      c.send(data);
    } else if (rec.kind === 'recv') {
      const pattern = expectedPattern(rec.data);
      const ok = await c.waitFor(() => pattern.test(c.received.slice(cursor)), 4000);
      if (!ok) {
        const got = c.received.slice(cursor);
        let i = 0;
        while (i < got.length && i < rec.data.length && got[i] === rec.data[i]) i++;
        const around = (s: string) => JSON.stringify(s.slice(Math.max(0, i - 120), i + 120));
        expect(around(got), `server bytes for a record of ${file} differ at offset ${i}`).toBe(around(rec.data));
      }
      const m = pattern.exec(c.received.slice(cursor)) as RegExpExecArray;
      cursor += m[0].length;
    } else {
      expect(await c.waitFor(() => c.closed, 4000), 'server closes the connection').toBe(true);
    }
  }
  await new Promise((r) => setTimeout(r, 150));
  expect(JSON.stringify(c.received.slice(cursor)), 'no unexpected trailing bytes').toBe('""');
}

describe('real Asterisk 22.10.1 transcripts replay byte for byte', () => {
  it('01 banner, login with events on (FullyBooted + SuccessfulAuth), Ping, Logoff', async () => {
    await replay('01-login-events-on.ami');
  });
  it('02 login with Events: off, Ping with and without ActionID', async () => {
    await replay('02-login-events-off.ami');
  });
  it('03 wrong secret: ~1 s delay, Authentication failed, connection closed', async () => {
    const t0 = Date.now();
    await replay('03-login-bad-secret.ami');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
  });
  it('05 before login: Permission denied, Missing action, Already authenticated', async () => {
    await replay('05-before-login.ami');
  });
  it('06 Challenge + MD5 login', async () => {
    await replay('06-challenge-md5-login.ami');
  });
  it('10 GetConfig on empty file, errors, includes, GetConfigJSON, ListCategories', async () => {
    await replay('10-getconfig-empty-and-errors.ami');
  });
  it('11 UpdateConfig NewCat/Append with Reload: yes, then read back', async () => {
    await replay('11-updateconfig-add-endpoint.ami');
  });
  it('12 PJSIPShowEndpoints / Endpoint / Aors / Auths / Contacts / RegistrationsInbound', async () => {
    await replay('12-pjsip-show-endpoints.ami', AFTER_11);
  });
  it('13 empty list after emptying the file and reloading res_pjsip (stray LF in Message)', async () => {
    await replay('13-pjsip-show-endpoints-empty.ami', AFTER_11, (dir) => fs.writeFileSync(path.join(dir, 'pjsip_custom.conf'), ''));
  });
  it('14 Confbridge lists with no conferences', async () => {
    await replay('14-confbridge-list-rooms.ami');
  });
  it('15 Command output framing', async () => {
    await replay('15-command.ami');
  });
  it('17 UpdateConfig on missing files, CreateConfig', async () => {
    await replay('17-updateconfig-missing-file.ami');
  });
  it('20 CR/LF injection and framing', async () => {
    await replay('20-crlf-injection.ami');
  });
  it('23 escaping, object values, templates', async () => {
    await replay('23-updateconfig-templates-escaping.ami');
  });
});

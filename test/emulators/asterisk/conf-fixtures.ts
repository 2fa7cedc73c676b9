// Test fixtures: throw-away Asterisk config directories and an emulator + logged-in client started on them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';
import { RawAmiClient } from './ami-test-client.js';
import { startAmiEmulator, type AmiEmulator, type AmiEmulatorOptions } from './index.js';

/** A FreePBX-like minimal tree: pjsip.conf including the admin-owned pjsip_custom.conf, etc. */
export const BASE_FILES: Record<string, string> = {
  'pjsip.conf':
    '[global]\ntype=global\nuser_agent=Asterisk-local-test\n\n[transport-udp]\ntype=transport\nprotocol=udp\nbind=127.0.0.1:5060\n\n#include pjsip_custom.conf\n',
  'pjsip_custom.conf': '',
  'extensions.conf': '[general]\nstatic=yes\n\n[from-internal]\ninclude => from-internal-custom\n\n#include extensions_custom.conf\n',
  'extensions_custom.conf': '[from-internal-custom]\n',
  'voicemail.conf': '[general]\nformat=wav49|gsm|wav\n\n[default]\n',
  'confbridge.conf': '[general]\n\n#include confbridge_custom.conf\n',
  'confbridge_custom.conf': '',
};

const created: string[] = [];
// Registered in the importing test file's root suite.
afterAll(() => {
  for (const d of created.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary config dir with these files (removed after the test file's tests). */
export function makeConfigDir(files: Record<string, string> = BASE_FILES): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ami-emu-'));
  created.push(dir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text, 'latin1');
  return dir;
}

export function readConf(dir: string, name: string): string {
  return fs.readFileSync(path.join(dir, name), 'latin1');
}

export function writeConf(dir: string, name: string, text: string): void {
  fs.writeFileSync(path.join(dir, name), text, 'latin1');
}

/** Drop the ;! header block UpdateConfig writes (its date changes on every save). */
export function withoutHeader(text: string): string {
  return text.replace(/^(;!.*\n)+/, '');
}

export interface Harness {
  emu: AmiEmulator;
  dir: string;
  client: RawAmiClient;
  /** Another connection, already logged in as admin with the given event mask. */
  connect(events?: string, user?: string, secret?: string): Promise<RawAmiClient>;
  stop(): Promise<void>;
}

export async function startHarness(
  files: Record<string, string> = BASE_FILES,
  opts: Partial<AmiEmulatorOptions> = {},
): Promise<Harness> {
  const dir = makeConfigDir(files);
  const emu = await startAmiEmulator({ configDir: dir, authFailDelayMs: 50, ...opts });
  const clients: RawAmiClient[] = [];
  const connect = async (events = 'off', user = 'admin', secret = 'amipass') => {
    const c = await RawAmiClient.connect(emu.port);
    clients.push(c);
    const r = await c.login(user, secret, events);
    if (r.get('Response') !== 'Success') throw new Error(`login failed: ${r.raw}`);
    return c;
  };
  const client = await connect();
  return {
    emu,
    dir,
    client,
    connect,
    stop: async () => {
      for (const c of clients) c.close();
      await emu.close();
    },
  };
}

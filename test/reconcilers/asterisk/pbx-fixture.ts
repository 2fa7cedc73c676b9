// Test fixture: an AMI emulator over a stock Issabel config dir whose roots #include the custom files infrasec writes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret } from '../../../src/desired/secret.ts';
import { AmiClient } from '../../../src/reconcilers/asterisk/client.ts';
import { AsteriskReconciler } from '../../../src/reconcilers/asterisk/reconciler.ts';
import type { AsteriskSettings } from '../../../src/reconcilers/asterisk/settings.ts';
import { type AmiEmulator, startAmiEmulator } from '../../emulators/asterisk/index.ts';
import { STOCK_ISSABEL_FILES, STOCK_ISSABEL_GUI_FILES } from '../../emulators/asterisk/stock-issabel.ts';

/**
 * A stock Issabel /etc/asterisk (GUI extension 100 with mailbox 100@default, the admin's own lines in
 * [from-internal-custom]) plus what an admin keeps in the custom files, and the one line installing infrasec adds:
 * `#tryinclude voicemail_custom.conf` at the end of voicemail.conf (no stock file includes an admin-owned one there).
 */
export const PBX_FILES: Readonly<Record<string, string>> = {
  ...STOCK_ISSABEL_FILES,
  'pjsip_custom.conf': ['; the admin\'s own trunk, never touched by infrasec', '[trunk-sdis]', 'type=aor', 'contact=sip:sdis67.example.net', ''].join('\n'),
  'confbridge_custom.conf': ['[gui-room-bridge]', 'type=bridge', 'max_members=5', ''].join('\n'),
  'voicemail.conf': `${STOCK_ISSABEL_FILES['voicemail.conf']}#tryinclude voicemail_custom.conf\n`,
};

/** The AMI user `infrasec` (write=system,config,reporting: no command). */
export const LIMITED_SECRET = 'infrasec-ami';

/** Files infrasec creates, removed by reset(). */
const CREATED = ['voicemail_custom.conf'];

export interface Pbx {
  readonly emulator: AmiEmulator;
  readonly dir: string;
  readonly settings: AsteriskSettings;
  reconciler(over?: Partial<AsteriskSettings>): AsteriskReconciler;
  /** A second AMI session, as an admin (or FreePBX) editing out of band. */
  admin(): Promise<AmiClient>;
  read(file: string): string;
  write(file: string, text: string): void;
  /** Back to the seeded files, everything reloaded. */
  reset(): void;
  close(): Promise<void>;
}

export async function startPbx(): Promise<Pbx> {
  const dir = mkdtempSync(join(tmpdir(), 'infrasec-ast-'));
  const seed = () => {
    for (const [f, text] of Object.entries(PBX_FILES)) writeFileSync(join(dir, f), text);
  };
  seed();
  const emulator = await startAmiEmulator({
    configDir: dir, authFailDelayMs: 50, guiGenerated: STOCK_ISSABEL_GUI_FILES,
    // admin may do anything; infrasec has the classes the README asks for, without command.
    users: [{ username: 'admin', secret: 'amipass', read: ['all'], write: ['all'] }, { username: 'infrasec', secret: LIMITED_SECRET, read: ['system', 'config', 'reporting'], write: ['system', 'config', 'reporting'] }],
  });
  const settings: AsteriskSettings = {
    host: '127.0.0.1',
    port: emulator.port,
    username: 'admin',
    secret: new Secret('amipass', 'env', 'test-ami'),
    timeoutMs: 5000,
    transports: { udp: 'transport-udp', wss: 'transport-wss' },
  };
  const made: Array<AsteriskReconciler | AmiClient> = [];
  return {
    emulator,
    dir,
    settings,
    reconciler(over = {}) {
      const r = new AsteriskReconciler({ ...settings, ...over });
      made.push(r);
      return r;
    },
    async admin() {
      const c = new AmiClient({ host: '127.0.0.1', port: emulator.port, username: 'admin', secret: settings.secret, timeoutMs: 5000 });
      await c.connect();
      made.push(c);
      return c;
    },
    read: (f) => readFileSync(join(dir, f), 'utf8'),
    write: (f, text) => writeFileSync(join(dir, f), text),
    reset() {
      for (const f of CREATED) rmSync(join(dir, f), { force: true });
      seed();
      emulator.reloadAll();
    },
    async close() {
      for (const m of made) await m.close();
      await emulator.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

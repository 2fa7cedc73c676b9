// Starts the AMI emulator on a stock Issabel /etc/asterisk for the demo, and describes what it runs afterwards.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Secret } from '../src/desired/secret.ts';
import { AmiClient } from '../src/reconcilers/asterisk/client.ts';
import { startAmiEmulator } from '../test/emulators/asterisk/index.ts';
import { STOCK_ISSABEL_FILES, STOCK_ISSABEL_GUI_FILES } from '../test/emulators/asterisk/stock-issabel.ts';

export interface DemoPbx {
  readonly host: string;
  readonly port: number;
  readonly configDir: string;
  /** INFRASEC_AMI_* variables for the CLI. */
  readonly env: Readonly<Record<string, string>>;
  describe?(): Promise<string>;
  close(): Promise<void>;
}

/**
 * A stock Issabel PBX: the GUI owns the main files and its extension 100; the admin's [from-internal-custom] already
 * holds lines of its own (so a run that took that context over, or left it unreachable, shows here). The one line
 * installing infrasec adds: voicemail.conf includes the file infrasec writes its mailboxes to.
 */
const DEMO_FILES: Record<string, string> = {
  ...STOCK_ISSABEL_FILES,
  'voicemail.conf': `${STOCK_ISSABEL_FILES['voicemail.conf']}#tryinclude voicemail_custom.conf\n`,
};

export async function startDemoPbx(configDir: string): Promise<DemoPbx> {
  await mkdir(configDir, { recursive: true });
  for (const [name, text] of Object.entries(DEMO_FILES)) await writeFile(join(configDir, name), text, 'latin1');
  const secret = randomBytes(12).toString('hex');
  const looker = randomBytes(12).toString('hex');
  const emu = await startAmiEmulator({
    configDir,
    guiGenerated: STOCK_ISSABEL_GUI_FILES,
    users: [
      // What the README asks for infrasec: no write=command.
      { username: 'infrasec', secret, read: ['system', 'config', 'reporting'], write: ['system', 'config', 'reporting'] },
      // describe() looks at the PBX as an admin would.
      { username: 'demo-admin', secret: looker, read: ['all'], write: ['all'] },
    ],
  });
  const ami = () => new AmiClient({ host: emu.host, port: emu.port, username: 'demo-admin', secret: new Secret(looker, 'env', 'demo'), timeoutMs: 5000 });
  return {
    host: emu.host,
    port: emu.port,
    configDir: emu.configDir,
    env: { INFRASEC_AMI_HOST: emu.host, INFRASEC_AMI_PORT: String(emu.port), INFRASEC_AMI_USERNAME: 'infrasec', INFRASEC_AMI_SECRET: secret },
    async describe() {
      const pjsip = emu.loadedConfig('pjsip.conf') ?? [];
      const endpoints = pjsip.filter((c) => c.variables.some((v) => v.name === 'type' && v.value === 'endpoint'));
      const webrtc = endpoints.filter((c) => c.variables.some((v) => v.name === 'webrtc' && v.value === 'yes'));
      const bridges = (emu.loadedConfig('confbridge.conf') ?? []).filter((c) => c.variables.some((v) => v.name === 'type' && v.value === 'bridge'));
      const dialplan = emu.loadedConfig('extensions.conf') ?? [];
      const custom = dialplan.filter((c) => c.name === 'from-internal-custom').flatMap((c) => c.variables.map((v) => `${v.name} => ${v.value}`));
      const numbers = [...new Set(dialplan.filter((c) => c.name === 'infrasec-internal').flatMap((c) => c.variables.map((v) => v.value.split(',')[0] ?? '')))];
      const client = ami();
      try {
        await client.connect();
        // Which context answers each of infrasec's numbers when a phone of from-internal dials it.
        const reached = new Map<string, string[]>();
        for (const n of numbers) {
          const r = await client.list('ShowDialPlan', [['Context', 'from-internal'], ['Extension', n]]);
          const by = r.events.find((e) => e.event === 'ListDialplan' && e.get('Extension') !== undefined)?.get('Context') ?? 'nothing';
          reached.set(by, [...(reached.get(by) ?? []), n]);
        }
        const boxes = await client.list('VoicemailUsersList');
        const byContext = new Map<string, string[]>();
        for (const e of boxes.events) {
          if (e.event !== 'VoicemailUserEntry') continue;
          const c = e.get('VMContext') ?? '';
          byContext.set(c, [...(byContext.get(c) ?? []), e.get('VoiceMailbox') ?? '']);
        }
        return [
          `PJSIP endpoints loaded: ${endpoints.map((c) => c.name).join(', ')}`,
          `  of which WebRTC (WSS, DTLS): ${webrtc.map((c) => c.name).join(', ') || 'none'}`,
          `ConfBridge bridge profiles loaded: ${bridges.map((c) => c.name).join(', ') || 'none'}`,
          `The admin's [from-internal-custom], one line added: ${custom.join('; ')}`,
          ...[...reached].map(([by, ns]) => `Dialled from from-internal, answered by [${by}]: ${ns.join(', ')}`),
          ...[...byContext].map(([c, ns]) => `Mailboxes app_voicemail runs in [${c}] (where *97/*98 look): ${ns.join(', ')}`),
        ].join('\n');
      } finally {
        await client.close();
      }
    },
    close: () => emu.close(),
  };
}

// Standalone CLI: `npx tsx test/emulators/asterisk/main.ts --port 5038 --config-dir DIR [--user admin:secret]`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { AmiUser } from './action-types.js';
import { startAmiEmulator } from './server.js';
import { STOCK_ISSABEL_FILES, STOCK_ISSABEL_GUI_FILES } from './stock-issabel.js';

const USAGE = `usage: main.ts --config-dir DIR [--port 5038] [--host 127.0.0.1] [--version 22.10.1]
               [--user name:secret[:read[:write]]]... [--seed]
  --user     repeatable; read/write are comma lists of classes (default all)
  --seed     create the files of a stock Issabel PBX (stock-issabel.ts) in DIR where they do not exist; the GUI
             files among them are what a GUI regeneration writes back`;

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      'config-dir': { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, version: { type: 'string' },
      user: { type: 'string', multiple: true }, seed: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (args.help || !args['config-dir']) {
    console.log(USAGE);
    process.exit(args.help ? 0 : 2);
  }
  const configDir = path.resolve(args['config-dir']);
  fs.mkdirSync(configDir, { recursive: true });
  if (args.seed) {
    for (const [name, text] of Object.entries(STOCK_ISSABEL_FILES)) {
      const p = path.join(configDir, name);
      if (!fs.existsSync(p)) fs.writeFileSync(p, text);
    }
  }
  const users: AmiUser[] | undefined = args.user?.map((spec) => {
    const [username = '', secret = '', read = 'all', write = 'all'] = spec.split(':');
    return { username, secret, read: read.split(','), write: write.split(',') };
  });
  const emu = await startAmiEmulator({
    configDir,
    port: args.port ? Number(args.port) : 5038,
    host: args.host,
    version: args.version,
    users,
    ...(args.seed ? { guiGenerated: STOCK_ISSABEL_GUI_FILES } : {}),
  });
  console.log(`AMI emulator (Asterisk ${emu.version}, AMI ${emu.amiVersion}) on ${emu.host}:${emu.port}, config dir ${emu.configDir}`);
  const stop = () => {
    void emu.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});

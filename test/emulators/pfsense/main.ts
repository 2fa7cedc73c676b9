// Standalone CLI: `npx tsx test/emulators/pfsense/main.ts --port 8443 --state-dir DIR [--seed] [--api-key KEY]`.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ADMIN_PASSWORD, startPfSenseEmulator } from './server.js';
import { seedScenario } from './seed.js';

const USAGE = `usage: main.ts --state-dir DIR [--port 8443] [--host 127.0.0.1] [--seed] [--api-key KEY] [--no-port-forward-sort] [--no-persist]
  --state-dir  TLS CA/certificate (tls-ca.pem: what clients trust) and state.json, reloaded at the next start
  --seed       on a fresh state: dual WAN + WAN_FAILOVER, LAN/DMZ, the AD LDAP server, COD-CA, the rw-agents server, GUI rules
  --no-persist keep the state in memory only (state.json is not rewritten on each write)
  --api-key    enable KeyAuth and accept this key for admin (Basic admin/${ADMIN_PASSWORD} always works)`;

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      'state-dir': { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, 'api-key': { type: 'string' },
      seed: { type: 'boolean' }, 'no-port-forward-sort': { type: 'boolean' }, 'no-persist': { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (args.help || !args['state-dir']) {
    console.log(USAGE);
    process.exit(args.help ? 0 : 2);
  }
  const emu = await startPfSenseEmulator({
    stateDir: path.resolve(args['state-dir']),
    port: args.port !== undefined ? Number(args.port) : 8443,
    host: args.host,
    seed: args.seed ? seedScenario : undefined,
    quirks: { portForwardSort: !args['no-port-forward-sort'] },
    applyDelayMs: 200,
    persist: !args['no-persist'],
  });
  if (args['api-key']) {
    if (!emu.state.settings.auth_methods.includes('KeyAuth')) emu.state.settings.auth_methods.push('KeyAuth');
    if (!emu.state.apiKeys.some((k) => k.descr === 'main.ts --api-key')) emu.addApiKey('admin', 'main.ts --api-key', 24, 'sha256', args['api-key']);
  }
  console.log(`pfSense REST API v2 emulator on ${emu.url} (trust ${emu.caFile}); ${emu.state.config.rules.length} rules, ${emu.state.openvpnServers.length} OpenVPN server(s)`);
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

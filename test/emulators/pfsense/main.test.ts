// The standalone emulator: seeds a state dir, serves HTTPS with the CA it wrote there, keeps state across restarts.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';

let child: ChildProcess | undefined;
let dir = '';

afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  }
  child = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

function startMain(args: string[]): Promise<string> {
  child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'main.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no start line: ${out}`)), 45_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /on (https:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child!.stdout!.on('data', onData);
    child!.stderr!.on('data', onData);
    child!.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

describe('pfSense emulator main.ts', () => {
  it('serves the seed scenario over HTTPS with the CA from --state-dir and an API key', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pfsense-main-'));
    const url = await startMain(['--port', '0', '--state-dir', dir, '--seed', '--api-key', 'k3y']);
    const agent = new Agent({ connect: { ca: await readFile(path.join(dir, 'tls-ca.pem'), 'utf8') } });
    try {
      const get = async (p: string) => (await (await request(`${url}/api/v2/${p}`, { headers: { 'x-api-key': 'k3y' }, dispatcher: agent, signal: AbortSignal.timeout(10_000) })).body.json()) as { data: { name?: string; descr?: string; description?: string }[] };
      expect((await get('routing/gateway/groups')).data.map((g) => g.name)).toEqual(['WAN_FAILOVER']);
      expect((await get('vpn/openvpn/servers')).data.map((s) => s.description)).toEqual(['rw-agents']);
      expect((await get('firewall/rules')).data.map((r) => r.descr)).toContain('Default allow LAN to any rule');
      expect((await get('firewall/apply')).data).toEqual({ applied: true, pending_subsystems: [] });
    } finally {
      await agent.close();
    }
  });
});

// The first case replayed against the AMI emulator: a plan or apply with a generator key other than the one that
// set the PBX's secrets (a new state directory) is refused with the reason, instead of planning every SIP secret and PIN.
import { cpSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { reconcileCommand } from '../../src/commands/reconcile.ts';
import type { PassMode } from '../../src/engine/pass.ts';
import { initStateDir } from '../../src/state/generator-key.ts';
import { REPO_ROOT } from '../controller/ad-fixture.ts';
import { startPbx, type Pbx } from '../reconcilers/asterisk/pbx-fixture.ts';

let pbx: Pbx;
let dir: string;
let desired: string;
beforeAll(async () => {
  pbx = await startPbx();
  dir = await mkdtemp(join(tmpdir(), 'infrasec-genkey-cli-'));
  desired = join(dir, 'desired');
  cpSync(join(REPO_ROOT, 'desired-state'), desired, { recursive: true });
});
afterAll(async () => {
  await pbx?.close();
  await rm(dir, { recursive: true, force: true });
});

async function configWith(stateDir: string): Promise<string> {
  await initStateDir(stateDir);
  const file = join(dir, `infrasec-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, [
    `stateDir: ${stateDir}`, 'logLevel: silent', 'systems:', '  asterisk:', '    host: 127.0.0.1', `    port: ${pbx.emulator.port}`,
    '    username: admin', '    secret: amipass', '    transports: { udp: 0.0.0.0-udp, wss: transport-wss }', '    policy: { adopt: [Context/from-internal-custom] }',
  ].join('\n'));
  return file;
}

async function reconcileWith(mode: PassMode, config: string, extra: { rotateGeneratedSecrets?: boolean } = {}): Promise<{ code: number; report: { systems: Array<{ status: string; refused: string[]; changes: unknown[] }> } }> {
  let printed = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    printed += String(chunk);
    return true;
  });
  try {
    const code = await reconcileCommand(mode, desired, { format: 'json', yes: true, config, ...extra });
    return { code, report: JSON.parse(printed) };
  } finally {
    out.mockRestore();
  }
}

describe('a generator key that did not set the PBX secrets', () => {
  it('is refused with the reason by plan and apply, leaves the PBX as it was, and goes through only when asked to rotate', async () => {
    const original = await configWith(join(dir, 'state-original'));
    expect((await reconcileWith('apply', original)).code).toBe(0);
    expect((await reconcileWith('plan', original)).code).toBe(0);
    const updates = () => pbx.emulator.stats.actions['UpdateConfig'] ?? 0;
    const before = updates();

    // A new state directory (another folder, a lost one): a new key would change every SIP secret and PIN.
    const fresh = await configWith(join(dir, 'state-fresh'));
    const plan = await reconcileWith('plan', fresh);
    expect(plan.code).toBe(3);
    const [asterisk] = plan.report.systems;
    expect(asterisk!.status).toBe('refused');
    expect(asterisk!.refused.join('\n')).toMatch(/plan would change the generated secrets of all \d+ Conference\/Extension objects in asterisk at once, which is what a different generator key does.*INFRASEC_STATE_DIR.*--rotate-generated-secrets/);
    const apply = await reconcileWith('apply', fresh);
    expect(apply.code).toBe(3);
    expect(updates()).toBe(before);
    expect((await reconcileWith('plan', original)).code).toBe(0);

    const rotate = await reconcileWith('plan', fresh, { rotateGeneratedSecrets: true });
    expect(rotate.code).toBe(2);
    expect(rotate.report.systems[0]!.status).toBe('changes');
  });
});

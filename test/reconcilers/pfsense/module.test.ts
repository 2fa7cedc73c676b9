// The pfsense system module: configuration → reconciler (URL, API key or user/password, CA file), and its errors.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config.ts';
import { MemoryFingerprintStore } from '../../../src/state/fingerprints.ts';
import { buildSystems } from '../../../src/engine/systems.ts';
import { AuthenticationError, ConfigError, TargetUnavailableError } from '../../../src/errors.ts';
import { silentLogger } from '../../../src/log.ts';
import { pfsense } from '../../../src/reconcilers/pfsense/index.ts';
import { PfSenseReconciler } from '../../../src/reconcilers/pfsense/reconciler.ts';
import { type PfSenseEmulator, seedInterfaces, startPfSenseEmulator } from '../../emulators/pfsense/index.js';

let emu: PfSenseEmulator;
let dir: string;

beforeAll(async () => {
  emu = await startPfSenseEmulator({ seed: async (e) => seedInterfaces(e) });
  emu.state.settings.auth_methods = ['BasicAuth', 'KeyAuth'];
  emu.addApiKey('admin', 'infrasec', 24, 'sha256', 'module-test-key');
  dir = await mkdtemp(path.join(os.tmpdir(), 'pfsense-module-'));
  await writeFile(path.join(dir, 'ca.pem'), emu.caPem);
});
afterAll(async () => {
  await emu.close();
  await rm(dir, { recursive: true, force: true });
});

const build = async (section: Record<string, unknown>) => {
  const config = configSchema.parse({ systems: { pfsense: section } });
  const { reconcilers } = await buildSystems(config, { fingerprints: new MemoryFingerprintStore(), logger: silentLogger }, ['pfsense']);
  return reconcilers.get('pfsense') as PfSenseReconciler;
};

describe('the pfsense system built from configuration', () => {
  it('depends on active-directory: a VPN certificate is issued for an existing AD account', () => {
    expect(pfsense.dependsOn).toEqual(['active-directory']);
  });

  it('reaches the firewall with the API key and the CA file', async () => {
    const r = await build({ url: emu.url, apiKey: 'module-test-key', caFile: path.join(dir, 'ca.pem') });
    expect(r).toBeInstanceOf(PfSenseReconciler);
    try {
      const live = await r.observe(AbortSignal.timeout(10_000));
      expect(live.rules).toEqual([]);
    } finally {
      await r.close();
    }
  });

  it('reaches it with Basic user and password too', async () => {
    const r = await build({ url: emu.url, username: 'admin', password: 'pfsense', caFile: path.join(dir, 'ca.pem') });
    try {
      await expect(r.observe(AbortSignal.timeout(10_000))).resolves.toMatchObject({ aliases: [] });
    } finally {
      await r.close();
    }
  });

  it('refuses a configuration with neither an API key nor a user and password', async () => {
    await expect(build({ url: emu.url })).rejects.toBeInstanceOf(ConfigError);
  });

  it('says authentication failed for a wrong key, without printing it', async () => {
    const r = await build({ url: emu.url, apiKey: 'wrong-S3CRET-key', caFile: path.join(dir, 'ca.pem') });
    try {
      const err = await r.observe(AbortSignal.timeout(10_000)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect(String((err as Error).message)).not.toContain('S3CRET');
    } finally {
      await r.close();
    }
  });

  it('fails as unavailable when the firewall certificate is not trusted', async () => {
    const r = await build({ url: emu.url, apiKey: 'module-test-key' });
    try {
      await expect(r.observe(AbortSignal.timeout(10_000))).rejects.toBeInstanceOf(TargetUnavailableError);
    } finally {
      await r.close();
    }
  });
});

// The controller-wide instance name (infrasec.yaml `instance`, INFRASEC_INSTANCE) reaches every system's ownership marker; a system's own `instance` overrides it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, configSchema, loadConfig } from '../../src/config.ts';
import { buildSystems } from '../../src/engine/systems.ts';
import { silentLogger } from '../../src/log.ts';
import type { ActiveDirectoryReconciler } from '../../src/reconcilers/active-directory/reconciler.ts';
import type { AsteriskReconciler } from '../../src/reconcilers/asterisk/reconciler.ts';
import type { ModoboaReconciler } from '../../src/reconcilers/modoboa/reconciler.ts';
import type { PfSenseReconciler } from '../../src/reconcilers/pfsense/reconciler.ts';
import { MemoryFingerprintStore } from '../../src/state/fingerprints.ts';

/** Every system configured; nothing is contacted to build them. */
const systems = (over: Record<string, Record<string, unknown>> = {}) => ({
  'active-directory': { url: 'ldaps://127.0.0.1:6360', bindDN: 'CN=infrasec,CN=Users,DC=cod67,DC=test', bindPassword: 'x', baseDN: 'DC=cod67,DC=test', ...over['active-directory'] },
  asterisk: { host: '127.0.0.1', username: 'infrasec', secret: 'x', ...over['asterisk'] },
  pfsense: { url: 'https://127.0.0.1:8443', apiKey: 'x', ...over['pfsense'] },
  modoboa: { url: 'https://127.0.0.1:8444', token: 'x', ...over['modoboa'] },
});

async function markers(config: Config) {
  const { reconcilers } = await buildSystems(config, { fingerprints: new MemoryFingerprintStore(), logger: silentLogger });
  try {
    return {
      'active-directory': (reconcilers.get('active-directory') as ActiveDirectoryReconciler).layout.marker,
      asterisk: (reconcilers.get('asterisk') as AsteriskReconciler).layout.template,
      pfsense: (reconcilers.get('pfsense') as PfSenseReconciler).instance,
      modoboa: (reconcilers.get('modoboa') as ModoboaReconciler).instance,
    };
  } finally {
    for (const r of reconcilers.values()) await r.close();
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infrasec-instance-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the instance name', () => {
  it('is `default` in every system when nothing names one', async () => {
    expect(await markers(configSchema.parse({ systems: systems() }))).toEqual({
      'active-directory': 'managed-by=infrasec;instance=default', asterisk: 'infrasec-managed-default', pfsense: 'default', modoboa: 'default',
    });
  });

  it('set once at the top of infrasec.yaml, reaches every system; a system of its own keeps its own', async () => {
    const config = configSchema.parse({ instance: 'cod67', systems: systems({ pfsense: { instance: 'fw-sud' } }) });
    expect(await markers(config)).toEqual({
      'active-directory': 'managed-by=infrasec;instance=cod67', asterisk: 'infrasec-managed-cod67', pfsense: 'fw-sud', modoboa: 'cod67',
    });
  });

  it('comes from INFRASEC_INSTANCE too, and a per-system variable still wins', async () => {
    const file = join(dir, 'infrasec.yaml');
    await writeFile(file, `instance: from-file\nsystems:\n  asterisk: { host: 127.0.0.1, username: infrasec, secret: x }\n  modoboa: { url: "https://127.0.0.1:8444", token: x }\n`);
    const config = await loadConfig({ file, env: { INFRASEC_INSTANCE: 'from-env', INFRASEC_MODOBOA_INSTANCE: 'mail' } });
    expect(config.instance).toBe('from-env');
    const { reconcilers } = await buildSystems(config, { fingerprints: new MemoryFingerprintStore(), logger: silentLogger });
    expect((reconcilers.get('asterisk') as AsteriskReconciler).layout.template).toBe('infrasec-managed-from-env');
    expect((reconcilers.get('modoboa') as ModoboaReconciler).instance).toBe('mail');
    for (const r of reconcilers.values()) await r.close();
  });

  it('refuses a name that cannot go into a marker, naming the setting', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'instance: "two words"\n');
    await expect(loadConfig({ file, env: {} })).rejects.toThrow(/bad.yaml: instance: letters, digits, _ \. - only/);
    const empty = join(dir, 'empty.yaml');
    await writeFile(empty, '{}\n');
    await expect(loadConfig({ file: empty, env: { INFRASEC_INSTANCE: 'a;b' } })).rejects.toThrow(/empty.yaml: instance: letters, digits/);
  });
});

// The pfsense system module: configuration → reconciler (URL, API key or user/password, CA file), and its errors, each naming the setting to fix (emulator over HTTPS).
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
import { generateCa, issueCertificate } from '../../emulators/pfsense/pki.js';

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

  /** The error the first observe of a reconciler built from `section` fails with. */
  const observeError = async (section: Record<string, unknown>): Promise<Error> => {
    const r = await build(section);
    try {
      const err = await r.observe(AbortSignal.timeout(10_000)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      return err as Error;
    } finally {
      await r.close();
    }
  };

  it('a wrong API key: an authentication error naming the key settings, without printing the key', async () => {
    const err = await observeError({ url: emu.url, apiKey: 'wrong-S3CRET-key', caFile: path.join(dir, 'ca.pem') });
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.message).toBe(`pfSense at ${emu.url} refused the credentials (401 AUTH_AUTHENTICATION_FAILED); check systems.pfsense.apiKey (INFRASEC_PFSENSE_API_KEY) or systems.pfsense.apiKeyFile (INFRASEC_PFSENSE_API_KEY_FILE)`);
    expect(JSON.stringify(err)).not.toContain('S3CRET');
  });

  it('a wrong password: an authentication error naming the user and password settings', async () => {
    const err = await observeError({ url: emu.url, username: 'admin', password: 'wrong-S3CRET', caFile: path.join(dir, 'ca.pem') });
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.message).toContain('check systems.pfsense.username (INFRASEC_PFSENSE_USERNAME) and systems.pfsense.password (INFRASEC_PFSENSE_PASSWORD) or systems.pfsense.passwordFile (INFRASEC_PFSENSE_PASSWORD_FILE)');
    expect(err.message).not.toContain('S3CRET');
  });

  it('an untrusted certificate with no caFile: names caFile and says it is unset', async () => {
    const err = await observeError({ url: emu.url, apiKey: 'module-test-key' });
    expect(err).toBeInstanceOf(TargetUnavailableError);
    expect(err.message).toMatch(/^pfSense at https:\/\/127\.0\.0\.1:\d+: its certificate is not signed by a trusted CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: [^)]+\); set systems\.pfsense\.caFile \(INFRASEC_PFSENSE_CA_FILE\) to a PEM file of the CA that signed it \(unset: only the system's CA store is trusted\)$/);
  });

  it('a caFile holding another CA: names caFile and says the file does not hold the signer', async () => {
    const other = await generateCa({ dn: { CN: 'Some other CA' }, lifetimeDays: 2, key: { keytype: 'ECDSA', keylen: 0, ecname: 'prime256v1', digest: 'sha256' } });
    await writeFile(path.join(dir, 'other-ca.pem'), other.crt);
    const err = await observeError({ url: emu.url, apiKey: 'module-test-key', caFile: path.join(dir, 'other-ca.pem') });
    expect(err).toBeInstanceOf(TargetUnavailableError);
    expect(err.message).toContain('set systems.pfsense.caFile (INFRASEC_PFSENSE_CA_FILE) to a PEM file of the CA that signed it (the file set now does not hold it)');
  });

  it('an unreadable caFile is a configuration error naming the setting', async () => {
    await expect(build({ url: emu.url, apiKey: 'module-test-key', caFile: path.join(dir, 'missing.pem') })).rejects.toThrow(
      `cannot read systems.pfsense.caFile (INFRASEC_PFSENSE_CA_FILE) ${path.join(dir, 'missing.pem')}: ENOENT`,
    );
  });

  it('a firewall nothing answers for: names the url setting', async () => {
    const err = await observeError({ url: 'https://127.0.0.1:1', apiKey: 'module-test-key' });
    expect(err).toBeInstanceOf(TargetUnavailableError);
    expect(err.message).toMatch(/^cannot reach pfSense at https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED: [^)]+\); check systems\.pfsense\.url \(INFRASEC_PFSENSE_URL\) and that pfSense is running and reachable from here$/);
  });

  it('a certificate for another name: names the url setting and the names the certificate carries', async () => {
    // The emulator serves the certificate found in its state directory: one for fw.elsewhere.test only.
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'pfsense-wrong-name-'));
    const key = { keytype: 'ECDSA', keylen: 0, ecname: 'prime256v1', digest: 'sha256' } as const;
    const ca = await generateCa({ dn: { CN: 'Elsewhere CA' }, lifetimeDays: 2, key });
    const leaf = await issueCertificate({ ca, dn: { CN: 'fw.elsewhere.test' }, lifetimeDays: 2, key, type: 'server', sans: { dns: ['fw.elsewhere.test'] } });
    await writeFile(path.join(stateDir, 'tls-ca.pem'), ca.crt);
    await writeFile(path.join(stateDir, 'tls-cert.pem'), leaf.crt);
    await writeFile(path.join(stateDir, 'tls-key.pem'), leaf.prv);
    const elsewhere = await startPfSenseEmulator({ stateDir, persist: false });
    try {
      const err = await observeError({ url: elsewhere.url, apiKey: 'module-test-key', caFile: path.join(stateDir, 'tls-ca.pem') });
      expect(err).toBeInstanceOf(TargetUnavailableError);
      expect(err.message).toContain(`pfSense at ${elsewhere.url}: its certificate does not name the host of systems.pfsense.url (INFRASEC_PFSENSE_URL) (ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames: `);
      expect(err.message).toContain('; it names DNS:fw.elsewhere.test; set systems.pfsense.url (INFRASEC_PFSENSE_URL) to a name the certificate carries');
    } finally {
      await elsewhere.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});

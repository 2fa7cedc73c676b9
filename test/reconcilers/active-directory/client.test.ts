// Integration: the AD client's session failures map to clear error classes (auth, unreachable, timeout, TLS) without leaking
// the password, and every configuration mistake names the setting to fix, as infrasec.yaml and the environment spell it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret, sha256Hex } from '../../../src/desired/secret.ts';
import { MemoryFingerprintStore } from '../../../src/state/fingerprints.ts';
import { AuthenticationError, ConfigError, TargetUnavailableError } from '../../../src/errors.ts';
import { activeDirectory } from '../../../src/reconcilers/active-directory/index.ts';
import { ActiveDirectoryReconciler } from '../../../src/reconcilers/active-directory/reconciler.ts';
import type { AdSettings } from '../../../src/reconcilers/active-directory/settings.ts';
import { startSambaDc, type SambaDc } from '../../harness/samba.ts';

const signal = new AbortController().signal;
const WRONG = 'Wr0ng-But-Plausible!';
let dc: SambaDc;
let admin: Client;
let silent: Server;
const held: Socket[] = [];

function reconciler(over: Partial<AdSettings> = {}) {
  return new ActiveDirectoryReconciler(
    {
      url: dc.ldapsUrl,
      bindDN: dc.bindDN,
      bindPassword: new Secret(dc.bindPassword, 'env', sha256Hex('bind')),
      baseDN: dc.baseDN,
      caFile: dc.caFile,
      tlsServerName: dc.tlsServerName,
      timeoutMs: 3_000,
      ...over,
    },
    { fingerprints: new MemoryFingerprintStore() },
  );
}

async function highestUsn(): Promise<number> {
  const { searchEntries } = await admin.search('', { scope: 'base', attributes: ['highestCommittedUSN'] });
  return Number(searchEntries[0]?.['highestCommittedUSN']);
}

/** Runs observe and returns what it threw. */
async function failure(rec: ActiveDirectoryReconciler): Promise<Error> {
  try {
    await rec.observe(signal);
  } catch (err) {
    return err as Error;
  } finally {
    await rec.close();
  }
  throw new Error('observe unexpectedly succeeded');
}

function leaks(err: Error, secret: string): boolean {
  const cause = (err as Error & { cause?: unknown }).cause;
  return [err.message, String(err.stack), JSON.stringify(err), JSON.stringify((err as { context?: unknown }).context), String(cause)].some((s) => s.includes(secret));
}

beforeAll(async () => {
  dc = await startSambaDc();
  admin = new Client({ url: dc.ldapsUrl, tlsOptions: { ca: readFileSync(dc.caFile), servername: dc.tlsServerName } });
  await admin.bind(dc.bindDN, dc.bindPassword);
  // Accepts TCP and never answers: a hung DC.
  silent = createServer((s) => held.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
}, 180_000);

afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise((r) => silent?.close(r));
  await admin?.unbind();
  await dc?.stop();
}, 60_000);

describe('AD client session errors', () => {
  it('maps a wrong bind password to AuthenticationError, naming the bind DN but never the password', async () => {
    const err = await failure(reconciler({ bindPassword: new Secret(WRONG, 'env', sha256Hex('wrong')) }));
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).code).toBe('authentication-failed');
    expect(err.message).toContain(dc.bindDN);
    expect(leaks(err, WRONG)).toBe(false);
  });

  it('maps a refused connection to TargetUnavailableError', async () => {
    const err = await failure(reconciler({ url: 'ldaps://127.0.0.1:1' }));
    expect(err).toBeInstanceOf(TargetUnavailableError);
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(leaks(err, dc.bindPassword)).toBe(false);
  });

  it('gives up on a server that never answers within timeoutMs, as TargetUnavailableError', async () => {
    const { port } = silent.address() as { port: number };
    const started = Date.now();
    const err = await failure(reconciler({ url: `ldaps://127.0.0.1:${port}`, timeoutMs: 500 }));
    expect(err).toBeInstanceOf(TargetUnavailableError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('verifies the certificate: an unknown CA is TargetUnavailableError', async () => {
    const err = await failure(reconciler({ caFile: undefined }));
    expect(err).toBeInstanceOf(TargetUnavailableError);
    expect(err.message).toMatch(/certificate|CERT/i);
  });

  it('checks the name in the certificate: by IP without tlsServerName it refuses and says what to set', async () => {
    const err = await failure(reconciler({ tlsServerName: undefined }));
    expect(err).toBeInstanceOf(TargetUnavailableError);
    expect(err.message).toContain('tlsServerName');
  });

  it('connects without verification only when tlsInsecure is set explicitly', async () => {
    const rec = reconciler({ caFile: undefined, tlsServerName: undefined, tlsInsecure: true });
    const live = await rec.observe(signal);
    expect(live.users.has('administrator')).toBe(true);
    await rec.close();
  });

  it('refuses plain ldap:// at construction (passwords need TLS) with ConfigError', () => {
    expect(() => reconciler({ url: dc.ldapUrl })).toThrow(ConfigError);
  });

  it('leaves the directory undisturbed by all these failures', async () => {
    const before = await highestUsn();
    await failure(reconciler({ bindPassword: new Secret(WRONG, 'env', sha256Hex('wrong')) }));
    await failure(reconciler({ url: 'ldaps://127.0.0.1:1' }));
    expect(await highestUsn()).toBe(before);
    const rec = reconciler();
    const live = await rec.observe(signal);
    expect(live.users.get('administrator')?.enabled).toBe(true);
    await rec.close();
  });
});

/** `systems.active-directory.caFile (INFRASEC_AD_CA_FILE)`: both spellings, from the module's own map. */
const setting = (path: string) => `systems.active-directory.${path} (${activeDirectory.env[path]})`;

describe('AD configuration mistakes name the setting to fix', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'infrasec-ad-settings-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('a wrong bind password names the bind DN and password settings', async () => {
    const err = await failure(reconciler({ bindPassword: new Secret(WRONG, 'env', sha256Hex('wrong')) }));
    expect(err.message).toContain(`check ${setting('bindDN')} and ${setting('bindPassword')} or ${setting('bindPasswordFile')}`);
  });

  it('an unreachable DC names the url setting', async () => {
    const err = await failure(reconciler({ url: 'ldaps://127.0.0.1:1' }));
    expect(err.message).toBe(`cannot reach Active Directory at ldaps://127.0.0.1:1 (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1); check ${setting('url')} and that the DC is running and reachable from here`);
  });

  it('a DC that never answers the bind names the url and the timeout settings', async () => {
    const { port } = silent.address() as { port: number };
    const err = await failure(reconciler({ url: `ldaps://127.0.0.1:${port}`, timeoutMs: 500 }));
    expect(err.message).toContain(`check ${setting('url')} and that the DC is running, or raise ${setting('timeoutMs')}`);
  });

  it('a certificate from a CA not in caFile names caFile and the file that does not hold the CA', async () => {
    const other = join(scratch, 'other-ca.pem');
    // Any CA but the DC's: the DC's own certificate is not signed by itself.
    writeFileSync(other, readFileSync('/etc/ssl/certs/ca-certificates.crt'));
    const err = await failure(reconciler({ caFile: other }));
    expect(err).toBeInstanceOf(TargetUnavailableError);
    expect(err.message).toMatch(/its certificate is not signed by a trusted CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    expect(err.message).toContain(`set ${setting('caFile')} to a PEM file of the CA that signed it (${other} does not hold it)`);
  });

  it('no caFile at all says that only the system store is trusted', async () => {
    const err = await failure(reconciler({ caFile: undefined }));
    expect(err.message).toContain(`set ${setting('caFile')} to a PEM file of the CA that signed it (unset: only the system's CA store is trusted)`);
  });

  it('a caFile that cannot be read is a configuration error naming it', async () => {
    const missing = join(scratch, 'missing.pem');
    const err = await failure(reconciler({ caFile: missing }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(`cannot read ${setting('caFile')} ${missing}: ENOENT`);
  });

  it('a host the certificate does not name points at tlsServerName and says the name the certificate carries', async () => {
    const unset = await failure(reconciler({ tlsServerName: undefined }));
    expect(unset.message).toContain(`it names CN=${dc.tlsServerName}; set ${setting('tlsServerName')} to a name in the certificate (unset: the host of ${setting('url')} is checked)`);
    const wrong = await failure(reconciler({ tlsServerName: 'dc.elsewhere.test' }));
    expect(wrong.message).toContain(`to a name in the certificate (now "dc.elsewhere.test")`);
  });

  it('TLS spoken to the plain LDAP port is a handshake failure naming the url, caFile and tlsServerName, not an outage', async () => {
    const err = await failure(reconciler({ url: `ldaps://${dc.host}:389` }));
    expect(err).toBeInstanceOf(TargetUnavailableError);
    expect(err.message).toMatch(new RegExp(`^TLS handshake with Active Directory at ldaps://${dc.host.replace(/\./g, '\\.')}:389 failed`));
    expect(err.message).toContain(`check that ${setting('url')} names the DC's LDAPS port (636 unless changed), then ${setting('caFile')} and ${setting('tlsServerName')}`);
  });

  it('a base DN that does not exist is a configuration error naming baseDN and the domain the DC has, not an internal error', async () => {
    const err = await failure(reconciler({ baseDN: 'DC=nowhere,DC=test' }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(`${setting('baseDN')} is "DC=nowhere,DC=test", which does not exist in Active Directory; this DC's domain is "${dc.baseDN}"`);
  });

  it('a managed OU whose parent does not exist fails observe naming managedOU, instead of planning a create apply cannot make', async () => {
    const err = await failure(reconciler({ managedOU: 'OU=infrasec,OU=Missing' }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      `${setting('managedOU')} places the managed OU at "OU=infrasec,OU=Missing,${dc.baseDN}", but "OU=Missing,${dc.baseDN}" does not exist in Active Directory; ` +
        `infrasec creates the managed OU, not the OUs above it: create "OU=Missing,${dc.baseDN}" or choose another managedOU`,
    );
  });

  it('a managed OU that is missing under an existing parent is still planned for creation', async () => {
    const rec = reconciler({ managedOU: 'OU=infrasec-new,CN=Users' });
    const live = await rec.observe(signal);
    expect(live.organizationalUnits.size).toBe(0);
    await rec.close();
  });
});

// Integration: the AD client's session failures map to clear error classes (auth, unreachable, timeout, TLS) without leaking the password.
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret, sha256Hex } from '../../../src/desired/secret.ts';
import { MemoryFingerprintStore } from '../../../src/state/fingerprints.ts';
import { AuthenticationError, ConfigError, TargetUnavailableError } from '../../../src/errors.ts';
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

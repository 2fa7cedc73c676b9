// Integration: the Samba harness starts real DCs side by side, each verified over LDAPS, and stop() leaves nothing behind.
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSambaDc, type SambaDc } from './samba.ts';

/** Reads the rootDSE over verified LDAPS; without `byCertName` the client checks the certificate against the IP it dialled. */
async function rootDse(dc: SambaDc, byCertName = true): Promise<Record<string, unknown>> {
  const tlsOptions = byCertName ? { ca: readFileSync(dc.caFile), servername: dc.tlsServerName } : { ca: readFileSync(dc.caFile) };
  const c = new Client({ url: dc.ldapsUrl, tlsOptions, timeout: 10_000, connectTimeout: 10_000 });
  try {
    await c.bind(dc.bindDN, dc.bindPassword);
    const { searchEntries } = await c.search('', { scope: 'base', attributes: ['defaultNamingContext', 'highestCommittedUSN'] });
    return searchEntries[0] ?? {};
  } finally {
    await c.unbind();
  }
}

describe('startSambaDc', () => {
  let a: SambaDc;
  let b: SambaDc;
  beforeAll(async () => {
    [a, b] = await Promise.all([startSambaDc(), startSambaDc()]);
  }, 180_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  }, 60_000);

  it('starts two DCs side by side on their own loopback addresses', async () => {
    expect(a.host).not.toBe(b.host);
    expect(a.host).toMatch(/^127\.0\.0\.\d+$/);
    expect(a.pid).not.toBe(b.pid);
    const [ra, rb] = await Promise.all([rootDse(a), rootDse(b)]);
    expect(ra['defaultNamingContext']).toBe(a.baseDN);
    expect(rb['defaultNamingContext']).toBe(b.baseDN);
  });

  it('serves LDAPS with a certificate from its own CA, verified against tlsServerName', async () => {
    expect(readFileSync(a.caFile, 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(a.tlsServerName).toMatch(/\.cod67\.infrasec\.test$/i);
    // Each DC generated its own CA: a's CA does not vouch for b.
    const crossed = new Client({ url: b.ldapsUrl, tlsOptions: { ca: readFileSync(a.caFile), servername: b.tlsServerName }, connectTimeout: 5_000 });
    await expect(crossed.bind(b.bindDN, b.bindPassword)).rejects.toThrow();
    await crossed.unbind();
  });

  it('refuses a connection by IP without the certificate name (hostname check stays on)', async () => {
    await expect(rootDse(a, false)).rejects.toThrow(/altnames|IP|does not match/i);
  });

  it('with certificateNamesAddress, serves a certificate of its own CA that verifies by IP as well as by name', async () => {
    const dc = await startSambaDc({ certificateNamesAddress: true });
    try {
      expect((await rootDse(dc, false))['defaultNamingContext']).toBe(dc.baseDN);
      expect((await rootDse(dc, true))['defaultNamingContext']).toBe(dc.baseDN);
      const cert = new X509Certificate(readFileSync(join(dc.dir, 'private', 'tls', 'cert.pem')));
      expect(cert.subjectAltName).toBe(`DNS:${dc.tlsServerName}, IP Address:${dc.host}`);
      expect(cert.verify(new X509Certificate(readFileSync(dc.caFile)).publicKey)).toBe(true);
      // Another DC's CA does not vouch for it.
      const crossed = new Client({ url: dc.ldapsUrl, tlsOptions: { ca: readFileSync(a.caFile) }, connectTimeout: 5_000 });
      await expect(crossed.bind(dc.bindDN, dc.bindPassword)).rejects.toThrow();
      await crossed.unbind();
    } finally {
      await dc.stop();
    }
  }, 120_000);

  it('stop() kills only its own samba, removes its directory and is idempotent', async () => {
    const dc = await startSambaDc();
    const { pid, dir } = dc;
    await dc.stop();
    await dc.stop();
    expect(existsSync(dir)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' })).not.toContain(` ${dc.host}/`);
    // The others are untouched.
    expect((await rootDse(a))['defaultNamingContext']).toBe(a.baseDN);
  }, 120_000);
});

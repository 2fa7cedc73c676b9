// Emulator vs contract sections 8–12 and errata 4, 5, 11, 12, 14: real X.509, CRLs, OpenVPN objects, client export.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, closeAgent, openvpnParses } from './api-test-client.js';
import { type PfSenseEmulator, SEED_NAMES, seedScenario, startPfSenseEmulator } from './index.js';

const run = promisify(execFile);
let emu: PfSenseEmulator;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pfsense-pki-test-'));
  emu = await startPfSenseEmulator({ seed: seedScenario });
});
afterAll(async () => {
  await closeAgent(emu);
  await emu.close();
  await rm(dir, { recursive: true, force: true });
});

async function caOf(): Promise<{ refid: string; crt: string }> {
  const cas = (await call(emu, 'GET', 'system/certificate_authorities')).body.data;
  return cas.find((c: { descr: string }) => c.descr === SEED_NAMES.ca);
}

async function generateUserCert(cn: string, descr = `vpn ${cn}`): Promise<{ id: number; refid: string; crt: string }> {
  const ca = await caOf();
  const r = await call(emu, 'POST', 'system/certificate/generate', {
    json: { descr, caref: ca.refid, keytype: 'ECDSA', ecname: 'prime256v1', digest_alg: 'sha256', lifetime: 45, dn_commonname: cn },
  });
  expect(r.status).toBe(200);
  return r.body.data;
}

describe('pfSense emulator PKI and OpenVPN', () => {
  it('issues a user certificate that openssl verifies against the CA, with the CN and lifetime asked', async () => {
    const cert = await generateUserCert('jdupont');
    expect(cert).not.toHaveProperty('prv');
    expect(cert).toMatchObject({ type: 'user' });
    const ca = await caOf();
    await writeFile(path.join(dir, 'ca.pem'), ca.crt);
    await writeFile(path.join(dir, 'c.pem'), cert.crt);
    const verify = await run('openssl', ['verify', '-CAfile', path.join(dir, 'ca.pem'), path.join(dir, 'c.pem')]);
    expect(verify.stdout.trim()).toBe(`${path.join(dir, 'c.pem')}: OK`);
    const text = (await run('openssl', ['x509', '-in', path.join(dir, 'c.pem'), '-noout', '-subject', '-enddate', '-startdate', '-ext', 'extendedKeyUsage'])).stdout;
    expect(text).toContain('subject=CN = jdupont');
    expect(text).toContain('TLS Web Client Authentication');
    const [, notBefore] = /notBefore=(.*)/.exec(text)!;
    const [, notAfter] = /notAfter=(.*)/.exec(text)!;
    expect(Math.round((Date.parse(notAfter!) - Date.parse(notBefore!)) / 86_400_000)).toBe(45);
  });

  it('keeps a CN with DN metacharacters as one CN value', async () => {
    const refused = await call(emu, 'POST', 'system/certificate/generate', { json: { descr: 'a/b', caref: (await caOf()).refid, dn_commonname: 'x' } });
    expect([refused.status, refused.body.response_id]).toEqual([400, 'REGEX_VALIDATOR_FAILED']);
    const cert = await generateUserCert('evil/CN=admin+O=x', 'evil');
    await writeFile(path.join(dir, 'e.pem'), cert.crt);
    const subject = (await run('openssl', ['x509', '-in', path.join(dir, 'e.pem'), '-noout', '-subject', '-nameopt', 'RFC2253'])).stdout.trim();
    expect(subject).toBe('subject=CN=evil/CN=admin\\+O=x');
  });

  it('revokes into the CRL: serial listed, CRL number bumped, openssl verify -crl_check fails', async () => {
    const cert = await generateUserCert('leaver');
    const crls = (await call(emu, 'GET', 'system/crls')).body.data;
    const crlId = crls.findIndex((c: { descr: string }) => c.descr === SEED_NAMES.crl);
    const before = crls[crlId];
    const r = await call(emu, 'POST', 'system/crl/revoked_certificate', { json: { parent_id: crlId, certref: cert.refid, reason: 5 } });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ parent_id: crlId, certref: cert.refid });
    const after = (await call(emu, 'GET', 'system/crl', { query: `id=${crlId}` })).body.data;
    expect(after.serial).toBe(before.serial + 1);
    await writeFile(path.join(dir, 'crl.pem'), after.text);
    const text = (await run('openssl', ['crl', '-in', path.join(dir, 'crl.pem'), '-noout', '-text'])).stdout;
    await writeFile(path.join(dir, 'leaver.pem'), cert.crt);
    const certSerial = (await run('openssl', ['x509', '-in', path.join(dir, 'leaver.pem'), '-noout', '-serial'])).stdout.trim().replace('serial=', '');
    expect(text).toContain(`Serial Number: ${certSerial}`);
    expect(text).toMatch(new RegExp(`CRL Number: \\n\\s+${after.serial}\\b`));
    const ca = await caOf();
    await writeFile(path.join(dir, 'ca-crl.pem'), `${ca.crt}${after.text}`);
    const check = await run('openssl', ['verify', '-crl_check', '-CAfile', path.join(dir, 'ca-crl.pem'), path.join(dir, 'leaver.pem')]).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${check.stdout}${check.stderr}`).toContain('certificate revoked');
  });

  it('refuses to delete a certificate in use (403) and leaves private keys and TLS keys out of every read', async () => {
    const certs = (await call(emu, 'GET', 'system/certificates')).body.data;
    const serverCertId = certs.findIndex((c: { descr: string }) => c.descr === SEED_NAMES.serverCert);
    const del = await call(emu, 'DELETE', 'system/certificate', { query: `id=${serverCertId}` });
    expect([del.status, del.body.response_id]).toEqual([403, 'CERTIFICATE_CANNOT_BE_DELETED_WHILE_IN_USE']);
    const all = JSON.stringify([certs, (await call(emu, 'GET', 'vpn/openvpn/servers')).body.data, (await call(emu, 'GET', 'system/auth_servers')).body.data, (await call(emu, 'GET', 'users')).body.data]);
    expect(all).not.toContain('PRIVATE KEY');
    expect(all).not.toContain('OpenVPN Static key');
    expect(all).not.toContain('seed-bind-password');
    expect(all).not.toContain('"password"');
  });

  it('normalises a server tunnel network, keeps a CSO tunnel network as sent', async () => {
    const servers = (await call(emu, 'GET', 'vpn/openvpn/servers')).body.data;
    const patched = await call(emu, 'PATCH', 'vpn/openvpn/server', { json: { id: 0, tunnel_network: '10.8.0.77/24' } });
    expect(patched.body.data.tunnel_network).toBe('10.8.0.0/24');
    const cso = await call(emu, 'POST', 'vpn/openvpn/cso', {
      json: { common_name: 'jdupont', server_list: [servers[0].vpnif], tunnel_network: '10.8.0.10/24', local_network: ['192.168.10.0/24'], description: 'x' },
    });
    expect(cso.body.data).toMatchObject({ id: 0, common_name: 'jdupont', tunnel_network: '10.8.0.10/24', server_list: ['ovpns1'] });
    const badServer = await call(emu, 'POST', 'vpn/openvpn/cso', { json: { common_name: 'x', server_list: ['ovpns9'] } });
    expect(badServer.status).toBe(404);
  });

  it('exports an inline .ovpn that the real openvpn parses, and 406 for an inline type asked as a download', async () => {
    const cert = await generateUserCert('agent01');
    const r = await call(emu, 'POST', 'vpn/openvpn/client_export', { json: { id: 0, type: 'confinline', certref: cert.refid } });
    expect(r.status).toBe(200);
    expect(r.body.data.filename).toBeNull();
    const ovpn = r.body.data.binary_data as string;
    expect(ovpn).toMatch(/^remote 203\.0\.113\.2 1194 udp4$/m);
    expect(ovpn).toContain('auth-user-pass');
    expect(ovpn).toContain('<tls-crypt>');
    const parsed = await openvpnParses(ovpn);
    expect(parsed.log).toContain('link remote:');
    expect(parsed.ok).toBe(true);
    const broken = await openvpnParses(ovpn.replace('-----BEGIN PRIVATE KEY-----\n', '-----BEGIN PRIVATE KEY-----\nAAAA'));
    expect(broken.ok).toBe(false);
    const octet = await call(emu, 'POST', 'vpn/openvpn/client_export', { json: { id: 0, type: 'confinline', certref: cert.refid }, headers: { accept: 'application/octet-stream' } });
    expect([octet.status, octet.body.response_id]).toEqual([406, 'BINARY_CONTENT_HANDLER_RESOURCE_NOT_SUPPORTED']);
  });

  it('checks the export config id before the missing package (errata 5)', async () => {
    emu.state.packages.delete('openvpn-client-export');
    try {
      const missing = await call(emu, 'POST', 'vpn/openvpn/client_export', { json: { id: 7, type: 'confinline' } });
      expect([missing.status, missing.body.response_id]).toEqual([404, 'MODEL_OBJECT_NOT_FOUND']);
      const pkg = await call(emu, 'POST', 'vpn/openvpn/client_export', { json: { id: 0, type: 'confinline' } });
      expect(pkg.body.response_id).toBe('MODEL_MISSING_REQUIRED_PACKAGE');
    } finally {
      emu.state.packages.add('openvpn-client-export');
    }
  });
});

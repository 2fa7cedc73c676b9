// VPN profiles against the emulator: certificates from the server's CA, overrides, leavers revoked into the CRL, a real openvpn parse.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openvpnParses } from '../../emulators/pfsense/api-test-client.js';
import { SEED_NAMES } from '../../emulators/pfsense/index.js';
import { state, user, vpn } from './desired-builder.ts';
import { type Fixture, pass, startFixture } from './firewall-fixture.ts';

const run = promisify(execFile);
let fx: Fixture;
let dir: string;
beforeEach(async () => {
  fx = await startFixture();
  dir = await mkdtemp(path.join(os.tmpdir(), 'pfsense-vpn-'));
});
afterEach(async () => {
  await fx.close();
  await rm(dir, { recursive: true, force: true });
});

const profiles = (enabled = true) => state({
  users: [user('jdupont', { enabled }), user('amartin')],
  vpnProfiles: [
    vpn('vpn-jdupont', 'jdupont', { staticAddress: '10.8.0.10', routes: ['192.168.10.0/24', '172.16.50.0/24'], certificateLifetimeDays: 45 }),
    vpn('vpn-amartin', 'amartin', { staticAddress: '10.8.0.11' }),
  ],
});

const ownedCert = (profile: string) => fx.emu.state.certs.filter((c) => String(c.descr).endsWith(`[infrasec:test:${profile}]`));
const crl = () => fx.emu.state.crls.find((c) => c.descr === SEED_NAMES.crl)!;
const ca = () => fx.emu.state.cas.find((c) => c.descr === SEED_NAMES.ca)!;

async function opensslVerify(crt: string, withCrl: boolean): Promise<string> {
  await writeFile(path.join(dir, 'ca.pem'), `${String(ca().crt)}${withCrl ? String(crl().text) : ''}`);
  await writeFile(path.join(dir, 'c.pem'), crt);
  const args = ['verify', ...(withCrl ? ['-crl_check'] : []), '-CAfile', path.join(dir, 'ca.pem'), path.join(dir, 'c.pem')];
  const r = await run('openssl', args).catch((e: { stdout: string; stderr: string }) => e);
  return `${r.stdout}${r.stderr}`;
}

describe('pfSense VPN profiles', () => {
  it('issues each person a certificate (CN = AD account, lifetime from Git) from the server CA and an override; second pass writes nothing', async () => {
    const out = await pass(fx.reconciler, profiles());
    expect(out.applied.every((a) => a.ok)).toBe(true);
    expect(out.verify).toEqual([]);
    const [c] = ownedCert('vpn-jdupont');
    expect(await opensslVerify(String(c!.crt), true)).toContain('c.pem: OK');
    const text = (await run('openssl', ['x509', '-in', path.join(dir, 'c.pem'), '-noout', '-subject', '-startdate', '-enddate'])).stdout;
    expect(text).toContain('subject=CN = jdupont');
    const days = (Date.parse(/notAfter=(.*)/.exec(text)![1]!) - Date.parse(/notBefore=(.*)/.exec(text)![1]!)) / 86_400_000;
    expect(days).toBe(45);
    expect(fx.emu.state.csos.find((o) => o.common_name === 'jdupont')).toMatchObject({ tunnel_network: '10.8.0.10/24', local_network: ['192.168.10.0/24', '172.16.50.0/24'], server_list: ['ovpns1'] });
    fx.emu.resetStats();
    expect((await pass(fx.reconciler, profiles())).plan.changes).toEqual([]);
    expect(fx.emu.stats.writeRequests).toBe(0);
  });

  it('hands a person one client configuration per VPN profile of theirs, and none to a person without one', async () => {
    await pass(fx.reconciler, profiles());
    const signal = AbortSignal.timeout(30_000);
    const configs = await fx.reconciler.clientConfigs(profiles(), 'jdupont', signal);
    expect(configs.map((c) => [c.object, c.file])).toEqual([['VpnProfile/vpn-jdupont', 'vpn-jdupont.ovpn']]);
    expect(configs[0]!.content.reveal()).toContain(String(ownedCert('vpn-jdupont')[0]!.crt).trim());
    expect(JSON.stringify(configs)).not.toContain('PRIVATE KEY');
    expect(await fx.reconciler.clientConfigs(profiles(), 'nobody', signal)).toEqual([]);
  });

  it('exports an .ovpn for the person that the real openvpn parses, as a Secret that never prints', async () => {
    await pass(fx.reconciler, profiles());
    const ovpn = await fx.reconciler.exportProfile('vpn-jdupont', 'rw-agents', AbortSignal.timeout(30_000));
    expect(String(ovpn)).toBe('(sensitive)');
    expect(JSON.stringify({ ovpn })).not.toContain('PRIVATE KEY');
    const parsed = await openvpnParses(ovpn.reveal());
    expect(parsed.ok).toBe(true);
    expect(ovpn.reveal()).toContain(String(ownedCert('vpn-jdupont')[0]!.crt).trim());
  });

  it('revokes a leaver\'s certificate into the CRL in the same pass and removes the override', async () => {
    await pass(fx.reconciler, profiles());
    const [c] = ownedCert('vpn-jdupont');
    const serialBefore = crl().serial as number;
    const out = await pass(fx.reconciler, profiles(false));
    expect(out.applied.map((a) => `${a.change.action} ${a.change.kind}/${a.change.name} ${a.ok}`)).toEqual([
      'disable VpnCertificate/vpn-jdupont true',
      'delete VpnOverride/vpn-jdupont true',
    ]);
    expect(out.verify).toEqual([]);
    expect(crl().serial).toBe(serialBefore + 1);
    expect(await opensslVerify(String(c!.crt), true)).toContain('certificate revoked');
    await writeFile(path.join(dir, 'crl.pem'), String(crl().text));
    const crlText = (await run('openssl', ['crl', '-in', path.join(dir, 'crl.pem'), '-noout', '-text'])).stdout;
    expect(crlText).toContain(`Serial Number: ${String((await run('openssl', ['x509', '-in', path.join(dir, 'c.pem'), '-noout', '-serial'])).stdout).trim().replace('serial=', '')}`);    expect(fx.emu.state.csos.map((o) => o.common_name)).toEqual(['amartin']);
    // The other person is untouched and the export of the leaver now fails.
    await expect(fx.reconciler.exportProfile('vpn-jdupont', 'rw-agents', AbortSignal.timeout(30_000))).rejects.toThrow('no valid certificate');
    fx.emu.resetStats();
    expect((await pass(fx.reconciler, profiles(false))).plan.changes).toEqual([]);
    expect(fx.emu.stats.writeRequests).toBe(0);
  });

  it('re-issues a certificate revoked by hand in the GUI', async () => {
    await pass(fx.reconciler, profiles());
    const [c] = ownedCert('vpn-amartin');
    const crlId = fx.emu.state.crls.indexOf(crl());
    await fx.emu.gui('POST', 'system/crl/revoked_certificate', { parent_id: crlId, certref: c!.refid, reason: 1 });
    const out = await pass(fx.reconciler, profiles());
    expect(out.plan.changes.map((ch) => `${ch.action} ${ch.kind}/${ch.name}`)).toEqual(['update VpnCertificate/vpn-amartin']);
    expect(out.applied.every((a) => a.ok)).toBe(true);
    const certs = ownedCert('vpn-amartin');
    expect(certs).toHaveLength(2);
    expect(await opensslVerify(String(certs[1]!.crt), true)).toContain('c.pem: OK');
  });
});

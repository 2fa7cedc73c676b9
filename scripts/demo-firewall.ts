// Starts the pfSense REST API emulator (the seed scenario's dual-WAN firewall with its road-warrior server) for the demo, and describes what it holds afterwards.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SEED_NAMES, seedScenario, startPfSenseEmulator, type Obj } from '../test/emulators/pfsense/index.ts';

const run = promisify(execFile);
const INSTANCE = 'cod67';

export interface DemoFirewall {
  readonly url: string;
  /** INFRASEC_PFSENSE_* variables for the CLI. */
  readonly env: Readonly<Record<string, string>>;
  /** Aliases, rules per interface (as pf enforces them), the port forward and the VPN profiles. */
  describe(): string;
  /** A person's VPN certificate checked against the CA and the CRL pf's OpenVPN server uses, and their override. */
  describeVpnOf(account: string): Promise<string>;
  close(): Promise<void>;
}

const text = (v: unknown) => (Array.isArray(v) ? v.join(',') : v === undefined || v === null || v === '' ? '' : String(v));
const owned = (o: Obj, field = 'descr') => String(o[field] ?? '').includes(`[infrasec:${INSTANCE}:`);
const label = (o: Obj, field = 'descr') => String(o[field] ?? '').replace(/\s*\[infrasec:[^\]]*\]$/, '');

export async function startDemoFirewall(dir: string): Promise<DemoFirewall> {
  await mkdir(dir, { recursive: true });
  const emu = await startPfSenseEmulator({ seed: seedScenario });
  const apiKey = randomBytes(24).toString('hex');
  emu.state.settings.auth_methods = ['BasicAuth', 'KeyAuth'];
  emu.addApiKey('admin', 'infrasec', 24, 'sha256', apiKey);
  const caFile = join(dir, 'pfsense-ca.pem');
  await writeFile(caFile, emu.caPem);

  const server = () => emu.state.openvpnServers.find((s) => s.description === SEED_NAMES.openvpnServer)!;
  const crl = () => emu.state.crls.find((c) => c.refid === server().crlref)!;
  const ca = () => emu.state.cas.find((c) => c.refid === server().caref)!;
  const certOf = (account: string) => emu.state.certs.find((c) => owned(c) && /CN\s*=\s*([^,/]+)/.exec(String(c.dn ?? ''))?.[1] === account)
    ?? emu.state.certs.find((c) => owned(c) && String(c.descr).includes(account));

  return {
    url: emu.url,
    env: {
      INFRASEC_PFSENSE_URL: emu.url,
      INFRASEC_PFSENSE_API_KEY: apiKey,
      INFRASEC_PFSENSE_CA_FILE: caFile,
      INFRASEC_PFSENSE_INSTANCE: INSTANCE,
    },
    describe() {
      const running = emu.state.running;
      const lines: string[] = [];
      lines.push(`Aliases (${running.aliases.filter((a) => owned(a)).length} owned by infrasec):`);
      for (const a of running.aliases.filter((x) => owned(x))) lines.push(`  ${String(a.name).padEnd(22)} ${String(a.type).padEnd(8)} ${text(a.address)}`);
      lines.push('Filter rules as pf enforces them, per interface, in order (GUI-made rules kept where they were):');
      const ifaces = new Map(emu.state.interfaces.map((i) => [i.id, i.descr]));
      const byIface = new Map<string, Obj[]>();
      for (const r of running.rules) for (const i of [].concat(r.interface as never)) byIface.set(String(i), [...(byIface.get(String(i)) ?? []), r]);
      for (const [iface, rules] of byIface) {
        lines.push(`  ${ifaces.get(iface) ?? iface}:`);
        for (const r of rules) {
          const who = owned(r) ? 'infrasec' : String(r.descr).startsWith('NAT ') || String(r.associated_rule_id ?? '') ? 'NAT' : 'GUI';
          const port = text(r.destination_port);
          const gw = r.gateway ? ` via ${String(r.gateway)}` : '';
          lines.push(`    ${String(r.type).padEnd(6)} ${text(r.protocol || 'any').padEnd(7)} ${text(r.source)} → ${text(r.destination)}${port ? `:${port}` : ''}${gw}  (${who}: ${label(r)})`);
        }
      }
      lines.push('Port forwards:');
      for (const n of running.nat) lines.push(`  ${text(n.interface)} ${text(n.protocol)} ${text(n.destination)}:${text(n.destination_port)} → ${text(n.target)}:${text(n.local_port)}  (${label(n)})`);
      const certs = emu.state.certs.filter((c) => owned(c));
      lines.push(`OpenVPN "${SEED_NAMES.openvpnServer}": ${certs.length} user certificates from ${String(ca().descr)}, ${emu.state.csos.filter((o) => owned(o, 'description')).length} client overrides:`);
      for (const o of emu.state.csos.filter((x) => owned(x, 'description'))) lines.push(`  ${String(o.common_name).padEnd(10)} tunnel ${text(o.tunnel_network).padEnd(14)} routes ${text(o.local_network)}`);
      lines.push(`CRL "${String(crl().descr)}": ${(crl().cert as Obj[] | undefined)?.length ?? 0} revoked`);
      return lines.join('\n');
    },
    async describeVpnOf(account) {
      const cert = certOf(account);
      if (!cert) return `no certificate for ${account}`;
      const pem = join(dir, `${account}.pem`);
      const crlFile = join(dir, 'crl.pem');
      const chain = join(dir, 'ca-and-crl.pem');
      await writeFile(pem, String(cert.crt));
      await writeFile(crlFile, String(crl().text));
      await writeFile(chain, `${String(ca().crt)}${String(crl().text)}`);
      const verify = await run('openssl', ['verify', '-crl_check', '-CAfile', chain, pem]).then((r) => r.stdout + r.stderr, (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`);
      const serial = (await run('openssl', ['x509', '-in', pem, '-noout', '-serial'])).stdout.trim().replace(/^serial=/, '').toUpperCase();
      const listed = (await run('openssl', ['crl', '-in', crlFile, '-noout', '-text'])).stdout;
      const inCrl = new RegExp(`Serial Number: ${serial}\\b`, 'i').test(listed);
      const override = emu.state.csos.find((o) => o.common_name === account);
      return [
        `${account}'s certificate (serial ${serial}): ${inCrl ? 'listed in' : 'not in'} CRL "${String(crl().descr)}" (CRL number ${String(crl().serial)})`,
        `openssl verify -crl_check: ${verify.trim().split('\n').filter((l) => /OK|revoked|error/i.test(l)).join('; ')}`,
        `client override for ${account}: ${override ? `present (${text(override.tunnel_network)})` : 'removed'}`,
      ].join('\n');
    },
    close: () => emu.close(),
  };
}

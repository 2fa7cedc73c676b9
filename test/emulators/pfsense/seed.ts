// The seed scenario's firewall: dual WAN + failover group, LAN/DMZ, an AD LDAP server, a CA, the road-warrior server, GUI rules.
import type { PfSenseEmulator } from './server.js';
import type { InterfaceInfo, Obj } from './state.js';

export const SEED_INTERFACES: InterfaceInfo[] = [
  { id: 'wan', descr: 'WAN', if: 'vtnet0', ipaddr: '203.0.113.2', subnet: 29 },
  { id: 'lan', descr: 'LAN', if: 'vtnet1', ipaddr: '192.168.10.1', subnet: 24 },
  { id: 'opt1', descr: 'DMZ', if: 'vtnet2', ipaddr: '172.16.50.1', subnet: 24 },
  { id: 'opt2', descr: 'WAN2', if: 'vtnet3', ipaddr: '198.51.100.2', subnet: 29 },
];

/** Names the seed gives objects the reconciler refers to. */
export const SEED_NAMES = {
  ca: 'COD-CA',
  serverCert: 'rw-agents-server',
  openvpnServer: 'rw-agents',
  ldap: 'AD COD',
  crl: 'COD-CA CRL',
  gatewayGroup: 'WAN_FAILOVER',
  gateways: ['WAN1_GW', 'WAN2_GW'],
};

/** Only the interfaces: enough for firewall-only tests (no openssl work). */
export function seedInterfaces(emu: PfSenseEmulator): void {
  emu.state.interfaces = structuredClone(SEED_INTERFACES);
}

export async function seedScenario(emu: PfSenseEmulator): Promise<void> {
  seedInterfaces(emu);
  const gui = (method: 'POST' | 'PATCH', endpoint: string, params: Obj) => emu.gui(method, endpoint, params);
  await gui('POST', 'routing/gateway', { name: 'WAN1_GW', interface: 'wan', gateway: '203.0.113.1', monitor: '9.9.9.9', descr: 'FAI principal' });
  await gui('POST', 'routing/gateway', { name: 'WAN2_GW', interface: 'opt2', gateway: '198.51.100.1', monitor: '1.1.1.1', descr: 'FAI secours' });
  await gui('POST', 'routing/gateway/group', {
    name: 'WAN_FAILOVER', trigger: 'down', descr: 'Bascule double WAN',
    priorities: [{ gateway: 'WAN1_GW', tier: 1, virtual_ip: 'address' }, { gateway: 'WAN2_GW', tier: 2, virtual_ip: 'address' }],
  });
  await gui('POST', 'firewall/rule', {
    type: 'pass', interface: ['lan'], ipprotocol: 'inet', source: 'lan', destination: 'any', descr: 'Default allow LAN to any rule',
  });
  await gui('POST', 'firewall/rule', {
    type: 'pass', interface: ['opt1'], ipprotocol: 'inet', protocol: 'udp', source: 'opt1', destination: '172.16.50.1', destination_port: '53',
    descr: 'GUI: DMZ DNS resolver',
  });
  const ca = await gui('POST', 'system/certificate_authority/generate', {
    descr: SEED_NAMES.ca, keytype: 'ECDSA', ecname: 'prime256v1', digest_alg: 'sha256', lifetime: 3650,
    dn_commonname: 'COD Road Warrior CA', dn_country: 'FR', dn_organization: 'COD',
  });
  const serverCert = await gui('POST', 'system/certificate/generate', {
    descr: SEED_NAMES.serverCert, caref: ca.refid, keytype: 'ECDSA', ecname: 'prime256v1', digest_alg: 'sha256', lifetime: 825,
    dn_commonname: 'vpn.cod.example', type: 'server', dn_dns_sans: ['vpn.cod.example'],
  });
  const crl = await gui('POST', 'system/crl', { descr: SEED_NAMES.crl, caref: ca.refid, method: 'internal', lifetime: 730 });
  await gui('POST', 'system/auth_server', {
    type: 'ldap', name: SEED_NAMES.ldap, host: '192.168.10.10', ldap_port: '636', ldap_urltype: 'encrypted',
    ldap_basedn: 'DC=cod,DC=example', ldap_authcn: 'CN=Users,DC=cod,DC=example', ldap_attr_user: 'samAccountName',
    ldap_binddn: 'CN=svc-pfsense,CN=Users,DC=cod,DC=example', ldap_bindpw: 'seed-bind-password',
  });
  await gui('POST', 'vpn/openvpn/server', {
    description: SEED_NAMES.openvpnServer, mode: 'server_tls_user', authmode: [SEED_NAMES.ldap], dev_mode: 'tun', protocol: 'UDP4',
    interface: 'wan', local_port: '1194', caref: ca.refid, certref: serverCert.refid, crlref: crl.refid, dh_length: 'none',
    ecdh_curve: 'prime256v1', use_tls: true, tls_type: 'crypt', data_ciphers: ['AES-256-GCM', 'CHACHA20-POLY1305'],
    data_ciphers_fallback: 'AES-256-CBC', digest: 'SHA256', tunnel_network: '10.8.0.0/24', local_network: ['192.168.10.0/24'],
    topology: 'subnet',
  });
  await gui('POST', 'vpn/openvpn/client_export/config', { server: 1, useaddr: 'serveraddr', bindmode: 'nobind' });
  // Installed and applied from the GUI: nothing pending.
  emu.reloadFilter(true);
}

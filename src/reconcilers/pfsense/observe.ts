// Reads pfSense in bulk (one list call per collection) and maps the wire objects to the live model. No writes.
import { X509Certificate } from 'node:crypto';
import type { PfSenseClient } from './client.ts';
import type { LiveAlias, LiveCertificate, LiveCrl, LiveOpenVpnServer, LiveOverride, LivePfSense, LivePortForward, LiveRule } from './model.ts';

type Wire = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strOrNull = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

export function toLiveRule(r: Wire): LiveRule {
  return {
    id: r.id as number,
    type: str(r.type),
    interface: strs(r.interface),
    ipprotocol: str(r.ipprotocol),
    protocol: strOrNull(r.protocol),
    source: str(r.source),
    destination: str(r.destination),
    destination_port: strOrNull(r.destination_port),
    descr: str(r.descr),
    disabled: r.disabled === true,
    log: r.log === true,
    gateway: strOrNull(r.gateway),
    tracker: typeof r.tracker === 'number' ? r.tracker : null,
    associated_rule_id: strOrNull(r.associated_rule_id),
  };
}

export function toLiveAlias(a: Wire): LiveAlias {
  return { id: a.id as number, name: str(a.name), type: str(a.type), descr: str(a.descr), address: strs(a.address) };
}

export function toLivePortForward(p: Wire): LivePortForward {
  return {
    id: p.id as number,
    interface: str(p.interface),
    protocol: str(p.protocol),
    source: str(p.source),
    destination: str(p.destination),
    destination_port: strOrNull(p.destination_port),
    target: str(p.target),
    local_port: strOrNull(p.local_port),
    descr: str(p.descr),
    disabled: p.disabled === true,
    associated_rule_id: str(p.associated_rule_id),
  };
}

export function toLiveOverride(c: Wire): LiveOverride {
  return {
    id: c.id as number,
    common_name: str(c.common_name),
    description: str(c.description),
    disable: c.disable === true,
    server_list: strs(c.server_list),
    tunnel_network: str(c.tunnel_network),
    local_network: strs(c.local_network),
  };
}

/** What a PEM says, by its text: a certificate never changes, so each is parsed once per process (bounded). */
const parsed = new Map<string, Pick<LiveCertificate, 'commonName' | 'serial' | 'validFrom' | 'validTo'>>();
const PARSED_MAX = 20_000;

function certificateFacts(pem: string): Pick<LiveCertificate, 'commonName' | 'serial' | 'validFrom' | 'validTo'> {
  const hit = parsed.get(pem);
  if (hit) return hit;
  const x = new X509Certificate(pem);
  const cn = (/(?:^|\n)CN=([^\n]*)/.exec(x.subject)?.[1] ?? '').replace(/\\(.)/g, '$1');
  const facts = { commonName: cn, serial: x.serialNumber.toUpperCase(), validFrom: x.validFrom, validTo: x.validTo };
  if (parsed.size >= PARSED_MAX) parsed.clear();
  parsed.set(pem, facts);
  return facts;
}

function toLiveCertificate(c: Wire): LiveCertificate | undefined {
  try {
    return { id: c.id as number, refid: str(c.refid), descr: str(c.descr), caref: str(c.caref), ...certificateFacts(str(c.crt)) };
  } catch {
    // A certificate pfSense holds but node cannot parse is not one infrasec issued; leave it out.
    return undefined;
  }
}

function toLiveCrl(c: Wire): LiveCrl {
  const revoked = Array.isArray(c.cert) ? (c.cert as Wire[]) : [];
  return {
    id: c.id as number,
    refid: str(c.refid),
    caref: str(c.caref),
    descr: str(c.descr),
    revokedSerials: new Set(revoked.map((r) => str(r.serial).toUpperCase()).filter((s) => s !== '')),
    revokedCertrefs: new Set(revoked.map((r) => str(r.certref)).filter((s) => s !== '')),
  };
}

function toLiveServer(s: Wire): LiveOpenVpnServer {
  return {
    id: s.id as number,
    vpnid: s.vpnid as number,
    vpnif: str(s.vpnif),
    description: str(s.description),
    mode: str(s.mode),
    authmode: strs(s.authmode),
    caref: str(s.caref),
    crlref: str(s.crlref),
    tunnel_network: str(s.tunnel_network),
  };
}

/** Which collections to read: the VPN ones only when some VpnProfile or owned VPN object may exist. */
export interface ObserveScope {
  readonly vpn: boolean;
}

export interface ApplyMemory {
  readonly stalePending: readonly string[];
  readonly applyOwed: boolean;
}

export async function observePfSense(client: PfSenseClient, scope: ObserveScope, memory: ApplyMemory, signal: AbortSignal, now: () => Date): Promise<LivePfSense> {
  const list = (path: string) => client.get<Wire[]>(path, undefined, signal);
  const none = Promise.resolve([] as Wire[]);
  const [aliases, rules, nat, gateways, groups, apply, servers, certs, crls, csos, authServers] = await Promise.all([
    list('firewall/aliases'),
    list('firewall/rules'),
    list('firewall/nat/port_forwards'),
    list('routing/gateways'),
    list('routing/gateway/groups'),
    client.get<{ pending_subsystems?: unknown }>('firewall/apply', undefined, signal),
    scope.vpn ? list('vpn/openvpn/servers') : none,
    scope.vpn ? list('system/certificates') : none,
    scope.vpn ? list('system/crls') : none,
    scope.vpn ? list('vpn/openvpn/csos') : none,
    scope.vpn ? list('system/auth_servers') : none,
  ]);
  return {
    aliases: aliases.map(toLiveAlias),
    rules: rules.map(toLiveRule),
    portForwards: nat.map(toLivePortForward),
    gateways: new Set([...gateways, ...groups].map((g) => str(g.name))),
    servers: servers.map(toLiveServer),
    certificates: certs.map(toLiveCertificate).filter((c): c is LiveCertificate => c !== undefined),
    crls: crls.map(toLiveCrl),
    overrides: csos.map(toLiveOverride),
    authServers: authServers.map((a) => ({ name: str(a.name), type: str(a.type) })),
    pending: strs(apply.pending_subsystems),
    stalePending: memory.stalePending,
    applyOwed: memory.applyOwed,
    observedAt: now().toISOString(),
  };
}

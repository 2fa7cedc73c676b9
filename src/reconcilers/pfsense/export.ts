// The client export of one VPN profile: the inline .ovpn for its current certificate, held as a Secret (it carries the key).
import { Secret, sha256Hex } from '../../desired/secret.ts';
import { ApplyError } from '../../errors.ts';
import type { PfSenseClient } from './client.ts';
import { parseMarker } from './model.ts';

type Wire = Record<string, unknown>;

export async function exportProfile(client: PfSenseClient, instance: string, profile: string, serverName: string, signal: AbortSignal): Promise<Secret> {
  const [servers, certs, crls, configs] = await Promise.all([
    client.get<Wire[]>('vpn/openvpn/servers', undefined, signal),
    client.get<Wire[]>('system/certificates', undefined, signal),
    client.get<Wire[]>('system/crls', undefined, signal),
    client.get<Wire[]>('vpn/openvpn/client_export/configs', undefined, signal),
  ]);
  const server = servers.find((s) => s.description === serverName);
  if (!server) throw new ApplyError(`VpnProfile/${profile}: OpenVPN server "${serverName}" does not exist`, { profile });
  const revoked = new Set(crls.flatMap((c) => ((c.cert as Wire[] | undefined) ?? []).map((r) => String(r.certref))));
  const cert = certs.filter((c) => {
    const m = parseMarker(String(c.descr ?? ''));
    return m?.instance === instance && m.name === profile && c.caref === server.caref && !revoked.has(String(c.refid));
  }).at(-1);
  if (!cert) throw new ApplyError(`VpnProfile/${profile}: no valid certificate to export`, { profile });
  const config = configs.find((c) => c.server === server.vpnid);
  if (!config) throw new ApplyError(`VpnProfile/${profile}: server "${serverName}" has no client export configuration (VPN > OpenVPN > Client Export)`, { profile });
  // A POST that stores nothing: pfSense builds the file per call.
  const out = await client.write<{ binary_data?: string }>('POST', 'vpn/openvpn/client_export', { id: config.id as number, type: 'confinline', certref: String(cert.refid) }, signal);
  if (typeof out.binary_data !== 'string' || !out.binary_data.includes('<cert>')) throw new ApplyError(`VpnProfile/${profile}: the export holds no certificate`, { profile });
  return new Secret(out.binary_data, 'generated', sha256Hex(`ovpn:${instance}:${profile}:${String(cert.refid)}`));
}

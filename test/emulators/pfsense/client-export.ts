// POST /vpn/openvpn/client_export: builds the inline .ovpn the openvpn-client-export package would (section 12).
import { ApiError } from './envelope.js';
import { certificateFacts } from './pki.js';
import type { WriteContext } from './fields.js';
import type { Obj } from './state.js';

const TYPES = ['confinline', 'confzip', 'confinlinedroid', 'confinlineconnect', 'confinlinevisc', 'visc', 'inst-Win10', 'inst-Win7', 'inst-x86-previous', 'inst-x64-previous'];
const INLINE = new Set(['confinline', 'confinlinedroid', 'confinlineconnect', 'confinlinevisc']);

function quoteOvpn(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function remoteProto(protocol: string): string {
  const p = protocol.toLowerCase();
  return p.startsWith('tcp') ? `${p}-client` : p;
}

export function renderOvpn(server: Obj, exportConfig: Obj, ca: Obj, cert: Obj | undefined, host: string): string {
  const userAuth = String(server.mode).endsWith('_user') || server.mode === 'server_user';
  const lines = [
    'persist-tun',
    'persist-key',
    `data-ciphers ${(server.data_ciphers as string[]).join(':')}`,
    `data-ciphers-fallback ${String(server.data_ciphers_fallback)}`,
    `auth ${String(server.digest)}`,
    'tls-client',
    'client',
    'resolv-retry infinite',
    `remote ${host} ${String(server.local_port)} ${remoteProto(String(server.protocol))}`,
    exportConfig.blockoutsidedns ? 'setenv opt block-outside-dns' : '',
    exportConfig.bindmode === 'nobind' ? 'nobind' : 'lport 0',
    `verify-x509-name ${quoteOvpn(String(server.__servercn ?? ''))} name`,
    userAuth ? 'auth-user-pass' : '',
    'remote-cert-tls server',
    String(server.protocol).startsWith('UDP') ? 'explicit-exit-notify' : '',
    String(exportConfig.advancedoptions ?? ''),
    `<ca>\n${String(ca.crt).trim()}\n</ca>`,
    cert ? `<cert>\n${String(cert.crt).trim()}\n</cert>` : '',
    cert ? `<key>\n${String(cert.prv).trim()}\n</key>` : '',
  ];
  if (server.use_tls && server.tls) {
    if (server.tls_type === 'crypt') lines.push(`<tls-crypt>\n${String(server.tls).trim()}\n</tls-crypt>`);
    else lines.push('key-direction 1', `<tls-auth>\n${String(server.tls).trim()}\n</tls-auth>`);
  }
  return lines.filter((l) => l !== '').join('\n') + '\n';
}

export async function clientExport(body: Obj, ctx: WriteContext, accept: string): Promise<{ data: unknown }> {
  const state = ctx.state;
  // The export id is a reference to an export config, checked before the package (errata 5).
  const id = body.id;
  if (id === undefined || id === null) throw new ApiError(400, 'MODEL_REQUIRES_ID', 'Field `id` is required.');
  if (!Number.isInteger(id)) throw new ApiError(400, 'FIELD_INVALID_TYPE', 'Field `id` must be of type `integer`.');
  const config = state.exportConfigs[id as number];
  if (!config) throw new ApiError(404, 'MODEL_OBJECT_NOT_FOUND', `Object with ID \`${String(id)}\` does not exist.`);
  if (!state.packages.has('openvpn-client-export')) {
    throw new ApiError(404, 'MODEL_MISSING_REQUIRED_PACKAGE', 'The pfSense-pkg-openvpn-client-export package is required.');
  }
  const type = body.type;
  if (type === undefined) throw new ApiError(400, 'FIELD_IS_REQUIRED', 'Field `type` is required.');
  if (typeof type !== 'string' || !TYPES.includes(type)) throw new ApiError(400, 'FIELD_INVALID_CHOICE', `Field \`type\` must be one of [${TYPES.join(', ')}].`);
  const server = state.openvpnServers.find((s) => s.vpnid === config.server);
  if (!server) throw new ApiError(404, 'FOREIGN_MODEL_FIELD_VALUE_NOT_FOUND', 'The export configuration names no existing server.');
  const needsCert = server.mode === 'server_tls' || server.mode === 'server_tls_user';
  let cert: Obj | undefined;
  if (needsCert) {
    if (!body.certref) throw new ApiError(400, 'FIELD_IS_REQUIRED', 'Field `certref` is required.');
    cert = state.certs.find((c) => c.refid === body.certref);
    if (!cert) throw new ApiError(404, 'FOREIGN_MODEL_FIELD_VALUE_NOT_FOUND', `Field \`certref\` could not locate a certificate with refid \`${String(body.certref)}\`.`);
    if (!cert.prv) throw new ApiError(400, 'OPENVPN_CLIENT_EXPORT_CERTIFICATE_HAS_NO_KEY', 'Field `certref` names a certificate with no private key.');
    if (body.username !== undefined) {
      const u = state.users.find((x) => x.name === body.username);
      if (!u || !(u.cert as string[]).includes(cert.refid as string)) {
        throw new ApiError(400, 'OPENVPN_CLIENT_EXPORT_CERTIFICATE_NOT_OWNED_BY_USER', 'Field `certref` is not one of the user`s certificates.');
      }
    }
  }
  const authLocalOnly = (server.authmode as string[] | null)?.length === 1 && (server.authmode as string[])[0] === 'Local Database';
  if (server.mode === 'server_user' && authLocalOnly && !body.username) throw new ApiError(400, 'FIELD_IS_REQUIRED', 'Field `username` is required.');
  if (INLINE.has(type) && accept === 'application/octet-stream') {
    throw new ApiError(406, 'BINARY_CONTENT_HANDLER_RESOURCE_NOT_SUPPORTED', 'This resource does not support binary content.');
  }
  if (!INLINE.has(type)) {
    throw new ApiError(424, 'OPENVPN_CLIENT_EXPORT_TYPE_NOT_EMULATED', `The emulator only builds inline exports, not \`${type}\`.`);
  }
  const ca = state.cas.find((c) => c.refid === server.caref);
  if (!ca) throw new ApiError(404, 'FOREIGN_MODEL_FIELD_VALUE_NOT_FOUND', 'The server`s CA does not exist.');
  const serverCert = state.certs.find((c) => c.refid === server.certref);
  const serverCn = serverCert ? certificateFacts(serverCert.crt as string).commonName : '';
  const iface = state.interfaces.find((i) => i.id === server.interface);
  const host = config.useaddr === 'other' ? String(config.useaddr_hostname) : (iface?.ipaddr ?? state.publicHost);
  const text = renderOvpn({ ...server, __servercn: serverCn }, config, ca, cert, host);
  return { data: { filename: null, binary_data: text } };
}

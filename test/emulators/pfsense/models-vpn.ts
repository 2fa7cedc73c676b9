// Certificate authorities, certificates, CRLs, users, LDAP auth servers, OpenVPN servers, CSOs, export configs.
import { randomBytes } from 'node:crypto';
import { ApiError } from './envelope.js';
import { type Field, type WriteContext, interfaceFromWire, interfaceToWire, isCidr } from './fields.js';
import type { Model } from './model.js';
import { buildCrl, certificateFacts, generateCa, generateOpenVpnStaticKey, issueCertificate, keyMatches, opensslSubject, type KeySpec } from './pki.js';
import type { EmulatorState, Obj } from './state.js';

/** pfSense refids come from uniqid(): 13 hex characters. */
export const newRefid = (): string => randomBytes(7).toString('hex').slice(0, 13);

const DESCR_FORBIDDEN = /[?><&/\\"']/;
const descrField = (required: boolean): Field => ({
  name: 'descr', type: 'string', required, default: '',
  validate: (v) => {
    if (DESCR_FORBIDDEN.test(v as string)) throw new ApiError(400, 'REGEX_VALIDATOR_FAILED', 'Field `descr` contains a forbidden character.');
  },
});

const keyFields: Field[] = [
  { name: 'keytype', type: 'string', default: 'RSA', choices: ['RSA', 'ECDSA'] },
  { name: 'keylen', type: 'int', default: 2048, condition: (o) => o.keytype === 'RSA', validate: (v) => {
    if (![1024, 2048, 3072, 4096, 6144, 7680, 8192, 15360, 16384].includes(v as number)) throw new ApiError(400, 'FIELD_INVALID_CHOICE', 'Field `keylen` is not a valid key length.');
  } },
  { name: 'ecname', type: 'string', default: 'prime256v1', condition: (o) => o.keytype === 'ECDSA', choices: ['prime256v1', 'secp384r1', 'secp521r1'] },
  { name: 'digest_alg', type: 'string', default: 'sha256', choices: ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'] },
  { name: 'lifetime', type: 'int', default: 3650, validate: (v) => {
    if ((v as number) < 1 || (v as number) > 12000) throw new ApiError(400, 'NUMERIC_RANGE_VALIDATOR_EXCEEDS_MAXIMUM', 'Field `lifetime` must be between 1 and 12000.');
  } },
];
const dnFields: Field[] = ['dn_country', 'dn_state', 'dn_city', 'dn_organization', 'dn_organizationalunit'].map((name) => ({ name, type: 'string', default: '' }));

function keySpec(o: Obj): KeySpec {
  return { keytype: o.keytype as 'RSA' | 'ECDSA', keylen: (o.keylen as number) ?? 2048, ecname: (o.ecname as string) ?? 'prime256v1', digest: o.digest_alg as string };
}

function dn(o: Obj): Record<string, string> {
  return {
    C: o.dn_country as string, ST: o.dn_state as string, L: o.dn_city as string, O: o.dn_organization as string,
    OU: o.dn_organizationalunit as string, CN: o.dn_commonname as string,
  };
}

const GENERATE_ONLY = ['keytype', 'keylen', 'ecname', 'digest_alg', 'lifetime', 'dn_commonname', 'dn_country', 'dn_state', 'dn_city',
  'dn_organization', 'dn_organizationalunit', 'dn_dns_sans', 'dn_email_sans', 'dn_ip_sans', 'dn_uri_sans', 'is_intermediate'];

function certToWire(o: Obj): Obj {
  const out: Obj = { ...o };
  for (const k of GENERATE_ONLY) delete out[k];
  return out;
}

function findCa(state: EmulatorState, refid: unknown): Obj | undefined {
  return state.cas.find((c) => c.refid === refid);
}

const caExists = (field: string) => (v: unknown, _o: Obj, ctx: WriteContext) => {
  if (!findCa(ctx.state, v)) throw new ApiError(404, 'FOREIGN_MODEL_FIELD_VALUE_NOT_FOUND', `Field \`${field}\` could not locate a certificate authority with refid \`${String(v)}\`.`);
};
const certExists = (field: string) => (v: unknown, _o: Obj, ctx: WriteContext) => {
  if (!ctx.state.certs.some((c) => c.refid === v)) throw new ApiError(404, 'FOREIGN_MODEL_FIELD_VALUE_NOT_FOUND', `Field \`${field}\` could not locate a certificate with refid \`${String(v)}\`.`);
};

function caInUse(state: EmulatorState, refid: unknown): boolean {
  return state.certs.some((c) => c.caref === refid) || state.cas.some((c) => c.caref === refid) || state.crls.some((c) => c.caref === refid);
}

export const caModel: Model = {
  name: 'CertificateAuthority',
  list: (s) => s.cas,
  fields: [
    descrField(true),
    { name: 'trust', type: 'bool', default: false },
    { name: 'randomserial', type: 'bool', default: false },
    { name: 'serial', type: 'int', default: 1 },
    { name: 'crt', type: 'string', required: true, validate: (v) => {
      try { certificateFacts(v as string); } catch { throw new ApiError(400, 'CERTIFICATE_AUTHORITY_INVALID_CRT', 'Field `crt` must be a PEM certificate.'); }
    } },
    { name: 'prv', type: 'string', nullable: true, validate: (v, o) => {
      if (!keyMatches(o.crt as string, v as string)) throw new ApiError(400, 'CERTIFICATE_AUTHORITY_KEY_MISMATCH', 'Field `prv` does not match field `crt`.');
    } },
    { name: 'refid', type: 'string', readOnly: true },
  ],
  singular: ['GET', 'POST', 'PATCH', 'DELETE'],
  plural: ['GET', 'DELETE'],
  toWire: certToWire,
  beforeCreate: (o) => { o.refid = newRefid(); },
  beforeDelete: (o, ctx) => {
    // Only certificates, sub-CAs and CRLs block it: an OpenVPN server's caref does not (errata 11).
    if (caInUse(ctx.state, o.refid)) throw new ApiError(403, 'CERTIFICATE_AUTHORITY_CANNOT_BE_DELETED_WHILE_IN_USE', 'Certificate authority is in use.');
  },
};

export const caGenerateModel: Model = {
  name: 'CertificateAuthorityGenerate',
  list: (s) => s.cas,
  fields: [
    descrField(true),
    { name: 'trust', type: 'bool', default: false },
    { name: 'randomserial', type: 'bool', default: false },
    { name: 'is_intermediate', type: 'bool', default: false },
    { name: 'caref', type: 'string', nullable: true, required: (o) => o.is_intermediate === true, condition: (o) => o.is_intermediate === true, validate: caExists('caref') },
    ...keyFields,
    { name: 'dn_commonname', type: 'string', default: 'internal-ca' },
    ...dnFields,
    { name: 'refid', type: 'string', readOnly: true },
  ],
  singular: ['POST'],
  plural: [],
  toWire: certToWire,
  beforeCreate: async (o, ctx) => {
    const parent = o.is_intermediate ? findCa(ctx.state, o.caref) : undefined;
    const pem = parent
      ? await issueCertificate({ ca: { crt: parent.crt as string, prv: parent.prv as string }, dn: dn(o), lifetimeDays: o.lifetime as number, key: keySpec(o), type: 'server' })
      : await generateCa({ dn: dn(o), lifetimeDays: o.lifetime as number, key: keySpec(o) });
    Object.assign(o, { refid: newRefid(), crt: pem.crt, prv: pem.prv, serial: 1 });
  },
};

function certInUse(state: EmulatorState, refid: unknown): boolean {
  return state.openvpnServers.some((s) => s.certref === refid) || state.users.some((u) => (u.cert as string[]).includes(refid as string));
}

export const certModel: Model = {
  name: 'Certificate',
  list: (s) => s.certs,
  fields: [
    { name: 'refid', type: 'string', readOnly: true },
    descrField(true),
    { name: 'type', type: 'string', default: 'server', choices: ['server', 'user'] },
    { name: 'crt', type: 'string', required: true, validate: (v) => {
      try { certificateFacts(v as string); } catch { throw new ApiError(400, 'CERTIFICATE_INVALID_CRT', 'Field `crt` must be a PEM certificate.'); }
    } },
    { name: 'prv', type: 'string', required: true, validate: (v, o) => {
      if (!keyMatches(o.crt as string, v as string)) throw new ApiError(400, 'CERTIFICATE_KEY_MISMATCH', 'Field `prv` does not match field `crt`.');
    } },
    { name: 'csr', type: 'string', readOnly: true },
    { name: 'caref', type: 'string', readOnly: true },
  ],
  singular: ['GET', 'POST', 'PATCH', 'DELETE'],
  plural: ['GET', 'DELETE'],
  toWire: certToWire,
  beforeCreate: (o, ctx) => {
    o.refid = newRefid();
    const issuer = certificateFacts(o.crt as string).issuer;
    o.caref = ctx.state.cas.find((c) => certificateFacts(c.crt as string).subject === issuer)?.refid ?? '';
    o.csr = '';
  },
  beforeDelete: (o, ctx) => {
    if (certInUse(ctx.state, o.refid)) throw new ApiError(403, 'CERTIFICATE_CANNOT_BE_DELETED_WHILE_IN_USE', 'Certificate is in use.');
  },
};

export const certGenerateModel: Model = {
  name: 'CertificateGenerate',
  list: (s) => s.certs,
  fields: [
    descrField(true),
    { name: 'caref', type: 'string', required: true, validate: caExists('caref') },
    ...keyFields,
    { name: 'dn_commonname', type: 'string', required: true },
    ...dnFields,
    { name: 'type', type: 'string', default: 'user', choices: ['server', 'user'] },
    { name: 'dn_dns_sans', type: 'string[]', default: [] },
    { name: 'dn_email_sans', type: 'string[]', default: [] },
    { name: 'dn_ip_sans', type: 'string[]', default: [] },
    { name: 'dn_uri_sans', type: 'string[]', default: [] },
    { name: 'refid', type: 'string', readOnly: true },
  ],
  singular: ['POST'],
  plural: [],
  toWire: certToWire,
  beforeCreate: async (o, ctx) => {
    const ca = findCa(ctx.state, o.caref)!;
    if (!ca.prv) throw new ApiError(500, 'CERTIFICATE_GENERATE_FAILED', 'The certificate authority has no private key.');
    const pem = await issueCertificate({
      ca: { crt: ca.crt as string, prv: ca.prv as string }, dn: dn(o), lifetimeDays: o.lifetime as number, key: keySpec(o),
      type: o.type as 'user' | 'server',
      sans: { dns: o.dn_dns_sans as string[], ip: o.dn_ip_sans as string[], email: o.dn_email_sans as string[], uri: o.dn_uri_sans as string[] },
    });
    Object.assign(o, { refid: newRefid(), crt: pem.crt, prv: pem.prv, csr: '' });
    ca.serial = ((ca.serial as number) ?? 0) + 1;
  },
};

// ---- CRLs ----

async function regenerateCrl(crl: Obj, state: EmulatorState): Promise<void> {
  if (crl.method !== 'internal') return;
  const ca = findCa(state, crl.caref);
  if (!ca?.prv) return;
  const revoked = (crl.cert as Obj[]).map((r) => ({ serial: r.serial as string, revokedAt: new Date((r.revoke_time as number) * 1000), subject: (r.subject as string) || '/CN=unknown' }));
  crl.text = await buildCrl({ ca: { crt: ca.crt as string, prv: ca.prv as string }, revoked, crlNumber: Math.max(1, crl.serial as number), lifetimeDays: crl.lifetime as number });
}

export const crlModel: Model = {
  name: 'CertificateRevocationList',
  list: (s) => s.crls,
  fields: [
    descrField(true),
    { name: 'caref', type: 'string', required: true, validate: caExists('caref') },
    { name: 'method', type: 'string', default: 'internal', choices: ['internal', 'existing'] },
    { name: 'text', type: 'string', default: '', required: (o) => o.method === 'existing' },
    { name: 'serial', type: 'int', default: 0 },
    { name: 'lifetime', type: 'int', default: 730 },
    { name: 'cert', type: 'object[]', readOnly: true },
    { name: 'refid', type: 'string', readOnly: true },
  ],
  singular: ['GET', 'POST', 'PATCH', 'DELETE'],
  plural: ['GET', 'DELETE'],
  beforeCreate: async (o, ctx) => {
    o.refid = newRefid();
    o.cert = [];
    await regenerateCrl(o, ctx.state);
  },
  afterUpdate: async (o, _prev, ctx) => regenerateCrl(o, ctx.state),
  beforeDelete: (o, ctx) => {
    if (ctx.state.openvpnServers.some((s) => s.crlref === o.refid)) {
      throw new ApiError(409, 'MODEL_CANNOT_BE_DELETED_WHILE_REFERENCED', 'CRL is in use by an OpenVPN server.', []);
    }
  },
};

async function bumpCrl(ctx: WriteContext): Promise<void> {
  const crl = (ctx as WriteContext & { parent?: Obj }).parent;
  if (!crl) return;
  crl.serial = ((crl.serial as number) ?? 0) + 1;
  await regenerateCrl(crl, ctx.state);
}

export const revokedCertModel: Model = {
  name: 'CertificateRevocationListRevokedCertificate',
  list: () => [],
  childKey: 'cert',
  parentModel: crlModel,
  fields: [
    { name: 'certref', type: 'string', nullable: true, validate: certExists('certref') },
    { name: 'serial', type: 'string', nullable: true, required: (o) => !o.certref },
    { name: 'reason', type: 'int', default: 0, choices: ['-1', '0', '1', '2', '3', '4', '5', '6', '9', '10'] },
    { name: 'revoke_time', type: 'int', readOnly: true },
  ],
  singular: ['GET', 'POST', 'PATCH', 'DELETE'],
  plural: ['GET'],
  beforeCreate: (o, ctx) => {
    const cert = ctx.state.certs.find((c) => c.refid === o.certref);
    if (cert) {
      o.serial = certificateFacts(cert.crt as string).serial;
      o.subject = opensslSubject(cert.crt as string);
      o.descr = cert.descr;
    }
    o.revoke_time = ctx.now();
  },
  // A revocation (or its removal) bumps the CRL's number and re-signs it (errata 12).
  afterCreate: async (_o, ctx) => bumpCrl(ctx),
  afterDelete: async (_o, ctx) => bumpCrl(ctx),
  toWire: (o) => {
    const { subject: _s, ...rest } = o;
    return rest;
  },
};

// ---- users and auth servers ----

export const userModel: Model = {
  name: 'User',
  list: (s) => s.users,
  fields: [
    { name: 'name', type: 'string', required: true, unique: true, maxLength: 32, validate: (v) => {
      if (!/^[A-Za-z0-9._-]+$/.test(v as string) || ['root', 'daemon', 'operator', 'nobody'].includes(v as string)) {
        throw new ApiError(400, 'USER_NAME_INVALID', 'Field `name` is not a valid user name.');
      }
    } },
    { name: 'password', type: 'string', required: true },
    { name: 'uid', type: 'int', readOnly: true },
    { name: 'scope', type: 'string', readOnly: true },
    { name: 'priv', type: 'string[]', default: [] },
    { name: 'disabled', type: 'bool', default: false },
    { name: 'descr', type: 'string', default: '' },
    { name: 'expires', type: 'string', default: '' },
    { name: 'cert', type: 'string[]', default: [], validate: (v, o, ctx) => { for (const r of v as string[]) certExists('cert')(r, o, ctx); } },
    { name: 'authorizedkeys', type: 'string', default: '' },
    { name: 'ipsecpsk', type: 'string', default: '' },
  ],
  singular: ['GET', 'POST', 'PATCH', 'DELETE'],
  plural: ['GET', 'DELETE'],
  beforeCreate: (o, ctx) => {
    o.scope = 'user';
    o.uid = 2000 + ctx.state.users.length;
  },
  beforeDelete: (o) => {
    if (o.scope === 'system') throw new ApiError(403, 'MODEL_CANNOT_DELETE_PROTECTED_OBJECT', 'System users cannot be deleted.');
  },
};

export const authServerModel: Model = {
  name: 'AuthServer',
  list: (s) => s.authServers,
  fields: [
    { name: 'refid', type: 'string', readOnly: true },
    { name: 'type', type: 'string', required: true, choices: ['ldap', 'radius'] },
    { name: 'name', type: 'string', required: true, unique: true },
    { name: 'host', type: 'string', required: true },
    { name: 'ldap_port', type: 'string', default: '389' },
    { name: 'ldap_urltype', type: 'string', default: 'standard', choices: ['standard', 'starttls', 'encrypted'] },
    { name: 'ldap_protver', type: 'int', default: 3 },
    { name: 'ldap_scope', type: 'string', default: 'subtree', choices: ['one', 'subtree'] },
    { name: 'ldap_basedn', type: 'string', default: '' },
    { name: 'ldap_authcn', type: 'string', default: '' },
    { name: 'ldap_extended_enabled', type: 'bool', default: false },
    { name: 'ldap_extended_query', type: 'string', default: '' },
    { name: 'ldap_attr_user', type: 'string', default: 'samAccountName' },
    { name: 'ldap_attr_group', type: 'string', default: 'cn' },
    { name: 'ldap_attr_member', type: 'string', default: 'memberOf' },
    { name: 'ldap_binddn', type: 'string', default: '' },
    { name: 'ldap_bindpw', type: 'string', default: '' },
    { name: 'ldap_caref', type: 'string', default: '' },
    { name: 'ldap_timeout', type: 'int', default: 25 },
  ],
  singular: ['GET', 'POST', 'PATCH', 'DELETE'],
  plural: ['GET', 'DELETE'],
  beforeCreate: (o) => { o.refid = newRefid(); },
};

// ---- OpenVPN ----

function networkAddress(cidr: string): string {
  const [ip, len] = cidr.split('/');
  const parts = ip!.split('.').map(Number);
  const n = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  const mask = Number(len) === 0 ? 0 : (0xffffffff << (32 - Number(len))) >>> 0;
  const net = (n & mask) >>> 0;
  return `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${len}`;
}

const cidrList = (field: string) => (v: unknown) => {
  for (const c of v as string[]) if (!isCidr(c)) throw new ApiError(400, 'SUBNET_VALIDATOR_FAILED', `Field \`${field}\` must contain subnets, received \`${c}\`.`);
};
const userModes = (o: Obj) => String(o.mode).startsWith('server_user') || o.mode === 'server_tls_user';

export const openvpnServerModel: Model = {
  name: 'OpenVPNServer',
  list: (s) => s.openvpnServers,
  fields: [
    { name: 'vpnid', type: 'int', readOnly: true },
    { name: 'vpnif', type: 'string', readOnly: true },
    { name: 'description', type: 'string', default: '' },
    { name: 'disable', type: 'bool', default: false },
    { name: 'mode', type: 'string', required: true, choices: ['p2p_tls', 'server_tls', 'server_user', 'server_tls_user'] },
    { name: 'authmode', type: 'string[]', default: ['Local Database'], condition: userModes, validate: (v, _o, ctx) => {
      for (const a of v as string[]) {
        if (a !== 'Local Database' && !ctx.state.authServers.some((s) => s.name === a)) {
          throw new ApiError(404, 'FOREIGN_MODEL_FIELD_VALUE_NOT_FOUND', `Field \`authmode\` could not locate authentication server \`${a}\`.`);
        }
      }
    } },
    { name: 'dev_mode', type: 'string', required: true, choices: ['tun', 'tap'] },
    { name: 'protocol', type: 'string', required: true, choices: ['UDP4', 'UDP6', 'UDP', 'TCP4', 'TCP6', 'TCP'] },
    { name: 'interface', type: 'string', required: (o) => o.protocol !== 'UDP' && o.protocol !== 'TCP' },
    { name: 'local_port', type: 'string', default: '1194', unique: true },
    { name: 'caref', type: 'string', required: true, validate: caExists('caref') },
    { name: 'certref', type: 'string', required: true, validate: certExists('certref') },
    { name: 'crlref', type: 'string', default: '', validate: (v, _o, ctx) => {
      if (v !== '' && !ctx.state.crls.some((c) => c.refid === v)) throw new ApiError(404, 'FOREIGN_MODEL_FIELD_VALUE_NOT_FOUND', 'Field `crlref` could not locate a CRL.');
    } },
    { name: 'dh_length', type: 'string', required: true, choices: ['none', '1024', '2048', '3072', '4096', '6144', '7680', '8192', '15360', '16384'] },
    { name: 'ecdh_curve', type: 'string', required: true, choices: ['none', 'prime256v1', 'secp384r1', 'secp521r1'] },
    { name: 'use_tls', type: 'bool', default: false },
    { name: 'tls', type: 'string', nullable: true, condition: (o) => o.use_tls === true },
    { name: 'tls_type', type: 'string', nullable: true, required: (o) => o.use_tls === true, condition: (o) => o.use_tls === true, choices: ['auth', 'crypt'] },
    { name: 'tlsauth_keydir', type: 'string', default: 'default' },
    { name: 'data_ciphers', type: 'string[]', required: true },
    { name: 'data_ciphers_fallback', type: 'string', required: true },
    { name: 'digest', type: 'string', required: true },
    { name: 'cert_depth', type: 'int', default: 1 },
    { name: 'strictusercn', type: 'bool', default: false },
    { name: 'remote_cert_tls', type: 'bool', default: true },
    { name: 'tunnel_network', type: 'string', default: '', validate: (v) => {
      if (v !== '' && !isCidr(v as string)) throw new ApiError(400, 'SUBNET_VALIDATOR_FAILED', 'Field `tunnel_network` must be a subnet.');
    } },
    { name: 'gwredir', type: 'bool', default: false },
    { name: 'local_network', type: 'string[]', default: [], validate: cidrList('local_network') },
    { name: 'remote_network', type: 'string[]', default: [], validate: cidrList('remote_network') },
    { name: 'maxclients', type: 'int', nullable: true },
    { name: 'allow_compression', type: 'string', default: 'no', choices: ['no', 'yes', 'asym'] },
    { name: 'client2client', type: 'bool', default: false },
    { name: 'duplicate_cn', type: 'bool', default: false },
    { name: 'dynamic_ip', type: 'bool', default: false },
    { name: 'topology', type: 'string', default: 'subnet', choices: ['subnet', 'net30'] },
    { name: 'inactive_seconds', type: 'int', default: 300 },
    { name: 'keepalive_interval', type: 'int', default: 10 },
    { name: 'keepalive_timeout', type: 'int', default: 60 },
    { name: 'dns_domain', type: 'string', default: '', condition: userModes },
    { name: 'dns_server1', type: 'string', default: '', condition: userModes },
    { name: 'custom_options', type: 'string[]', default: [] },
    { name: 'username_as_common_name', type: 'bool', default: false },
    { name: 'verbosity_level', type: 'int', default: 1 },
  ],
  singular: ['GET', 'POST', 'PATCH', 'DELETE'],
  plural: ['GET', 'DELETE'],
  fromWire: (body, ctx) => (typeof body.interface === 'string' ? { ...body, interface: interfaceFromWire(ctx.state, body.interface) } : body),
  toWire: (o, state) => ({ ...o, interface: typeof o.interface === 'string' ? interfaceToWire(state, o.interface) : o.interface }),
  validateObject: (o) => {
    // The server's tunnel network is stored as its network address (errata 14).
    if (typeof o.tunnel_network === 'string' && o.tunnel_network !== '') o.tunnel_network = networkAddress(o.tunnel_network);
    if (o.dev_mode === 'tap' && !o.tunnel_network) {
      throw new ApiError(400, 'OPENVPN_SERVER_TAP_MODE_REQUIRES_TUNNEL_NETWORK_OR_BRIDGE_INTERFACE', 'tap mode requires a tunnel network or a bridge interface.');
    }
  },
  beforeCreate: (o, ctx) => {
    const used = new Set(ctx.state.openvpnServers.map((s) => s.vpnid));
    let id = 1;
    while (used.has(id)) id++;
    o.vpnid = id;
    o.vpnif = `ovpns${id}`;
    if (o.use_tls && !o.tls) o.tls = generateOpenVpnStaticKey();
  },
  beforeDelete: (o, ctx) => {
    if (ctx.state.exportConfigs.some((c) => c.server === o.vpnid)) {
      throw new ApiError(409, 'OPENVPN_SERVER_CANNOT_BE_DELETED_WHILE_IN_USE', 'OpenVPN server is in use.');
    }
  },
};

export const csoModel: Model = {
  name: 'OpenVPNClientSpecificOverride',
  list: (s) => s.csos,
  fields: [
    { name: 'common_name', type: 'string', required: true },
    { name: 'disable', type: 'bool', default: false },
    { name: 'block', type: 'bool', default: false },
    { name: 'description', type: 'string', default: '' },
    { name: 'server_list', type: 'string[]', default: [], validate: (v, _o, ctx) => {
      for (const s of v as string[]) {
        if (!ctx.state.openvpnServers.some((x) => x.vpnif === s)) throw new ApiError(404, 'FOREIGN_MODEL_FIELD_VALUE_NOT_FOUND', `Field \`server_list\` could not locate OpenVPN server \`${s}\`.`);
      }
    } },
    { name: 'tunnel_network', type: 'string', default: '', validate: (v) => {
      if (v !== '' && !isCidr(v as string)) throw new ApiError(400, 'SUBNET_VALIDATOR_FAILED', 'Field `tunnel_network` must be a subnet.');
    } },
    { name: 'tunnel_networkv6', type: 'string', default: '' },
    { name: 'local_network', type: 'string[]', default: [], validate: cidrList('local_network') },
    { name: 'local_networkv6', type: 'string[]', default: [] },
    { name: 'remote_network', type: 'string[]', default: [], validate: cidrList('remote_network') },
    { name: 'remote_networkv6', type: 'string[]', default: [] },
    { name: 'gwredir', type: 'bool', default: false },
    { name: 'push_reset', type: 'bool', default: false },
    { name: 'remove_options', type: 'string[]', default: [], condition: (o) => o.push_reset !== true },
    { name: 'dns_domain', type: 'string', default: '' },
    { name: 'dns_server1', type: 'string', default: '' },
    { name: 'dns_server2', type: 'string', default: '' },
    { name: 'netbios_enable', type: 'bool', default: false },
    { name: 'custom_options', type: 'string[]', default: [] },
  ],
  singular: ['GET', 'POST', 'PATCH', 'DELETE'],
  plural: ['GET', 'DELETE'],
};

export const exportConfigModel: Model = {
  name: 'OpenVPNClientExportConfig',
  list: (s) => s.exportConfigs,
  fields: [
    { name: 'server', type: 'int', required: true, validate: (v, _o, ctx) => {
      const s = ctx.state.openvpnServers.find((x) => x.vpnid === v);
      if (!s) throw new ApiError(404, 'FOREIGN_MODEL_FIELD_VALUE_NOT_FOUND', `Field \`server\` could not locate OpenVPN server \`${String(v)}\`.`);
      if (s.disable || !String(s.mode).startsWith('server_')) throw new ApiError(400, 'OPENVPN_CLIENT_EXPORT_SERVER_NOT_ELIGIBLE', 'Field `server` must be an enabled server mode OpenVPN server.');
    } },
    { name: 'useaddr', type: 'string', default: 'serveraddr', choices: ['serveraddr', 'servermagic', 'servermagichost', 'serverhostname', 'other'] },
    { name: 'useaddr_hostname', type: 'string', nullable: true, required: (o) => o.useaddr === 'other', condition: (o) => o.useaddr === 'other' },
    { name: 'verifyservercn', type: 'string', default: 'auto' },
    { name: 'blockoutsidedns', type: 'bool', default: false },
    { name: 'legacy', type: 'bool', default: false },
    { name: 'silent', type: 'bool', default: false },
    { name: 'bindmode', type: 'string', default: 'nobind', choices: ['nobind', 'lport0', 'bind'] },
    { name: 'usepass', type: 'bool', default: false },
    { name: 'pass', type: 'string', nullable: true, condition: (o) => o.usepass === true },
    { name: 'p12encryption', type: 'string', default: 'high', choices: ['high', 'low', 'legacy'] },
    { name: 'advancedoptions', type: 'string', default: '' },
  ],
  singular: ['GET', 'POST', 'PATCH', 'DELETE'],
  plural: ['GET', 'PUT', 'DELETE'],
};

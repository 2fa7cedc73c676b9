// Pure: checks that go beyond one document's schema: references resolve, numbers and addresses are unique and consistent.
import { formatPath, type Diagnostic } from './diagnostic.ts';
import type { AnyResource, DesiredState, Endpoint, Kind } from './model.ts';
import { didYouMean, Suggester } from './suggest.ts';

type Path = ReadonlyArray<string | number>;

export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255) || m.slice(1).some((o) => o.length > 1 && o.startsWith('0'))) return undefined;
  return ((octets[0]! << 24) >>> 0) + (octets[1]! << 16) + (octets[2]! << 8) + octets[3]!;
}

export interface Cidr {
  readonly network: number;
  readonly prefix: number;
}

/** Parses `a.b.c.d/n`; returns a reason string when invalid. */
export function parseCidr(text: string): Cidr | string {
  const [addr, len, extra] = text.split('/');
  if (extra !== undefined || addr === undefined || len === undefined || !/^\d{1,2}$/.test(len)) return 'must be a.b.c.d/n';
  const ip = parseIpv4(addr);
  if (ip === undefined) return `"${addr}" is not a valid IPv4 address`;
  const prefix = Number(len);
  if (prefix > 32) return 'prefix length must be 0-32';
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  if (((ip & mask) >>> 0) !== ip) return `host bits are set; did you mean ${formatIpv4((ip & mask) >>> 0)}/${prefix}?`;
  return { network: ip, prefix };
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

export function cidrContains(c: Cidr, ip: number): boolean {
  const mask = c.prefix === 0 ? 0 : (~0 << (32 - c.prefix)) >>> 0;
  return ((ip & mask) >>> 0) === c.network;
}

/** `443`, `10000:20000` or `10000-20000`; returns a reason when invalid. */
export function checkPort(text: string): string | undefined {
  // Shape first: Number() alone takes ' 80', '1e3', '0x50', and a split takes '80:90:100' (alias entries allow ':' freely).
  if (!/^\d{1,5}([:-]\d{1,5})?$/.test(text)) return 'must be a port or a range low:high';
  const parts = text.split(/[:-]/).map(Number);
  if (parts.some((p) => p < 1 || p > 65535)) return 'ports must be 1-65535';
  if (parts.length === 2 && parts[0]! > parts[1]!) return 'port range must be low:high';
  return undefined;
}

/** `Date.parse` rolls 2026-02-30 over to March 2nd; a real date must come back with the same day and month. */
function isRealDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!m || Number.isNaN(Date.parse(text))) return false;
  const day = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return day.getUTCMonth() === Number(m[2]) - 1 && day.getUTCDate() === Number(m[3]);
}

export interface ReferenceOptions {
  /**
   * `Kind/name` of objects written but refused (a syntax or schema error, reported at the object): a reference to one is
   * not reported missing, so the object's own error is the one finding instead of one more per dependant.
   */
  readonly broken?: ReadonlySet<string>;
}

export function checkReferences(state: DesiredState, opts: ReferenceOptions = {}): Diagnostic[] {
  const out: Diagnostic[] = [];
  const broken = opts.broken ?? new Set<string>();
  const report = (r: AnyResource, path: Path, code: string, message: string) => {
    const { line, col } = r.source.at(path);
    out.push({ file: r.source.file, line, col, path: formatPath(path), code, message, severity: 'error' });
  };
  // One suggester for the whole state: its budget bounds the comparisons of many unknown names against many known ones.
  const suggester = new Suggester();
  const names: Record<'User' | 'Group' | 'FirewallAlias' | 'MailDomain', ReadonlyMap<string, unknown>> = {
    User: state.users, Group: state.groups, FirewallAlias: state.firewallAliases, MailDomain: state.mailDomains,
  };
  /** A reference to `kind/name` that resolves to nothing: reported with the closest name of that kind, unless the object is only broken. */
  const missing = (r: AnyResource, path: Path, kind: keyof typeof names, name: string, what: string, spelled = (n: string) => n) => {
    if (broken.has(`${kind}/${name}`)) return;
    const close = suggester.closest(name, names[kind].keys());
    report(r, path, kind === 'MailDomain' ? 'mail-domain-undeclared' : 'ref-missing', `${what}${didYouMean(close === undefined ? undefined : spelled(close))}`);
  };
  const checkMailDomain = (r: AnyResource, path: Path, address: string) => {
    const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
    if (!state.mailDomains.has(domain)) missing(r, path, 'MailDomain', domain, `domain "${domain}" is not a declared MailDomain`);
  };

  // Users: groups exist, e-mail and mailbox aliases inside declared domains.
  const addressOwners = new Map<string, string>();
  const claimAddress = (r: AnyResource, path: Path, address: string) => {
    const key = address.toLowerCase();
    const owner = addressOwners.get(key);
    if (owner) report(r, path, 'address-duplicate', `address ${address} is already used by ${owner}`);
    else addressOwners.set(key, `${r.kind}/${r.metadata.name}`);
  };
  for (const u of state.users.values()) {
    u.spec.groups.forEach((g, i) => {
      if (!state.groups.has(g)) missing(u, ['spec', 'groups', i], 'Group', g, `group "${g}" is not defined`);
    });
    if (u.spec.email) {
      checkMailDomain(u, ['spec', 'email'], u.spec.email);
      claimAddress(u, ['spec', 'email'], u.spec.email);
    }
    if (u.spec.mailbox && !u.spec.email) report(u, ['spec', 'mailbox'], 'mailbox-without-email', 'a mailbox needs spec.email');
    u.spec.mailbox?.aliases?.forEach((a, i) => {
      checkMailDomain(u, ['spec', 'mailbox', 'aliases', i], a);
      claimAddress(u, ['spec', 'mailbox', 'aliases', i], a);
    });
    if (u.spec.accountExpires && !isRealDate(u.spec.accountExpires)) {
      report(u, ['spec', 'accountExpires'], 'value-invalid', 'not a real date');
    }
  }

  // Groups: members resolve, no group contains itself, and no group shares a user's name
  // (both become sAMAccountName in Active Directory, which is unique across users and groups).
  for (const g of state.groups.values()) {
    const user = state.users.get(g.metadata.name);
    if (user) report(g, ['metadata', 'name'], 'account-name-collision', `a User is also named "${g.metadata.name}" (${user.source.file}:${user.source.line}); AD account names are unique across users and groups`);
    g.spec.members.forEach((m, i) => {
      const [kind, name] = m.includes('/') ? (m.split('/') as ['User' | 'Group', string]) : (['User', m] as const);
      const exists = kind === 'Group' ? state.groups.has(name) : state.users.has(name);
      const other: Kind = kind === 'Group' ? 'User' : 'Group';
      const path = ['spec', 'members', i];
      const notDefined = `${kind.toLowerCase()} "${name}" is not defined`;
      // A bare name is a user; written for a group of that name (or the other way round), the fix is the other prefix.
      if (!exists && !broken.has(`${kind}/${name}`) && (names[other].has(name) || broken.has(`${other}/${name}`))) {
        report(g, path, 'ref-missing', `${notDefined}, but a ${other.toLowerCase()} of that name is${didYouMean(`${other}/${name}`)}`);
      } else if (!exists) missing(g, path, kind, name, notDefined, (n) => (m.includes('/') ? `${kind}/${n}` : n));
      else if (kind === 'Group' && name === g.metadata.name) report(g, path, 'ref-cycle', 'a group cannot contain itself');
    });
  }

  // Extensions and conferences share one dial plan: numbers are unique across both.
  const numbers = new Map<string, AnyResource>();
  for (const e of state.extensions.values()) {
    const first = numbers.get(e.spec.number);
    if (first) report(e, ['spec', 'number'], 'number-duplicate', `extension number ${e.spec.number} is already used by ${first.kind}/${first.metadata.name}`);
    else numbers.set(e.spec.number, e);
    if (e.spec.owner && !state.users.has(e.spec.owner)) missing(e, ['spec', 'owner'], 'User', e.spec.owner, `user "${e.spec.owner}" is not defined`);
    if (e.spec.webrtc && e.spec.transport !== 'wss') report(e, ['spec', 'transport'], 'webrtc-transport', 'a WebRTC extension must use transport wss');
    if (!e.spec.webrtc && e.spec.transport === 'wss') report(e, ['spec', 'webrtc'], 'webrtc-transport', 'transport wss is only for WebRTC extensions (set webrtc: true)');
    if (e.spec.voicemail.enabled && !e.spec.voicemail.pin) report(e, ['spec', 'voicemail'], 'field-required', 'voicemail.pin is required when voicemail is enabled');
  }
  for (const c of state.conferences.values()) {
    const first = numbers.get(c.spec.number);
    if (first) report(c, ['spec', 'number'], 'number-collision', `conference number ${c.spec.number} collides with ${first.kind}/${first.metadata.name}`);
    else numbers.set(c.spec.number, c);
  }

  // VPN: user exists, one profile per user, static addresses unique and inside the tunnel network.
  const vpnUsers = new Map<string, string>();
  const vpnAddresses = new Map<string, string>();
  for (const v of state.vpnProfiles.values()) {
    if (!state.users.has(v.spec.user)) missing(v, ['spec', 'user'], 'User', v.spec.user, `user "${v.spec.user}" is not defined`);
    const other = vpnUsers.get(v.spec.user);
    if (other) report(v, ['spec', 'user'], 'vpn-user-duplicate', `user "${v.spec.user}" already has VpnProfile/${other}`);
    else vpnUsers.set(v.spec.user, v.metadata.name);
    const net = parseCidr(v.spec.tunnelNetwork);
    if (typeof net === 'string') report(v, ['spec', 'tunnelNetwork'], 'cidr-invalid', net);
    v.spec.routes.forEach((r, i) => {
      const c = parseCidr(r);
      if (typeof c === 'string') report(v, ['spec', 'routes', i], 'cidr-invalid', c);
    });
    if (v.spec.staticAddress) {
      const ip = parseIpv4(v.spec.staticAddress);
      if (ip === undefined) report(v, ['spec', 'staticAddress'], 'address-invalid', 'not a valid IPv4 address');
      else if (typeof net !== 'string') {
        const size = 2 ** (32 - net.prefix);
        if (!cidrContains(net, ip)) report(v, ['spec', 'staticAddress'], 'address-outside-network', `${v.spec.staticAddress} is outside the tunnel network ${v.spec.tunnelNetwork}`);
        else if (size > 2 && (ip === net.network || ip === net.network + size - 1)) report(v, ['spec', 'staticAddress'], 'address-reserved', `${v.spec.staticAddress} is the network or broadcast address of ${v.spec.tunnelNetwork}`);
        const key = `${v.spec.server}/${v.spec.staticAddress}`;
        const holder = vpnAddresses.get(key);
        if (holder) report(v, ['spec', 'staticAddress'], 'address-duplicate', `${v.spec.staticAddress} is already assigned to VpnProfile/${holder}`);
        else vpnAddresses.set(key, v.metadata.name);
      }
    }
  }

  // Firewall: alias entries match their type, rules reference existing aliases of the right type, ports valid.
  for (const a of state.firewallAliases.values()) {
    a.spec.entries.forEach((entry, i) => {
      const path = ['spec', 'entries', i];
      if (a.spec.type === 'port') {
        const why = checkPort(entry);
        if (why) report(a, path, 'port-invalid', why);
      } else if (a.spec.type === 'host') {
        if (parseIpv4(entry) === undefined) report(a, path, 'address-invalid', `"${entry}" is not a valid IPv4 address`);
      } else {
        const c = parseCidr(entry);
        if (typeof c === 'string') report(a, path, 'cidr-invalid', c);
      }
    });
  }
  const checkEndpoint = (r: AnyResource, path: Path, ep: Endpoint | undefined) => {
    if (!ep) return;
    if (ep.alias !== undefined) {
      const alias = state.firewallAliases.get(ep.alias);
      if (!alias) missing(r, [...path, 'alias'], 'FirewallAlias', ep.alias, `firewall alias "${ep.alias}" is not defined`);
      else if (alias.spec.type === 'port') report(r, [...path, 'alias'], 'alias-type', `alias "${ep.alias}" holds ports, not addresses`);
    }
    if (ep.address !== undefined) {
      const bad = ep.address.includes('/') ? parseCidr(ep.address) : parseIpv4(ep.address) === undefined ? 'not a valid IPv4 address' : undefined;
      if (typeof bad === 'string') report(r, [...path, 'address'], 'address-invalid', bad);
    }
  };
  const orders = new Map<string, string>();
  for (const rule of state.firewallRules.values()) {
    checkEndpoint(rule, ['spec', 'source'], rule.spec.source);
    checkEndpoint(rule, ['spec', 'destination'], rule.spec.destination);
    const portful = rule.spec.protocol === 'tcp' || rule.spec.protocol === 'udp' || rule.spec.protocol === 'tcp/udp';
    if ((rule.spec.ports?.length || rule.spec.portAlias) && !portful) report(rule, ['spec', 'protocol'], 'ports-without-protocol', 'ports need protocol tcp, udp or tcp/udp');
    if (rule.spec.ports?.length && rule.spec.portAlias) report(rule, ['spec', 'portAlias'], 'ports-conflict', 'use either ports or portAlias, not both');
    rule.spec.ports?.forEach((p, i) => {
      const why = checkPort(p);
      if (why) report(rule, ['spec', 'ports', i], 'port-invalid', why);
    });
    if (rule.spec.portAlias) {
      const alias = state.firewallAliases.get(rule.spec.portAlias);
      if (!alias) missing(rule, ['spec', 'portAlias'], 'FirewallAlias', rule.spec.portAlias, `firewall alias "${rule.spec.portAlias}" is not defined`);
      else if (alias.spec.type !== 'port') report(rule, ['spec', 'portAlias'], 'alias-type', `alias "${rule.spec.portAlias}" does not hold ports`);
    }
    const key = `${rule.spec.interface}/${rule.spec.order}`;
    const holder = orders.get(key);
    if (holder) report(rule, ['spec', 'order'], 'order-duplicate', `order ${rule.spec.order} on ${rule.spec.interface} is already used by FirewallRule/${holder}`);
    else orders.set(key, rule.metadata.name);
  }
  for (const pf of state.portForwards.values()) {
    for (const field of ['externalPort', 'targetPort'] as const) {
      const why = checkPort(pf.spec[field]);
      if (why) report(pf, ['spec', field], 'port-invalid', why);
    }
    if (parseIpv4(pf.spec.target) === undefined) report(pf, ['spec', 'target'], 'address-invalid', 'not a valid IPv4 address');
    checkEndpoint(pf, ['spec', 'source'], pf.spec.source);
  }

  // Mail aliases: inside a declared domain, user recipients exist and have a mailbox address.
  for (const m of state.mailAliases.values()) {
    checkMailDomain(m, ['spec', 'address'], m.spec.address);
    claimAddress(m, ['spec', 'address'], m.spec.address);
    m.spec.recipients.forEach((rcpt, i) => {
      if (!rcpt.startsWith('User/')) return;
      const user = state.users.get(rcpt.slice(5));
      if (!user) missing(m, ['spec', 'recipients', i], 'User', rcpt.slice(5), `user "${rcpt.slice(5)}" is not defined`, (n) => `User/${n}`);
      else if (!user.spec.email) report(m, ['spec', 'recipients', i], 'ref-no-mailbox', `user "${rcpt.slice(5)}" has no e-mail address`);
    });
  }
  return out;
}

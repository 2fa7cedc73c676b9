// Pure: diff VpnProfiles against pfSense's OpenVPN server, user certificates, CRL and client-specific overrides. No I/O.
import type { ResolvedState, VpnProfile } from '../../desired/model.ts';
import type { FieldChange, Policy } from '../../engine/types.ts';
import { type LiveCertificate, type LiveOverride, type LivePfSense, OVERRIDE_FIELDS, type OverrideFields, parseMarker, describe } from './model.ts';
import { adoptable, change, diffFields, type PlanContext, type PlanOutput } from './plan-firewall.ts';
import { OVERRIDE_FROM, withFrom, yamlView } from './yaml-view.ts';

const SYSTEM = 'pfsense';
const DAY = 86_400_000;

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, p) => (n << 8) + Number(p), 0) >>> 0;
}

export function insideNetwork(ip: string, cidr: string): boolean {
  const [net, len] = cidr.split('/');
  const bits = Number(len);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((ipToInt(ip) & mask) >>> 0) === ((ipToInt(net!) & mask) >>> 0);
}

export function lifetimeDays(c: LiveCertificate): number {
  return Math.round((Date.parse(c.validTo) - Date.parse(c.validFrom)) / DAY);
}

/** A certificate description: pfSense refuses `/ \ " ' < > & ?` there, which AD account names never hold. */
export function certificateDescr(user: string, instance: string, profile: string): string {
  return describe(`VPN ${user}`, instance, profile);
}

export function planVpn(desired: ResolvedState, live: LivePfSense, policy: Policy, ctx: PlanContext, out: PlanOutput): void {
  const conflict = (kind: string, name: string, message: string) => out.conflicts.push({ system: SYSTEM, kind, name, message });
  // What pfRest cannot express: the profile is applied without it, and nothing on pfSense is in the way. One note per
  // message, naming every profile it concerns, so seven TOTP profiles are one note and not seven.
  const unsupportedBy = new Map<string, string[]>();
  const unsupported = (name: string, message: string) => unsupportedBy.set(message, [...(unsupportedBy.get(message) ?? []), name]);
  /** The changes of a profile's certificate and override are part of the VpnProfile line in a plan. */
  const serves = (name: string) => `VpnProfile/${name}`;
  const mineName = (descr: string) => {
    const m = parseMarker(descr);
    return m && m.instance === ctx.instance ? m.name : undefined;
  };
  const now = Date.parse(live.observedAt);
  const certsOf = new Map<string, LiveCertificate[]>();
  for (const c of live.certificates) {
    const n = mineName(c.descr);
    if (n) certsOf.set(n, [...(certsOf.get(n) ?? []), c]);
  }
  const overridesOf = new Map<string, (typeof live.overrides)[number]>();
  for (const o of live.overrides) {
    const n = mineName(o.description);
    if (n && !overridesOf.has(n)) overridesOf.set(n, o);
  }
  const revokedIn = (crlref: string, c: LiveCertificate) => {
    const crl = live.crls.find((x) => x.refid === crlref);
    return !!crl && (crl.revokedSerials.has(c.serial) || crl.revokedCertrefs.has(c.refid));
  };
  const anyCrlRevokes = (c: LiveCertificate) => live.crls.some((crl) => crl.caref === c.caref && (crl.revokedSerials.has(c.serial) || crl.revokedCertrefs.has(c.refid)));

  /** Revokes every still-valid owned certificate of `name` and removes its override: a leaver. */
  const retire = (name: string, user: string, why: string, pruned: boolean, crlref: string | undefined) => {
    const certs = (certsOf.get(name) ?? []).filter((c) => !anyCrlRevokes(c));
    if (certs.length > 0) {
      const crl = crlref ?? live.servers.find((s) => s.caref === certs[0]!.caref && s.crlref)?.crlref ?? live.crls.find((x) => x.caref === certs[0]!.caref)?.refid;
      if (!crl) conflict('VpnProfile', name, `no CRL of the certificate's CA exists on pfSense: ${user}'s certificate cannot be revoked`);
      else out.changes.push(change('VpnCertificate', name, 'disable', [{ path: 'certificate', before: 'valid', after: 'revoked' }], why, {
        type: 'certificate', commonName: user, lifetimeDays: 0, caref: certs[0]!.caref, crlref: crl, descr: '', issue: false, revoke: certs.map((c) => c.refid), pruned,
      }, { serves: serves(name), wire: certs.map((c) => ({ path: `certificate ${c.serial}`, before: 'valid', after: 'revoked' })) }));
    }
    const o = overridesOf.get(name);
    if (o) {
      out.changes.push(change('VpnOverride', name, 'delete', [{ path: 'override', before: 'present', after: 'removed' }], why, { type: 'override', body: null, pruned }, {
        serves: serves(name), wire: [{ path: 'common_name', before: o.common_name, after: undefined }],
      }));
    }
  };

  for (const [name, p] of desired.resources.vpnProfiles) {
    const s = p.spec;
    const user = desired.resources.users.get(s.user);
    const server = live.servers.find((x) => x.description === s.server);
    const owns = (certsOf.get(name)?.length ?? 0) > 0 || overridesOf.has(name);
    if (owns) out.owned++;
    if (!user || !user.spec.enabled) {
      retire(name, s.user, `user ${s.user} is ${user ? 'disabled' : 'not in Git'}`, false, server?.crlref || undefined);
      continue;
    }
    // Reported, never dropped silently: what the schema allows and pfRest cannot express.
    if (s.secondFactor === 'totp') {
      unsupported(name, 'secondFactor totp (pfRest has no TOTP for OpenVPN; the profile is applied without a second factor)');
    }
    if (!server) {
      conflict('VpnProfile', name, `OpenVPN server "${s.server}" does not exist on pfSense (matched on its description)`);
      continue;
    }
    const ldap = server.authmode.filter((a) => live.authServers.some((x) => x.name === a && x.type === 'ldap'));
    if (s.requireAdCredentials && !(server.mode === 'server_tls_user' && ldap.length > 0)) {
      conflict('VpnProfile', name, `requireAdCredentials: server "${s.server}" must use mode server_tls_user with an LDAP authentication server of the AD (it has ${server.mode}, ${server.authmode.join(', ') || 'no backend'})`);
    }
    if (!s.requireAdCredentials && server.mode.includes('user')) {
      unsupported(name, `requireAdCredentials false on server "${s.server}", which asks every client for a login`);
    }
    if (s.tunnelNetwork !== server.tunnel_network) {
      conflict('VpnProfile', name, `tunnelNetwork ${s.tunnelNetwork} is not the tunnel network of server "${s.server}" (${server.tunnel_network || 'none'})`);
      continue;
    }
    if (s.staticAddress && !insideNetwork(s.staticAddress, s.tunnelNetwork)) {
      conflict('VpnProfile', name, `staticAddress ${s.staticAddress} is outside ${s.tunnelNetwork}`);
      continue;
    }
    if (!server.crlref || !live.crls.some((c) => c.refid === server.crlref)) {
      conflict('VpnProfile', name, `server "${s.server}" has no CRL: a leaver's certificate could not be revoked; attach a CRL of its CA first`);
      continue;
    }
    planCertificate(name, p, server.caref, server.crlref);
    planOverride(name, p, server.vpnif);
  }

  function planCertificate(name: string, p: VpnProfile, caref: string, crlref: string): void {
    const s = p.spec;
    const certs = certsOf.get(name) ?? [];
    const problems = (c: LiveCertificate): string | undefined =>
      revokedIn(crlref, c) || anyCrlRevokes(c) ? 'revoked'
      : c.caref !== caref ? 'issued by another CA'
      : c.commonName !== s.user ? `CN ${c.commonName}`
      : Date.parse(c.validTo) <= now ? 'expired'
      : lifetimeDays(c) !== s.certificateLifetimeDays ? `lifetime ${lifetimeDays(c)} days`
      : undefined;
    const keep = certs.find((c) => problems(c) === undefined);
    const revoke = certs.filter((c) => c !== keep && !anyCrlRevokes(c));
    if (keep && revoke.length === 0) return;
    const reasons = certs.filter((c) => c !== keep).map((c) => `${c.serial}: ${problems(c)}`);
    const payload = { type: 'certificate' as const, commonName: s.user, lifetimeDays: s.certificateLifetimeDays, caref, crlref, descr: certificateDescr(s.user, ctx.instance, name), issue: !keep, revoke: revoke.map((c) => c.refid) };
    const issued = `CN=${s.user}, ${s.certificateLifetimeDays} days`;
    const wire = [
      ...(keep ? [] : [{ path: 'certificate', before: certs.length > 0 ? 'none valid' : undefined, after: issued }]),
      ...revoke.map((c) => ({ path: `certificate ${c.serial}`, before: 'valid', after: 'revoked' })),
    ];
    // In the profile's terms: the YAML field that made the certificate wrong (its user or lifetime), then the certificate.
    const newest = certs.filter((c) => c !== keep).at(-1);
    const fields: FieldChange[] = [];
    if (!keep && newest && newest.commonName !== s.user) fields.push({ path: 'spec.user', before: newest.commonName, after: s.user });
    if (!keep && newest && lifetimeDays(newest) !== s.certificateLifetimeDays) fields.push({ path: 'spec.certificateLifetimeDays', before: lifetimeDays(newest), after: s.certificateLifetimeDays });
    fields.push(
      certs.length === 0 ? { path: 'certificate', before: null, after: `issued (${issued})` }
      : keep ? { path: 'certificate', before: `${revoke.length + 1} valid`, after: '1 valid, the others revoked' }
      : { path: 'certificate', before: problems(newest!)!, after: `re-issued (${issued})${revoke.length > 0 ? ', the old one revoked' : ''}` },
    );
    out.changes.push(change('VpnCertificate', name, certs.length === 0 ? 'create' : 'update', fields, certs.length === 0 ? 'no certificate on pfSense' : `re-issue (${reasons.join('; ')})`, payload, { serves: serves(name), wire }));
  }

  function planOverride(name: string, p: VpnProfile, vpnif: string): void {
    const s = p.spec;
    const prefix = s.tunnelNetwork.split('/')[1];
    const body: OverrideFields = {
      common_name: s.user,
      description: describe(`VPN ${s.user}`, ctx.instance, name),
      disable: false,
      server_list: [vpnif],
      tunnel_network: s.staticAddress ? `${s.staticAddress}/${prefix}` : '',
      local_network: [...s.routes],
    };
    /** The override's fields read back as the profile's. */
    const liveValue = (o: LiveOverride) => (path: string): unknown => {
      switch (path) {
        case 'spec.user': return o.common_name;
        case 'spec.server': return o.server_list.length === 1 ? live.servers.find((x) => x.vpnif === o.server_list[0])?.description : undefined;
        case 'spec.staticAddress': return o.tunnel_network === '' ? null : o.tunnel_network.split('/')[0];
        case 'spec.routes': return o.local_network;
        default: return undefined;
      }
    };
    const l = overridesOf.get(name);
    if (!l) {
      // common_name is not unique on pfSense: an unowned override for the same CN would also apply.
      const twin = live.overrides.find((o) => o.common_name === s.user && !mineName(o.description));
      if (twin && !adoptable(policy, 'VpnProfile', name)) {
        conflict('VpnProfile', name, `an override for CN ${s.user} exists and is not managed by infrasec; add VpnProfile/${name} to policy.adopt to take it over`);
        return;
      }
      const wire = withFrom(diffFields(OVERRIDE_FIELDS, twin, body, ['local_network']), OVERRIDE_FROM);
      const action = twin ? 'update' : 'create';
      out.changes.push(change('VpnOverride', name, action, yamlView(p, action, wire, twin && liveValue(twin)), twin ? 'adopted by policy' : 'not on pfSense', { type: 'override', body }, { serves: serves(name), wire }));
      return;
    }
    const wire = withFrom(diffFields(OVERRIDE_FIELDS, l, body, ['local_network']), OVERRIDE_FROM);
    if (wire.length > 0) out.changes.push(change('VpnOverride', name, 'update', yamlView(p, 'update', wire, liveValue(l)), 'differs from Git', { type: 'override', body }, { serves: serves(name), wire }));
  }

  // Profiles that left Git: their certificates are revoked and overrides removed (held unless pruning is on).
  const gone = new Set([...certsOf.keys(), ...overridesOf.keys()].filter((n) => !desired.resources.vpnProfiles.has(n)));
  for (const name of gone) {
    out.owned++;
    const cn = certsOf.get(name)?.[0]?.commonName ?? overridesOf.get(name)?.common_name ?? name;
    retire(name, cn, 'removed from Git', true, undefined);
  }

  for (const [message, names] of unsupportedBy) {
    out.conflicts.push({
      system: SYSTEM, kind: 'VpnProfile', name: [...names].sort().join(', '), advisory: true,
      message: `unsupported on pfSense: ${message}${names.length > 1 ? ` (${names.length} profiles)` : ''}`,
    });
  }
}

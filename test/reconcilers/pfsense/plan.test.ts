// Table-driven tests of the pure pfSense planner: desired + live + policy → changes and conflicts.
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, type Plan, type Policy } from '../../../src/engine/types.ts';
import type { LiveAlias, LiveCertificate, LivePfSense, LiveRule } from '../../../src/reconcilers/pfsense/model.ts';
import { parseMarker } from '../../../src/reconcilers/pfsense/model.ts';
import { planPfSense } from '../../../src/reconcilers/pfsense/plan.ts';
import { placementAfter } from '../../../src/reconcilers/pfsense/apply.ts';
import { PFSENSE_DEFAULTS } from '../../../src/reconcilers/pfsense/settings.ts';
import { alias, portForward, rule, state, type StateInput, user, vpn } from './desired-builder.ts';

const CTX = { instance: 'test', interfaces: PFSENSE_DEFAULTS.interfaces };
const M = (name: string) => `[infrasec:test:${name}]`;

function liveRule(id: number, name: string | null, over: Partial<LiveRule> = {}): LiveRule {
  return {
    id, type: 'pass', interface: ['lan'], ipprotocol: 'inet', protocol: null, source: 'lan', destination: 'any', destination_port: null,
    descr: name === null ? 'GUI rule' : M(name), disabled: false, log: false, gateway: null, tracker: 1, associated_rule_id: null, ...over,
  };
}
const liveAlias = (id: number, name: string, descr: string, address = ['192.168.10.20']): LiveAlias => ({ id, name, type: 'host', descr, address });

const SERVER = { id: 0, vpnid: 1, vpnif: 'ovpns1', description: 'rw-agents', mode: 'server_tls_user', authmode: ['AD COD'], caref: 'ca1', crlref: 'crl1', tunnel_network: '10.8.0.0/24' };
const cert = (refid: string, profile: string, over: Partial<LiveCertificate> = {}): LiveCertificate => ({
  id: 0, refid, descr: `VPN jdupont ${M(profile)}`, caref: 'ca1', commonName: 'jdupont', serial: `S${refid}`, validFrom: 'Jan  1 00:00:00 2026 GMT', validTo: 'Jan  1 00:00:00 2027 GMT', ...over,
});
const CSO = { id: 0, common_name: 'jdupont', description: `VPN jdupont ${M('vpn-jdupont')}`, disable: false, server_list: ['ovpns1'], tunnel_network: '10.8.0.10/24', local_network: ['192.168.10.0/24'] };

function live(over: Partial<LivePfSense> = {}): LivePfSense {
  return {
    aliases: [], rules: [], portForwards: [], gateways: new Set(['WAN_FAILOVER', 'WAN1_GW']), servers: [SERVER], certificates: [],
    crls: [{ id: 0, refid: 'crl1', caref: 'ca1', descr: 'COD-CA CRL', revokedSerials: new Set(), revokedCertrefs: new Set() }], overrides: [],
    authServers: [{ name: 'AD COD', type: 'ldap' }], pending: [], stalePending: [], applyOwed: false, observedAt: '2026-06-01T00:00:00.000Z', ...over,
  };
}

/** `action Kind/name (prune) → served object (supporting): YAML fields`. */
const summary = (p: Plan) =>
  p.changes.map((c) => {
    const flags = `${(c.payload as { pruned?: boolean }).pruned ? ' (prune)' : ''}${c.serves ? ` → ${c.serves}` : ''}${c.supporting ? ' (supporting)' : ''}`;
    return `${c.action} ${c.kind}/${c.name}${flags}${c.fields.length > 0 ? `: ${c.fields.map((f) => f.path).join(',')}` : ''}`;
  });
const conflicts = (p: Plan) => p.conflicts.map((c) => `${c.kind}/${c.name}: ${c.message}`);

interface Row {
  name: string;
  desired: StateInput;
  live: Partial<LivePfSense>;
  policy?: Partial<Policy>;
  changes: string[];
  conflicts?: (string | RegExp)[];
}

const JD = user('jdupont');
const rows: Row[] = [
  { name: 'a missing alias is created under its pfSense name', desired: { aliases: [alias('srv-asterisk')] }, live: {}, changes: ['create FirewallAlias/srv-asterisk: spec.type,spec.entries'] },
  { name: 'an owned alias listing the same entries in another order is in sync', desired: { aliases: [alias('a', { entries: ['10.0.0.1', '10.0.0.2'] })] }, live: { aliases: [liveAlias(0, 'a', M('a'), ['10.0.0.2', '10.0.0.1'])] }, changes: [] },
  { name: 'an unowned namesake alias is a conflict', desired: { aliases: [alias('srv-mail')] }, live: { aliases: [liveAlias(0, 'srv_mail', 'made in the GUI')] }, changes: [], conflicts: [/FirewallAlias\/srv-mail: pfSense alias "srv_mail" exists and is not managed/] },
  { name: 'an unowned namesake alias is adopted on request', desired: { aliases: [alias('srv-mail')] }, live: { aliases: [liveAlias(0, 'srv_mail', 'made in the GUI')] }, policy: { adopt: ['FirewallAlias/srv-mail'] }, changes: ['update FirewallAlias/srv-mail: spec.description'] },
  { name: 'an owned alias that left Git is pruned', desired: {}, live: { aliases: [liveAlias(0, 'old', M('old'))] }, changes: ['delete FirewallAlias/old (prune)'] },
  { name: 'another instance\'s alias is not ours to prune', desired: {}, live: { aliases: [liveAlias(0, 'old', '[infrasec:other:old]')] }, changes: [] },
  { name: 'two names that map to one pfSense alias name conflict', desired: { aliases: [alias('a-b'), alias('a_b')] }, live: {}, changes: [], conflicts: [/a-b and a_b both become/, /a-b and a_b both become/] },
  { name: 'a rule naming a missing gateway is refused with the gateway named', desired: { rules: [rule('out', { gateway: 'WAN_BACKUP' })] }, live: {}, changes: [], conflicts: ['FirewallRule/out: gateway "WAN_BACKUP" does not exist on pfSense (no gateway or gateway group of that name under System > Routing)'] },
  { name: 'rules are created in YAML order, each after the previous', desired: { rules: [rule('b', { order: 200 }), rule('a', { order: 100 })] }, live: {}, changes: ['create FirewallRule/a: spec.action,spec.interface,spec.source,spec.destination,spec.disabled,spec.log', 'create FirewallRule/b: spec.action,spec.interface,spec.source,spec.destination,spec.disabled,spec.log'] },
  { name: 'a GUI rule between two owned rules in order is left alone', desired: { rules: [rule('a', { order: 1 }), rule('b', { order: 2 })] }, live: { rules: [liveRule(0, 'a'), liveRule(1, null), liveRule(2, 'b')] }, changes: [] },
  { name: 'a rule moved in the GUI is moved back after its predecessor', desired: { rules: [rule('a', { order: 1 }), rule('b', { order: 2 })] }, live: { rules: [liveRule(0, 'b'), liveRule(1, null), liveRule(2, 'a')] }, changes: ['update FirewallRule/b: spec.order'] },
  { name: 'a rule disabled in the GUI is re-enabled', desired: { rules: [rule('a')] }, live: { rules: [liveRule(0, 'a', { disabled: true })] }, changes: ['update FirewallRule/a: spec.disabled'] },
  { name: 'a rule edited in the GUI is put back field by field', desired: { rules: [rule('a', { destination: { alias: 'srv-ad' } })] }, live: { aliases: [liveAlias(0, 'srv_ad', 'gui')], rules: [liveRule(0, 'a', { destination: 'any', log: true })] }, changes: ['update FirewallRule/a: spec.destination,spec.log'] },
  { name: 'rules on other interfaces do not count for the order', desired: { rules: [rule('a', { order: 1 }), rule('b', { order: 2, interface: 'dmz', source: { network: 'dmz' } })] }, live: { rules: [liveRule(0, 'b', { interface: ['opt1'], source: 'opt1' }), liveRule(1, 'a')] }, changes: [] },
  { name: 'several ports become an owned port alias', desired: { rules: [rule('web', { protocol: 'tcp', ports: ['80', '443'] })] }, live: {}, changes: ['create FirewallAlias/web.ports → FirewallRule/web: spec.ports', 'create FirewallRule/web: spec.action,spec.interface,spec.protocol,spec.source,spec.destination,spec.ports,spec.disabled,spec.log'] },
  { name: 'a description forging another rule\'s marker does not steal it', desired: { rules: [rule('a', { description: `x ${M('b')}` })] }, live: { rules: [liveRule(0, 'b')] }, changes: ['create FirewallRule/a: spec.action,spec.interface,spec.source,spec.destination,spec.description,spec.disabled,spec.log', 'delete FirewallRule/b (prune)'] },
  { name: 'a VPN profile gets a certificate and an override; TOTP is reported unsupported', desired: { users: [JD], vpnProfiles: [vpn('vpn-jdupont', 'jdupont', { staticAddress: '10.8.0.10', secondFactor: 'totp' })] }, live: {}, changes: ['create VpnCertificate/vpn-jdupont → VpnProfile/vpn-jdupont: certificate', 'create VpnOverride/vpn-jdupont → VpnProfile/vpn-jdupont: spec.user,spec.server,spec.staticAddress,spec.routes'], conflicts: [/VpnProfile\/vpn-jdupont: unsupported on pfSense: secondFactor totp/] },
  { name: 'a VPN profile in sync plans nothing', desired: { users: [JD], vpnProfiles: [vpn('vpn-jdupont', 'jdupont', { staticAddress: '10.8.0.10' })] }, live: { certificates: [cert('c1', 'vpn-jdupont')], overrides: [CSO] }, changes: [] },
  { name: 'a certificate revoked by hand is re-issued', desired: { users: [JD], vpnProfiles: [vpn('vpn-jdupont', 'jdupont', { staticAddress: '10.8.0.10' })] }, live: { certificates: [cert('c1', 'vpn-jdupont')], overrides: [CSO], crls: [{ id: 0, refid: 'crl1', caref: 'ca1', descr: '', revokedSerials: new Set(['Sc1']), revokedCertrefs: new Set() }] }, changes: ['update VpnCertificate/vpn-jdupont → VpnProfile/vpn-jdupont: certificate'] },
  { name: 'a changed lifetime re-issues and revokes the old certificate', desired: { users: [JD], vpnProfiles: [vpn('vpn-jdupont', 'jdupont', { staticAddress: '10.8.0.10', certificateLifetimeDays: 45 })] }, live: { certificates: [cert('c1', 'vpn-jdupont')], overrides: [CSO] }, changes: ['update VpnCertificate/vpn-jdupont → VpnProfile/vpn-jdupont: spec.certificateLifetimeDays,certificate'] },
  { name: 'a disabled user\'s certificate is revoked and the override removed', desired: { users: [user('jdupont', { enabled: false })], vpnProfiles: [vpn('vpn-jdupont', 'jdupont', { staticAddress: '10.8.0.10' })] }, live: { certificates: [cert('c1', 'vpn-jdupont')], overrides: [CSO] }, changes: ['disable VpnCertificate/vpn-jdupont → VpnProfile/vpn-jdupont: certificate', 'delete VpnOverride/vpn-jdupont → VpnProfile/vpn-jdupont: override'] },
  { name: 'a profile that left Git is revoked as a prune', desired: {}, live: { certificates: [cert('c1', 'vpn-jdupont')], overrides: [CSO] }, changes: ['disable VpnCertificate/vpn-jdupont (prune) → VpnProfile/vpn-jdupont: certificate', 'delete VpnOverride/vpn-jdupont (prune) → VpnProfile/vpn-jdupont: override'] },
  { name: 'a missing OpenVPN server is a conflict naming it', desired: { users: [JD], vpnProfiles: [vpn('vpn-jdupont', 'jdupont', { server: 'rw-other' })] }, live: {}, changes: [], conflicts: ['VpnProfile/vpn-jdupont: OpenVPN server "rw-other" does not exist on pfSense (matched on its description)'] },
  { name: 'a static address outside the tunnel is refused', desired: { users: [JD], vpnProfiles: [vpn('vpn-jdupont', 'jdupont', { staticAddress: '10.9.0.10' })] }, live: {}, changes: [], conflicts: [/staticAddress 10.9.0.10 is outside 10.8.0.0\/24/] },
  { name: 'changes saved but not applied are drift to apply', desired: {}, live: { pending: ['aliases', 'filter'], stalePending: ['aliases'] }, changes: ['update FirewallApply/filter (supporting): running'] },
  { name: 'pending flags left from the last apply are not news', desired: {}, live: { pending: ['aliases'], stalePending: ['aliases'] }, changes: [] },
  { name: 'an apply owed by a broken pass is planned', desired: {}, live: { applyOwed: true }, changes: ['update FirewallApply/filter (supporting): running'] },
];

describe('planPfSense', () => {
  it.each(rows)('$name', (row) => {
    const p = planPfSense(state(row.desired), live(row.live), { ...DEFAULT_POLICY, ...row.policy }, CTX);
    expect(summary(p)).toEqual(row.changes);
    const got = conflicts(p);
    expect(got).toHaveLength(row.conflicts?.length ?? 0);
    for (const [i, want] of (row.conflicts ?? []).entries()) {
      if (typeof want === 'string') expect(got[i]).toBe(want);
      else expect(got[i]).toMatch(want);
    }
  });

  it('a rule whose port changed in the YAML plans one YAML field, before and after in YAML terms, pfRest\'s field behind it', () => {
    const p = planPfSense(state({ rules: [rule('web', { protocol: 'tcp', destination: { any: true }, ports: ['8443'] })] }), live({ rules: [liveRule(0, 'web', { protocol: 'tcp', destination_port: '443' })] }), DEFAULT_POLICY, CTX);
    expect(p.changes).toHaveLength(1);
    expect(p.changes[0]!.fields).toEqual([{ path: 'spec.ports', before: ['443'], after: ['8443'] }]);
    expect(p.changes[0]!.wire).toEqual([{ path: 'destination_port', before: '443', after: '8443', from: 'spec.ports' }]);
  });

  it('reads pfSense values back as the YAML writes them: interfaces, aliases, descriptions, port ranges, a rule\'s ports alias', () => {
    const desired = state({
      aliases: [alias('srv-ad')],
      rules: [
        rule('a', { interface: 'dmz', source: { network: 'dmz' }, destination: { alias: 'srv-ad' }, protocol: 'tcp', ports: ['8000-8099'], description: 'Accès AD' }),
        rule('b', { protocol: 'udp', ports: ['5060', '10000-20000'] }),
      ],
    });
    const p = planPfSense(desired, live({
      aliases: [liveAlias(0, 'srv_ad', M('srv-ad')), { id: 1, name: 'b_ports', type: 'port', descr: `Ports of rule b ${M('b.ports')}`, address: ['5060', '10000:19999'] }],
      rules: [
        liveRule(0, 'a', { interface: ['lan'], source: 'lan', destination: 'any', protocol: 'udp', destination_port: '8000:8080', descr: `Accès LAN ${M('a')}` }),
        liveRule(1, 'b', { protocol: 'udp', destination_port: 'b_ports' }),
      ],
    }), DEFAULT_POLICY, CTX);
    const byKey = new Map(p.changes.map((c) => [c.key, c]));
    expect(byKey.get('FirewallRule/a')!.fields).toEqual([
      { path: 'spec.interface', before: 'lan', after: 'dmz' },
      { path: 'spec.protocol', before: 'udp', after: 'tcp' },
      { path: 'spec.source', before: { network: 'lan' }, after: { network: 'dmz' } },
      { path: 'spec.destination', before: { any: true }, after: { alias: 'srv-ad' } },
      { path: 'spec.ports', before: ['8000:8080'], after: ['8000-8099'] },
      { path: 'spec.description', before: 'Accès LAN', after: 'Accès AD' },
    ]);
    // pfSense's interface id for the DMZ is opt1: the wire holds it, the YAML line the YAML's name.
    expect(byKey.get('FirewallRule/a')!.wire).toContainEqual({ path: 'interface', before: ['lan'], after: ['opt1'], from: 'spec.interface' });
    // The rule's ports alias is infrasec's, not the admin's: its change is part of the rule, in the rule's terms.
    expect(byKey.get('FirewallAlias/b.ports')).toMatchObject({ serves: 'FirewallRule/b', fields: [{ path: 'spec.ports', before: ['5060', '10000:19999'], after: ['5060', '10000-20000'] }] });
    expect(byKey.has('FirewallRule/b')).toBe(false);
  });

  it('a port forward reads its live ports and interface back as the YAML fields', () => {
    const lpf = { id: 0, interface: 'opt2', protocol: 'tcp', source: 'any', destination: 'opt2:ip', destination_port: '443', target: '172.16.50.10', local_port: '443', descr: M('pf'), disabled: false, associated_rule_id: '' };
    const p = planPfSense(state({ portForwards: [portForward('pf', { interface: 'wan', externalPort: '8443' })] }), live({ portForwards: [lpf] }), DEFAULT_POLICY, CTX);
    expect(p.changes.map((c) => c.fields)).toEqual([[
      { path: 'spec.interface', before: 'wan2', after: 'wan' },
      { path: 'spec.externalPort', before: '443', after: '8443' },
    ]]);
    expect(p.changes[0]!.wire!.map((f) => `${f.path}<-${f.from}`)).toEqual(['interface<-spec.interface', 'destination<-spec.interface', 'destination_port<-spec.externalPort']);
  });

  it('a leaver\'s certificate revocation and override removal are part of the VPN profile, in its terms', () => {
    const p = planPfSense(state({ users: [user('jdupont', { enabled: false })], vpnProfiles: [vpn('vpn-jdupont', 'jdupont', { staticAddress: '10.8.0.10' })] }), live({ certificates: [cert('c1', 'vpn-jdupont')], overrides: [CSO] }), DEFAULT_POLICY, CTX);
    expect(p.changes.map((c) => ({ key: c.key, action: c.action, serves: c.serves, fields: c.fields, wire: c.wire }))).toEqual([
      { key: 'VpnCertificate/vpn-jdupont', action: 'disable', serves: 'VpnProfile/vpn-jdupont', fields: [{ path: 'certificate', before: 'valid', after: 'revoked' }], wire: [{ path: 'certificate Sc1', before: 'valid', after: 'revoked' }] },
      { key: 'VpnOverride/vpn-jdupont', action: 'delete', serves: 'VpnProfile/vpn-jdupont', fields: [{ path: 'override', before: 'present', after: 'removed' }], wire: [{ path: 'common_name', before: 'jdupont', after: undefined }] },
    ]);
  });

  it('an override that differs reads back as the profile\'s fields', () => {
    const p = planPfSense(state({ users: [JD], vpnProfiles: [vpn('vpn-jdupont', 'jdupont', { staticAddress: '10.8.0.11', routes: ['192.168.10.0/24', '172.16.50.0/24'] })] }), live({ certificates: [cert('c1', 'vpn-jdupont')], overrides: [CSO] }), DEFAULT_POLICY, CTX);
    expect(p.changes.map((c) => [c.key, c.serves, c.fields])).toEqual([['VpnOverride/vpn-jdupont', 'VpnProfile/vpn-jdupont', [
      { path: 'spec.staticAddress', before: '10.8.0.10', after: '10.8.0.11' },
      { path: 'spec.routes', before: ['192.168.10.0/24'], after: ['192.168.10.0/24', '172.16.50.0/24'] },
    ]]]);
  });

  it('the filter reload is plumbing: supporting, and no YAML object\'s', () => {
    const p = planPfSense(state({}), live({ applyOwed: true }), DEFAULT_POLICY, CTX);
    expect(p.changes.map((c) => [c.key, c.supporting, c.serves])).toEqual([['FirewallApply/filter', true, undefined]]);
  });

  it('what pfRest cannot express is one note per reason, naming every profile it concerns', () => {
    const profiles = ['vpn-a', 'vpn-b', 'vpn-c'].map((n, i) => vpn(n, `u${i}`, { staticAddress: `10.8.0.${i + 10}`, secondFactor: 'totp' }));
    const p = planPfSense(state({ users: ['u0', 'u1', 'u2'].map((u) => user(u)), vpnProfiles: profiles }), live(), DEFAULT_POLICY, CTX);
    expect(p.conflicts.map((c) => [c.name, c.advisory, c.message])).toEqual([
      ['vpn-a, vpn-b, vpn-c', true, 'unsupported on pfSense: secondFactor totp (pfRest has no TOTP for OpenVPN; the profile is applied without a second factor) (3 profiles)'],
    ]);
  });

  it('marks what pfRest cannot express as advisory (a note), and what is in the way on pfSense as a conflict', () => {
    const totp = planPfSense(state({ users: [JD], vpnProfiles: [vpn('vpn-jdupont', 'jdupont', { staticAddress: '10.8.0.10', secondFactor: 'totp' })] }), live(), DEFAULT_POLICY, CTX);
    expect(totp.conflicts.map((c) => [c.message.split(':')[0], c.advisory ?? false])).toEqual([['unsupported on pfSense', true]]);
    const missing = planPfSense(state({ users: [JD], vpnProfiles: [vpn('vpn-jdupont', 'jdupont', { server: 'rw-other' })] }), live(), DEFAULT_POLICY, CTX);
    expect(missing.conflicts.map((c) => c.advisory ?? false)).toEqual([false]);
  });

  it('writes the marker last so the owner survives any description text', () => {
    const p = planPfSense(state({ rules: [rule('a', { description: 'Accès [infrasec:test:zz] ]]' })] }), live(), DEFAULT_POLICY, CTX);
    const descr = (p.changes[0]!.payload as { body: { descr: string } }).body.descr;
    expect(parseMarker(descr)).toMatchObject({ instance: 'test', name: 'a' });
  });

  it.each([
    [0, 3, 3],
    [5, 2, 3],
  ])('moves the rule at %i to after the rule at %i with placement %i', (from, prev, placement) => {
    expect(placementAfter(from, prev)).toBe(placement);
  });
});

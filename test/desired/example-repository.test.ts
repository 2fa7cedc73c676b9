// The example COD repository in desired-state/: it must validate and hold what the issue lists.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDesiredState } from '../../src/desired/load.ts';
import type { DesiredState, Endpoint, FirewallRule } from '../../src/desired/model.ts';
import { cidrContains, parseCidr, parseIpv4, type Cidr } from '../../src/desired/references.ts';

const ROOT = fileURLToPath(new URL('../../desired-state', import.meta.url));
let state: DesiredState;

beforeAll(async () => {
  const result = await loadDesiredState(ROOT);
  expect(result.diagnostics).toEqual([]);
  state = result.state!;
});

const aliasEntries = (name: string) => state.firewallAliases.get(name)?.spec.entries ?? [];
const ports = (rule: FirewallRule) => (rule.spec.portAlias ? aliasEntries(rule.spec.portAlias) : rule.spec.ports ?? []);
const coversPort = (rule: FirewallRule, port: number) =>
  ports(rule).some((p) => {
    const [lo, hi = lo] = p.split(/[:-]/).map(Number) as [number, number?];
    return lo <= port && port <= hi!;
  });
const hostsOf = (ep: Endpoint) => (ep.alias ? aliasEntries(ep.alias) : ep.address ? [ep.address] : []);
const network = (alias: string) => parseCidr(aliasEntries(alias)[0]!) as Cidr;
const rules = () => [...state.firewallRules.values()];

describe('the example desired-state/', () => {
  it('has a dozen people, each with a role (title) and a role group', () => {
    const users = [...state.users.values()];
    expect(users.length).toBeGreaterThanOrEqual(12);
    for (const u of users) {
      expect(u.spec.title, u.metadata.name).toBeTruthy();
      expect(u.spec.groups.some((g) => g.startsWith('cod-')), u.metadata.name).toBe(true);
    }
    const roles = new Set(users.flatMap((u) => u.spec.groups));
    expect([...roles].sort()).toEqual(['cod-direction', 'cod-informatique', 'cod-operateurs', 'cod-terrain']);
  });

  it('has groups, including groups of groups', () => {
    expect(state.groups.size).toBeGreaterThanOrEqual(4);
    expect([...state.groups.values()].some((g) => g.spec.members.some((m) => m.startsWith('Group/')))).toBe(true);
  });

  it.each(['200', '201'])('has softphone extension %s for a person (not WebRTC)', (number) => {
    const ext = [...state.extensions.values()].find((e) => e.spec.number === number)!;
    expect(ext).toBeDefined();
    expect(ext.spec.webrtc).toBe(false);
    expect(['udp', 'tcp', 'tls']).toContain(ext.spec.transport);
    expect(state.users.has(ext.spec.owner!)).toBe(true);
  });

  it.each(['4000', '4001', '4002', '4003', '4004'])('has WebRTC extension %s with messaging, over WSS, for a field agent', (number) => {
    const ext = [...state.extensions.values()].find((e) => e.spec.number === number)!;
    expect(ext.spec).toMatchObject({ webrtc: true, transport: 'wss', messaging: true });
    expect(ext.spec.codecs.audio).toContain('opus');
    expect(state.users.get(ext.spec.owner!)!.spec.groups).toContain('cod-terrain');
  });

  it('has conference 25 "Reunion" with a user PIN and a leader PIN, neither in plaintext', () => {
    const conf = [...state.conferences.values()].find((c) => c.spec.number === '25')!;
    expect(conf.spec.title).toBe('Reunion');
    for (const pin of [conf.spec.userPin, conf.spec.leaderPin]) {
      expect(pin).toBeDefined();
      expect(typeof pin).toBe('object');
    }
  });

  it('gives every field agent a VPN profile with a static address in the tunnel network', () => {
    const agents = [...state.users.values()].filter((u) => u.spec.groups.includes('cod-terrain')).map((u) => u.metadata.name);
    expect(agents.length).toBeGreaterThanOrEqual(4);
    const profiles = [...state.vpnProfiles.values()];
    for (const agent of agents) {
      const p = profiles.find((v) => v.spec.user === agent)!;
      expect(p, agent).toBeDefined();
      expect(cidrContains(parseCidr(p.spec.tunnelNetwork) as Cidr, parseIpv4(p.spec.staticAddress!)!)).toBe(true);
    }
  });

  it('publishes eBrigade in the DMZ on WAN HTTPS through a port forward and a WAN rule', () => {
    const dmz = network('net-dmz');
    const forward = [...state.portForwards.values()].find((pf) => pf.spec.interface === 'wan' && pf.spec.externalPort === '443')!;
    expect(forward.spec.protocol).toBe('tcp');
    expect(cidrContains(dmz, parseIpv4(forward.spec.target)!)).toBe(true);
    expect(aliasEntries('srv-ebrigade')).toContain(forward.spec.target);
    const rule = rules().find((r) => r.spec.interface === 'wan' && r.spec.action === 'pass' && hostsOf(r.spec.destination).includes(forward.spec.target))!;
    expect(rule.spec.protocol).toBe('tcp');
    expect(coversPort(rule, 443)).toBe(true);
  });

  it.each([
    ['SIP', 'srv-asterisk', 5060],
    ['WebRTC signalling', 'srv-asterisk', 8089],
    ['mail (IMAPS)', 'srv-mail', 993],
    ['mail (submission)', 'srv-mail', 587],
    ['eBrigade', 'srv-ebrigade', 443],
  ])('lets VPN clients reach %s', (_what, server, port) => {
    const rule = rules().find((r) => r.spec.interface === 'openvpn' && r.spec.action === 'pass' && r.spec.destination.alias === server && coversPort(r, port));
    expect(rule, `${server}:${port}`).toBeDefined();
    expect(rule!.spec.source).toEqual({ network: 'openvpn' });
  });

  it('blocks the DMZ from the LAN before any DMZ pass rule', () => {
    const lan = network('net-lan');
    const dmzRules = rules().filter((r) => r.spec.interface === 'dmz');
    const deny = dmzRules.find((r) => r.spec.action !== 'pass' && r.spec.destination.alias && cidrContains(lan, network(r.spec.destination.alias).network))!;
    expect(deny).toBeDefined();
    expect(deny.spec.source).toEqual({ network: 'dmz' });
    for (const pass of dmzRules.filter((r) => r.spec.action === 'pass')) expect(deny.spec.order).toBeLessThan(pass.spec.order);
  });

  it('ends the VPN rules with a default deny', () => {
    const vpn = rules().filter((r) => r.spec.interface === 'openvpn').sort((a, b) => a.spec.order - b.spec.order);
    expect(vpn.at(-1)!.spec).toMatchObject({ action: 'block', destination: { any: true } });
  });

  it('has a mail domain, mailboxes inside it and functional aliases delivered to people', () => {
    expect([...state.mailDomains.keys()]).toEqual(['cod67.example.fr']);
    for (const u of state.users.values()) expect(u.spec.email?.endsWith('@cod67.example.fr')).toBe(true);
    expect(state.mailAliases.size).toBeGreaterThanOrEqual(3);
    for (const a of state.mailAliases.values()) expect(a.spec.recipients.some((r) => r.startsWith('User/'))).toBe(true);
  });

  it('keeps every secret out of Git: generated or encrypted, never plaintext', () => {
    const secrets = [
      ...[...state.users.values()].map((u) => u.spec.password),
      ...[...state.extensions.values()].flatMap((e) => [e.spec.secret, e.spec.voicemail.pin]),
      ...[...state.conferences.values()].flatMap((c) => [c.spec.userPin, c.spec.leaderPin]),
    ].filter((s) => s !== undefined);
    expect(secrets.length).toBeGreaterThan(20);
    for (const s of secrets) expect('generate' in s || 'encrypted' in s).toBe(true);
  });
});

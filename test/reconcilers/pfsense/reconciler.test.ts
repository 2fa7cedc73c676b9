// The pfSense reconciler against the emulator over HTTPS: the example repository converges, twice is zero writes.
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDesiredState } from '../../../src/desired/load.ts';
import type { ResolvedState } from '../../../src/desired/model.ts';
import { type Fixture, pass, startFixture } from './firewall-fixture.ts';

let fx: Fixture;

beforeEach(async () => {
  fx = await startFixture();
});
afterEach(async () => {
  await fx.close();
});

async function example(): Promise<ResolvedState> {
  const loaded = await loadDesiredState(path.join(import.meta.dirname, '../../../desired-state'));
  if (!loaded.state) throw new Error(loaded.diagnostics.map((d) => d.message).join('\n'));
  return { resources: loaded.state, secrets: { get: () => undefined }, revision: 'example' };
}

const ownedDescrs = (fx: Fixture, iface: string) =>
  fx.emu.state.config.rules.filter((r) => (r.interface as string[])[0] === iface).map((r) => String(r.descr).replace(/^.*\[infrasec:test:([^\]]+)\]$/, '$1'));

describe('pfSense reconciler on the example repository', () => {
  it('creates the aliases, rules in YAML order, the port forward and the VPN profiles, applies once, then a second pass writes nothing', async () => {
    const desired = await example();
    const first = await pass(fx.reconciler, desired);
    expect(first.applied.filter((a) => !a.ok).map((a) => `${a.change.kind}/${a.change.name}: ${a.error}`)).toEqual([]);
    expect(first.verify).toEqual([]);
    expect(fx.emu.stats.applies).toBe(1);
    // TOTP is reported as unsupported for every profile, never dropped silently: one note naming them all.
    expect(first.plan.conflicts.filter((c) => c.message.includes('secondFactor totp')).map((c) => c.name)).toEqual([[...desired.resources.vpnProfiles.keys()].sort().join(', ')]);

    const names = fx.emu.state.config.aliases.map((a) => a.name);
    expect(names).toEqual(expect.arrayContaining(['net_lan', 'net_dmz', 'srv_ad', 'srv_ebrigade', 'ports_sip', 'ports_rtp', 'ports_mail']));
    expect(ownedDescrs(fx, 'openvpn')).toEqual(['vpn-sip', 'vpn-rtp', 'vpn-mail', 'vpn-ebrigade', 'vpn-ad-auth', 'vpn-default-deny']);
    // GUI rule on the DMZ stays; owned rules go before the interface's first rule.
    expect(ownedDescrs(fx, 'opt1')).toEqual(['dmz-to-lan-deny', 'dmz-to-internet', 'GUI: DMZ DNS resolver']);
    const dmzOut = fx.emu.state.config.rules.find((r) => String(r.descr).endsWith('[infrasec:test:dmz-to-internet]'))!;
    expect(dmzOut).toMatchObject({ gateway: 'WAN_FAILOVER', destination_port: 'dmz_to_internet_ports', protocol: 'tcp' });
    const nat = fx.emu.state.config.nat;
    expect(nat).toHaveLength(1);
    expect(nat[0]).toMatchObject({ interface: 'wan', destination_port: '443', target: '172.16.50.10', local_port: '443' });
    expect(fx.emu.state.config.rules.some((r) => r.associated_rule_id === nat[0]!.associated_rule_id)).toBe(true);
    // In force: the running store holds what was applied.
    expect(fx.emu.state.running.rules.length).toBe(fx.emu.state.config.rules.length);
    expect(fx.emu.state.running.aliases.map((a) => a.name)).toEqual(names);
    const csos = fx.emu.state.csos;
    expect(csos.map((c) => [c.common_name, c.tunnel_network])).toContainEqual(['jmeyer', '10.8.0.10/24']);
    expect(fx.emu.state.certs.filter((c) => String(c.descr).startsWith('VPN ')).length).toBe(desired.resources.vpnProfiles.size);

    fx.emu.resetStats();
    const second = await pass(fx.reconciler, desired);
    expect(second.plan.changes).toEqual([]);
    expect(fx.emu.stats.writeRequests).toBe(0);
    expect(fx.emu.stats.applies).toBe(0);
  });
});

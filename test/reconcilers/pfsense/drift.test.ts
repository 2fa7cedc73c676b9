// Drift on pfSense: GUI edits, disables, moves, deletes and saved-but-unapplied changes are planned and corrected.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Obj } from '../../emulators/pfsense/index.js';
import { alias, rule, state } from './desired-builder.ts';
import { type Fixture, pass, startFixture } from './firewall-fixture.ts';

let fx: Fixture;
const DESIRED = state({
  aliases: [alias('srv-a', { entries: ['192.168.10.20'] })],
  rules: [rule('r1', { order: 1, destination: { alias: 'srv-a' } }), rule('r2', { order: 2, action: 'block' })],
});

beforeEach(async () => {
  fx = await startFixture();
  await pass(fx.reconciler, DESIRED);
  fx.emu.resetStats();
});
afterEach(async () => {
  await fx.close();
});

const owner = (r: Obj) => /\[infrasec:test:([^\]]+)\]$/.exec(String(r.descr))?.[1] ?? 'gui';
const idOf = (name: string) => fx.emu.state.config.rules.findIndex((r) => owner(r) === name);
const planned = async () => {
  const live = await fx.reconciler.observe(AbortSignal.timeout(30_000));
  return fx.reconciler.plan(DESIRED, live, { ...(await import('./firewall-fixture.ts')).POLICY }).changes.map((c) => `${c.action} ${c.kind}/${c.name}: ${c.fields.map((f) => f.path).join(',')}`);
};

describe('pfSense drift', () => {
  it.each([
    ['a rule edited in the GUI', async () => fx.emu.gui('PATCH', 'firewall/rule', { id: idOf('r1'), destination: 'any', log: true }), ['update FirewallRule/r1: spec.destination,spec.log', 'update FirewallApply/filter: running']],
    ['a rule disabled in the GUI', async () => fx.emu.gui('PATCH', 'firewall/rule', { id: idOf('r2'), disabled: true }), ['update FirewallRule/r2: spec.disabled', 'update FirewallApply/filter: running']],
    ['a rule moved in the GUI', async () => fx.emu.gui('PATCH', 'firewall/rule', { id: idOf('r2'), placement: 0 }), ['update FirewallRule/r2: spec.order', 'update FirewallApply/filter: running']],
    ['an owned alias deleted in the GUI', async () => fx.emu.gui('DELETE', 'firewall/alias', { id: 0 }), ['create FirewallAlias/srv-a: spec.type,spec.entries']],
  ] as const)('reports and corrects %s, and the correction is in force', async (_, edit, expected) => {
    await edit();
    expect(await planned()).toEqual(expected);
    const out = await pass(fx.reconciler, DESIRED);
    expect(out.applied.every((a) => a.ok)).toBe(true);
    expect(out.verify).toEqual([]);
    expect(fx.emu.state.config.rules.filter((r) => owner(r) !== 'gui').map(owner)).toEqual(['r1', 'r2']);
    expect(fx.emu.state.running.rules).toEqual(fx.emu.state.config.rules);
    expect(fx.emu.state.running.aliases).toEqual(fx.emu.state.config.aliases);
    fx.emu.resetStats();
    expect(await planned()).toEqual([]);
    expect(fx.emu.stats.writeRequests).toBe(0);
  });

  it('applies a change saved in the GUI but never applied, once', async () => {
    await fx.emu.gui('POST', 'firewall/rule', { type: 'block', interface: ['wan'], ipprotocol: 'inet', source: 'any', destination: 'any', descr: 'GUI block' });
    expect(fx.emu.state.running.rules.some((r) => r.descr === 'GUI block')).toBe(false);
    expect(await planned()).toEqual(['update FirewallApply/filter: running']);
    await pass(fx.reconciler, DESIRED);
    expect(fx.emu.stats.applies).toBe(1);
    expect(fx.emu.state.running.rules.some((r) => r.descr === 'GUI block')).toBe(true);
    // pfRest's apply leaves the flag set: it is not news on the next pass.
    expect(await planned()).toEqual([]);
  });
});

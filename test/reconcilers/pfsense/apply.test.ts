// Apply against the emulator over HTTPS: every kind created, updated, reordered, removed; id shifts; the lock; lost connections; injection.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectHaltedAfterLoss } from '../../engine/halted-apply.ts';
import type { Obj } from '../../emulators/pfsense/index.js';
import { alias, portForward, rule, state } from './desired-builder.ts';
import { type Fixture, newReconciler, pass, POLICY, startFixture } from './firewall-fixture.ts';
import { guard } from '../../../src/engine/guard.ts';

let fx: Fixture;
beforeEach(async () => {
  fx = await startFixture();
});
afterEach(async () => {
  await fx.close();
});

const owner = (r: Obj) => /\[infrasec:test:([^\]]+)\]$/.exec(String(r.descr))?.[1] ?? `gui:${String(r.descr)}`;
const rulesOn = (iface: string) => fx.emu.state.config.rules.filter((r) => (r.interface as string[])[0] === iface).map(owner);

const V1 = state({
  aliases: [alias('srv-a', { entries: ['192.168.10.20'] }), alias('srv-b', { entries: ['192.168.10.21'] })],
  rules: [
    rule('r1', { order: 10, destination: { alias: 'srv-a' } }),
    rule('r2', { order: 20, destination: { alias: 'srv-b' } }),
    rule('r3', { order: 30, action: 'block', log: true }),
  ],
  portForwards: [portForward('web', { externalPort: '443', targetPort: '443' })],
});
const V2 = state({
  aliases: [alias('srv-a', { entries: ['192.168.10.20', '192.168.10.22'] })],
  rules: [
    rule('r3', { order: 5, action: 'block', log: true }),
    rule('r1', { order: 10, destination: { alias: 'srv-a' }, description: 'now described' }),
  ],
  portForwards: [portForward('web', { externalPort: '8443', targetPort: '443' })],
});

describe('pfSense apply', () => {
  it('creates, then updates, reorders and removes each kind, applying once per pass and verifying', async () => {
    const first = await pass(fx.reconciler, V1);
    expect(first.applied.every((a) => a.ok)).toBe(true);
    expect(first.verify).toEqual([]);
    expect(rulesOn('lan')).toEqual(['r1', 'r2', 'r3', 'gui:Default allow LAN to any rule']);
    expect(fx.emu.stats.applies).toBe(1);

    fx.emu.resetStats();
    const second = await pass(fx.reconciler, V2);
    expect(second.applied.filter((a) => !a.ok)).toEqual([]);
    expect(second.verify).toEqual([]);
    expect(rulesOn('lan')).toEqual(['r3', 'r1', 'gui:Default allow LAN to any rule']);
    expect(fx.emu.state.config.aliases.map((a) => [a.name, a.address])).toEqual([['srv_a', ['192.168.10.20', '192.168.10.22']]]);
    expect(fx.emu.state.config.nat.map((n) => n.destination_port)).toEqual(['8443']);
    // The associated rule followed the forward's new port? It keeps the local port; only one exists.
    expect(fx.emu.state.config.rules.filter((r) => r.associated_rule_id).length).toBe(1);
    expect(fx.emu.stats.applies).toBe(1);
    expect(fx.emu.state.running.rules.map(owner)).toEqual(fx.emu.state.config.rules.map(owner));

    fx.emu.resetStats();
    const third = await pass(fx.reconciler, V2);
    expect(third.plan.changes).toEqual([]);
    expect([fx.emu.stats.writeRequests, fx.emu.stats.applies]).toEqual([0, 0]);
  });

  it('touches only its own objects when a foreign writer shifts every id between observe and apply', async () => {
    await pass(fx.reconciler, V1);
    const signal = AbortSignal.timeout(60_000);
    const live = await fx.reconciler.observe(signal);
    const plan = fx.reconciler.plan(V2, live, POLICY);
    // Out of band: two GUI rules at the top and one alias at index 0 (every id shifts).
    await fx.emu.gui('POST', 'firewall/rule', { type: 'block', interface: ['lan'], ipprotocol: 'inet', source: 'any', destination: 'any', descr: 'GUI top', placement: 0 });
    await fx.emu.gui('POST', 'firewall/rule', { type: 'block', interface: ['lan'], ipprotocol: 'inet', source: 'any', destination: 'any', descr: 'GUI second', placement: 1 });
    await fx.emu.gui('POST', 'firewall/alias', { name: 'gui_alias', type: 'host', address: ['10.0.0.9'] });
    // And before every list the reconciler makes, one more GUI rule at the top.
    let n = 0;
    fx.emu.beforeRequest = async (info) => {
      if (info.method === 'GET' && info.path.endsWith('/firewall/rules')) await fx.emu.gui('POST', 'firewall/rule', { type: 'pass', interface: ['wan'], ipprotocol: 'inet', source: 'any', destination: 'any', descr: `GUI moving ${n++}`, placement: 0 });
    };
    const g = guard(plan, POLICY);
    if (!g.ok) throw new Error(g.reasons.join());
    const applied = await fx.reconciler.apply(g.plan, signal);
    fx.emu.beforeRequest = undefined;
    expect(applied.filter((a) => !a.ok).map((a) => `${a.change.kind}/${a.change.name}: ${a.error}`)).toEqual([]);
    expect(rulesOn('lan')).toEqual(['gui:GUI top', 'gui:GUI second', 'r3', 'r1', 'gui:Default allow LAN to any rule']);
    expect(fx.emu.state.config.aliases.map((a) => a.name).sort()).toEqual(['gui_alias', 'srv_a']);
    expect(fx.emu.state.config.rules.filter((r) => String(r.descr).startsWith('GUI moving')).length).toBe(n);
    expect(n).toBeGreaterThan(0);
  });

  it('creates each rule after a known one with singular reads by id, not a list of every rule per write', async () => {
    const many = state({ rules: Array.from({ length: 8 }, (_, i) => rule(`c${i}`, { order: i, destination: { address: `10.0.0.${i + 1}` } })) });
    const out = await pass(fx.reconciler, many);
    expect(out.applied.every((a) => a.ok)).toBe(true);
    expect(rulesOn('lan')).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'gui:Default allow LAN to any rule']);
    // The first one of the interface is placed from reads of the list; the seven after it from its known id.
    expect(fx.emu.stats.byRoute['POST /api/v2/firewall/rule']).toBe(8);
    expect(fx.emu.stats.byRoute['GET /api/v2/firewall/rule']).toBe(7 * 3);
  });

  it('falls back to reads by marker when a foreign writer shifts every id before each singular read, and orders rules right', async () => {
    const many = state({ rules: Array.from({ length: 5 }, (_, i) => rule(`c${i}`, { order: i })) });
    let n = 0;
    fx.emu.beforeRequest = async (info) => {
      if (info.method === 'GET' && info.path.endsWith('/firewall/rule')) await fx.emu.gui('POST', 'firewall/rule', { type: 'pass', interface: ['wan'], ipprotocol: 'inet', source: 'any', destination: 'any', descr: `GUI moving ${n++}`, placement: 0 });
    };
    const out = await pass(fx.reconciler, many);
    fx.emu.beforeRequest = undefined;
    expect(out.applied.filter((a) => !a.ok).map((a) => `${a.change.name}: ${a.error}`)).toEqual([]);
    expect(n).toBeGreaterThan(0);
    expect(rulesOn('lan')).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'gui:Default allow LAN to any rule']);
    expect(fx.emu.state.config.rules.filter((r) => String(r.descr).startsWith('GUI moving')).length).toBe(n);
  });

  it('says so when a foreign insert lands between its read and its write, and puts the rule in place on the next pass', async () => {
    const many = state({ rules: Array.from({ length: 3 }, (_, i) => rule(`c${i}`, { order: i })) });
    let posts = 0;
    fx.emu.beforeRequest = async (info) => {
      // Right before the third rule's POST, a GUI rule at the very top of the list: c1 is no longer at the id read.
      if (info.method === 'POST' && info.path.endsWith('/firewall/rule') && ++posts === 3) {
        await fx.emu.gui('POST', 'firewall/rule', { type: 'pass', interface: ['lan'], ipprotocol: 'inet', source: 'any', destination: 'any', descr: 'GUI top', placement: 0 });
      }
    };
    const out = await pass(fx.reconciler, many);
    fx.emu.beforeRequest = undefined;
    expect(out.applied.filter((a) => !a.ok).map((a) => `${a.change.name}: ${a.error}`)).toEqual(['c2: FirewallRule/c2: not after c1 once written']);
    const next = await pass(fx.reconciler, many);
    expect(next.applied.filter((a) => !a.ok)).toEqual([]);
    expect(rulesOn('lan')).toEqual(['gui:GUI top', 'c0', 'c1', 'c2', 'gui:Default allow LAN to any rule']);
    fx.emu.resetStats();
    expect((await pass(fx.reconciler, many)).plan.changes).toEqual([]);
    expect(fx.emu.stats.writeRequests).toBe(0);
  });

  it('waits out the 503 config lock with capped retries', async () => {
    const release = await fx.emu.holdLock();
    // Another writer holds the config until two of our writes have been refused.
    fx.emu.beforeRequest = () => {
      if (fx.emu.stats.lockRejections >= 2) release();
    };
    try {
      const out = await pass(fx.reconciler, V1);
      expect(out.applied.every((a) => a.ok)).toBe(true);
      expect(fx.emu.stats.lockRejections).toBeGreaterThan(0);
      expect(rulesOn('lan')).toEqual(['r1', 'r2', 'r3', 'gui:Default allow LAN to any rule']);
    } finally {
      fx.emu.beforeRequest = undefined;
      release();
    }
  });

  it('fails the change, not silently, when the lock never frees, and converges once it does', async () => {
    const r = newReconciler(fx.emu, fx.store, { lockRetries: 2, lockMaxDelayMs: 20 });
    const release = await fx.emu.holdLock();
    try {
      const out = await pass(r, V1);
      const failed = out.applied.filter((a) => !a.ok);
      expect(failed.length).toBeGreaterThan(0);
      expect(failed[0]!.error).toContain('MODEL_WRITE_CONFIG_LOCKED');
      // Each locked write is tried lockRetries + 1 times, then reported.
      const locked = failed.filter((a) => a.error?.includes('MODEL_WRITE_CONFIG_LOCKED')).length;
      expect(fx.emu.stats.lockRejections).toBe(3 * locked);
    } finally {
      release();
      await r.close();
    }
    const after = await pass(fx.reconciler, V1);
    expect(after.applied.every((a) => a.ok)).toBe(true);
    expect(rulesOn('lan')).toEqual(['r1', 'r2', 'r3', 'gui:Default allow LAN to any rule']);
  });

  it('converges on the next pass after the connection drops mid-apply (write done, reply lost)', async () => {
    let writes = 0;
    fx.emu.beforeRequest = (info) => (info.method !== 'GET' && ++writes === 3 ? 'drop-after' : undefined);
    fx.emu.resetStats();
    const broken = await pass(fx.reconciler, V1);
    fx.emu.beforeRequest = undefined;
    expect(broken.applied.some((a) => !a.ok && /failed|socket|closed|other side/i.test(a.error ?? ''))).toBe(true);
    // The change whose reply was lost fails; nothing after it is sent.
    expectHaltedAfterLoss(broken.applied, broken.plan.changes.length, 1);
    expect(fx.emu.stats.writeRequests).toBe(3);
    const next = await pass(fx.reconciler, V1);
    expect(next.applied.every((a) => a.ok)).toBe(true);
    expect(next.verify).toEqual([]);
    expect(rulesOn('lan')).toEqual(['r1', 'r2', 'r3', 'gui:Default allow LAN to any rule']);
    expect(fx.emu.state.config.aliases.map((a) => a.name)).toEqual(['srv_a', 'srv_b']);
    expect(fx.emu.state.running.rules.map(owner)).toEqual(fx.emu.state.config.rules.map(owner));
    fx.emu.resetStats();
    expect((await pass(fx.reconciler, V1)).plan.changes).toEqual([]);
    expect(fx.emu.stats.writeRequests).toBe(0);
  });

  it('owes the filter reload when /firewall/apply is lost, and applies it on the next pass', async () => {
    fx.emu.beforeRequest = (info) => (info.path.endsWith('/firewall/apply') && info.method === 'POST' ? 'drop-before' : undefined);
    const broken = await pass(fx.reconciler, V1);
    fx.emu.beforeRequest = undefined;
    expect(broken.applied.some((a) => !a.ok && a.error?.includes('/firewall/apply failed'))).toBe(true);
    expect(fx.emu.state.running.rules.map(owner)).not.toContain('r1');
    const next = await pass(fx.reconciler, V1);
    expect(next.plan.changes.map((c) => `${c.kind}/${c.name}`)).toEqual(['FirewallApply/filter']);
    expect(fx.emu.state.running.rules.map(owner)).toContain('r1');
    fx.emu.resetStats();
    expect((await pass(fx.reconciler, V1)).plan.changes).toEqual([]);
    expect(fx.emu.stats.applies).toBe(0);
  });

  it('keeps hostile description text verbatim and inert, and fails loudly on entries pfSense refuses', async () => {
    const hostile = `"; rm -rf / #' <script>\`x\`</script> & [infrasec:test:r9] $(id)`;
    const desired = state({ rules: [rule('r1', { description: hostile })], aliases: [alias('evil', { entries: ['10.0.0.1'] })] });
    const out = await pass(fx.reconciler, desired);
    expect(out.applied.every((a) => a.ok)).toBe(true);
    const stored = fx.emu.state.config.rules.find((r) => owner(r) === 'r1')!;
    expect(stored.descr).toBe(`${hostile} [infrasec:test:r1]`);
    fx.emu.resetStats();
    expect((await pass(fx.reconciler, desired)).plan.changes).toEqual([]);
    expect(fx.emu.stats.writeRequests).toBe(0);
    // The schema stops shell/config metacharacters in entries; if one got through, pfSense's refusal fails the change.
    const bad = await pass(fx.reconciler, state({ aliases: [alias('evil', { entries: ['10.0.0.1; reboot'] })] }));
    const failed = bad.applied.find((a) => a.change.name === 'evil')!;
    expect(failed.ok).toBe(false);
    expect(failed.error).toContain('INVALID_HOST_ALIAS_ADDRESS');
    expect(fx.emu.state.config.aliases.find((a) => a.name === 'evil')!.address).toEqual(['10.0.0.1']);
  });
});

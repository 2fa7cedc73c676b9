// Emulator vs contract sections 3–7 and errata 1, 3, 8, 9, 13: index ids, placement, replace-all, NAT side effects, apply, lock.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, closeAgent } from './api-test-client.js';
import { type PfSenseEmulator, seedInterfaces, startPfSenseEmulator, type PfSenseEmulatorOptions } from './index.js';

let emu: PfSenseEmulator;
let clock = 1_800_000_000;

async function start(opts: PfSenseEmulatorOptions = {}): Promise<void> {
  emu = await startPfSenseEmulator({ seed: async (e) => seedInterfaces(e), now: () => clock, lockWaitMs: 200, ...opts });
}
beforeEach(async () => {
  clock = 1_800_000_000;
  await start();
});
afterEach(async () => {
  await closeAgent(emu);
  await emu.close();
});

const rule = (descr: string, iface = 'lan', extra: Record<string, unknown> = {}) => ({
  type: 'pass', interface: [iface], ipprotocol: 'inet', source: 'any', destination: 'any', descr, ...extra,
});
const descrs = async () => (await call(emu, 'GET', 'firewall/rules')).body.data.map((r: { descr: string }) => r.descr);

describe('pfSense emulator objects', () => {
  it('uses list indexes as ids: deleting id 1 turns the old id 2 into id 1', async () => {
    for (const d of ['a', 'b', 'c']) await call(emu, 'POST', 'firewall/rule', { json: rule(d) });
    const del = await call(emu, 'DELETE', 'firewall/rule', { query: 'id=1' });
    expect(del.body.data).toMatchObject({ id: 1, descr: 'b' });
    const one = await call(emu, 'GET', 'firewall/rule', { query: 'id=1' });
    expect(one.body.data.descr).toBe('c');
  });

  it('keeps all interfaces in one global rule list and places by global index', async () => {
    await call(emu, 'POST', 'firewall/rule', { json: rule('lan-1') });
    await call(emu, 'POST', 'firewall/rule', { json: rule('wan-1', 'wan') });
    const placed = await call(emu, 'POST', 'firewall/rule', { json: { ...rule('lan-0'), placement: 0 } });
    expect(placed.body.data.id).toBe(0);
    expect(await descrs()).toEqual(['lan-0', 'lan-1', 'wan-1']);
    const moved = await call(emu, 'PATCH', 'firewall/rule', { json: { id: 0, placement: 2 } });
    expect(moved.body.data.id).toBe(2);
    expect(await descrs()).toEqual(['lan-1', 'wan-1', 'lan-0']);
    const past = await call(emu, 'PATCH', 'firewall/rule', { json: { id: 0, placement: 3 } });
    expect([past.status, past.body.response_id]).toEqual([500, 'MODEL_FAILED_TO_SET_PLACEMENT']);
  });

  it('refuses to delete the last rule (many_minimum 1) and multi-interface rules that are not floating', async () => {
    await call(emu, 'POST', 'firewall/rule', { json: rule('only') });
    const r = await call(emu, 'DELETE', 'firewall/rule', { query: 'id=0' });
    expect([r.status, r.body.response_id]).toEqual([403, 'MODEL_MANY_MINIMUM_REACHED']);
    const multi = await call(emu, 'POST', 'firewall/rule', { json: { ...rule('m'), interface: ['lan', 'wan'] } });
    expect(multi.body.response_id).toBe('FIREWALL_RULE_MULTIPLE_INTERFACE_WITHOUT_FLOATING');
    const floating = await call(emu, 'POST', 'firewall/rule', { json: { ...rule('f'), interface: ['lan', 'wan'], floating: true } });
    expect(floating.body.data).toMatchObject({ floating: true, quick: false, direction: 'any' });
    const change = await call(emu, 'PATCH', 'firewall/rule', { json: { id: floating.body.data.id, floating: false } });
    expect(change.body.response_id).toBe('FIELD_VALUE_CHANGED_WHEN_NOT_EDITABLE');
  });

  it('stamps trackers in seconds (duplicates in one second) and nulls fields whose conditions fail', async () => {
    const a = await call(emu, 'POST', 'firewall/rule', { json: rule('a', 'lan', { protocol: 'udp', destination_port: '53' }) });
    const b = await call(emu, 'POST', 'firewall/rule', { json: rule('b', 'lan', { destination_port: '53' }) });
    expect(a.body.data.tracker).toBe(clock);
    expect(b.body.data.tracker).toBe(a.body.data.tracker);
    expect(b.body.data.destination_port).toBeNull();
    expect(a.body.data).toMatchObject({ direction: null, quick: null, created_time: clock, created_by: '@127.0.0.1 (API)', updated_by: 'admin@127.0.0.1 (API)' });
  });

  it('checks a rule gateway exists (404 FOREIGN_MODEL_FIELD_VALUE_NOT_FOUND)', async () => {
    const r = await call(emu, 'POST', 'firewall/rule', { json: rule('g', 'lan', { gateway: 'WAN_FAILOVER' }) });
    expect([r.status, r.body.response_id]).toEqual([404, 'FOREIGN_MODEL_FIELD_VALUE_NOT_FOUND']);
    expect(r.body.message).toContain('WAN_FAILOVER');
  });

  it('replaces the whole list on PUT with one tracker and refuses a non-array body', async () => {
    await call(emu, 'POST', 'firewall/rule', { json: rule('old') });
    clock += 10;
    const r = await call(emu, 'PUT', 'firewall/rules', { json: [rule('n1'), rule('n2'), rule('n3')] });
    expect(r.body.data.map((x: { descr: string }) => x.descr)).toEqual(['n1', 'n2', 'n3']);
    expect(new Set(r.body.data.map((x: { tracker: number }) => x.tracker))).toEqual(new Set([clock]));
    const bad = await call(emu, 'PUT', 'firewall/rules', { json: { descr: 'x' } });
    expect(bad.body.response_id).toBe('ENDPOINT_REQUEST_DATA_MUST_BE_INDEXED_ARRAY');
  });

  it('creates, rewrites and deletes a port forward associated rule, shifting rule ids', async () => {
    await call(emu, 'POST', 'firewall/rule', { json: rule('first') });
    const pf = await call(emu, 'POST', 'firewall/nat/port_forward', {
      json: { interface: 'wan', protocol: 'tcp', source: 'any', destination: 'wan:ip', destination_port: '443', target: '172.16.50.10', local_port: '443', descr: 'web', associated_rule_id: 'new' },
    });
    const link = pf.body.data.associated_rule_id as string;
    expect(link).toMatch(/^nat_[0-9a-f]{13}$/);
    const rules = (await call(emu, 'GET', 'firewall/rules')).body.data;
    expect(rules[1]).toMatchObject({ descr: `Associated rule for port forward rule ${link}`, associated_rule_id: link, destination: '172.16.50.10', destination_port: '443', interface: ['wan'] });
    await call(emu, 'PATCH', 'firewall/nat/port_forward', { json: { id: 0, local_port: '8443' } });
    expect((await call(emu, 'GET', 'firewall/rule', { query: 'id=1' })).body.data.destination_port).toBe('8443');
    const put = await call(emu, 'PUT', 'firewall/rules', { json: [{ ...rules[1], associated_rule_id: link }] });
    expect(put.body.response_id).toBe('FIELD_VALUE_CHANGED_WHEN_NOT_EDITABLE');
    await call(emu, 'DELETE', 'firewall/nat/port_forward', { query: 'id=0' });
    expect(await descrs()).toEqual(['first']);
  });

  it('re-sorts port forwards by interface on v2.7.1 and keeps order with the next_minor behaviour', async () => {
    const pf = (iface: string, port: string) => ({ interface: iface, protocol: 'tcp', source: 'any', destination: 'any', destination_port: port, target: '172.16.50.10', local_port: port, descr: `${iface}-${port}` });
    await call(emu, 'POST', 'firewall/nat/port_forward', { json: pf('wan', '443') });
    const second = await call(emu, 'POST', 'firewall/nat/port_forward', { json: pf('lan', '80') });
    expect(second.body.data.id).toBe(0);
    await closeAgent(emu);
    await emu.close();
    await start({ quirks: { portForwardSort: false } });
    await call(emu, 'POST', 'firewall/nat/port_forward', { json: pf('wan', '443') });
    expect((await call(emu, 'POST', 'firewall/nat/port_forward', { json: pf('lan', '80') })).body.data.id).toBe(1);
  });

  it('validates aliases: name syntax, type-specific entries, details stored as sent', async () => {
    const bad = await call(emu, 'POST', 'firewall/alias', { json: { name: 'net-lan', type: 'network', address: ['10.0.0.0/8'] } });
    expect(bad.body.response_id).toBe('INVALID_FIREWALL_ALIAS_NAME');
    const ssh = await call(emu, 'POST', 'firewall/alias', { json: { name: 'ssh', type: 'port', address: ['22'] } });
    expect(ssh.body.response_id).toBe('INVALID_FIREWALL_ALIAS_NAME');
    const host = await call(emu, 'POST', 'firewall/alias', { json: { name: 'h', type: 'host', address: ['10.0.0.0/8'] } });
    expect(host.body.response_id).toBe('INVALID_HOST_ALIAS_ADDRESS');
    const inj = await call(emu, 'POST', 'firewall/alias', { json: { name: 'p', type: 'port', address: ['22; rm -rf /'] } });
    expect(inj.body.response_id).toBe('INVALID_PORT_ALIAS_ADDRESS');
    const ok = await call(emu, 'POST', 'firewall/alias', { json: { name: 'net_lan', type: 'network', address: ['192.168.10.0/24', '10.0.0.0/8'], detail: ['lan'] } });
    expect(ok.body.data).toMatchObject({ id: 0, name: 'net_lan', detail: ['lan'] });
    const dup = await call(emu, 'POST', 'firewall/alias', { json: { name: 'net_lan', type: 'network', address: [] } });
    expect(dup.body.response_id).toBe('FIELD_MUST_BE_UNIQUE');
    const rename = await call(emu, 'PATCH', 'firewall/alias', { json: { id: 0, name: 'net_lan2' } });
    expect(rename.body.response_id).toBe('FIELD_VALUE_CHANGED_WHEN_NOT_EDITABLE');
    const tooMany = await call(emu, 'PATCH', 'firewall/alias', { json: { id: 0, detail: ['a', 'b', 'c'] } });
    expect(tooMany.body.response_id).toBe('TOO_MANY_ALIAS_DETAILS');
    const appended = await call(emu, 'PATCH', 'firewall/alias', { json: { id: 0, address: ['172.16.0.0/12'], append: true } });
    expect(appended.body.data.address).toEqual(['192.168.10.0/24', '10.0.0.0/8', '172.16.0.0/12']);
  });

  it('filters plural reads: exact never matches arrays, __contains does, unknown suffix is 404', async () => {
    await call(emu, 'POST', 'firewall/rule', { json: rule('l') });
    await call(emu, 'POST', 'firewall/rule', { json: rule('w', 'wan') });
    expect((await call(emu, 'GET', 'firewall/rules', { query: 'interface=lan' })).body.data).toEqual([]);
    expect((await call(emu, 'GET', 'firewall/rules', { query: 'interface__contains=wan' })).body.data.map((r: { id: number }) => r.id)).toEqual([1]);
    expect((await call(emu, 'GET', 'firewall/rules', { query: 'descr__nope=x' })).body.response_id).toBe('QUERY_FILTER_NOT_FOUND');
    expect((await call(emu, 'GET', 'firewall/rules', { query: 'limit=1&offset=1' })).body.data.map((r: { descr: string }) => r.descr)).toEqual(['w']);
    expect((await call(emu, 'GET', 'firewall/rules', { query: 'sort_by=id' })).body.response_id).toBe('ENDPOINT_SORT_BY_FIELD_NON_EXISTENT_FIELD');
  });

  it('deletes many only with a query, highest id first, and an unknown key matches everything (errata 8)', async () => {
    for (const d of ['a', 'b', 'c', 'd']) await call(emu, 'POST', 'firewall/alias', { json: { name: d, type: 'host', address: ['10.0.0.1'] } });
    expect((await call(emu, 'DELETE', 'firewall/aliases')).body.response_id).toBe('MODEL_DELETE_MANY_REQUIRES_QUERY_PARAMS');
    const some = await call(emu, 'DELETE', 'firewall/aliases', { query: 'name__in=b,d' });
    expect(some.body.data.map((a: { id: number; name: string }) => [a.id, a.name])).toEqual([[3, 'd'], [1, 'b']]);
    const typo = await call(emu, 'DELETE', 'firewall/aliases', { query: 'typo=1' });
    expect(typo.body.data).toHaveLength(2);
  });

  it('keeps config and running apart until /firewall/apply; aliases set a pending flag, rules none, apply clears none', async () => {
    await call(emu, 'POST', 'firewall/rule', { json: rule('r') });
    expect((await call(emu, 'GET', 'firewall/apply')).body.data).toEqual({ applied: true, pending_subsystems: [] });
    await call(emu, 'POST', 'firewall/alias', { json: { name: 'a', type: 'host', address: ['10.0.0.1'] } });
    expect((await call(emu, 'GET', 'firewall/apply')).body.data).toEqual({ applied: false, pending_subsystems: ['aliases'] });
    expect(emu.state.running.rules).toHaveLength(0);
    const applied = await call(emu, 'POST', 'firewall/apply', { json: { async: false } });
    expect(applied.status).toBe(200);
    expect(emu.state.running.rules.map((r) => r.descr)).toEqual(['r']);
    expect(emu.state.running.aliases.map((a) => a.name)).toEqual(['a']);
    expect((await call(emu, 'GET', 'firewall/apply')).body.data.pending_subsystems).toEqual(['aliases']);
    await call(emu, 'PATCH', 'firewall/alias', { json: { id: 0, address: ['10.0.0.2'], apply: true } });
    expect((await call(emu, 'GET', 'firewall/apply')).body.data).toEqual({ applied: true, pending_subsystems: [] });
    expect(emu.state.running.aliases[0]!.address).toEqual(['10.0.0.2']);
    expect(emu.stats.applies).toBe(1);
  });

  it('runs an async apply only after its delay', async () => {
    await closeAgent(emu);
    await emu.close();
    await start({ applyDelayMs: 300 });
    await call(emu, 'POST', 'firewall/rule', { json: rule('r') });
    await call(emu, 'POST', 'firewall/apply');
    expect(emu.state.running.rules).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(emu.state.running.rules).toHaveLength(1);
  });

  it('answers 503 MODEL_WRITE_CONFIG_LOCKED with Retry-After while another writer holds the lock; reads pass', async () => {
    const release = await emu.holdLock();
    try {
      const r = await call(emu, 'POST', 'firewall/rule', { json: rule('x') });
      expect([r.status, r.body.response_id, r.headers['retry-after']]).toEqual([503, 'MODEL_WRITE_CONFIG_LOCKED', '5']);
      expect((await call(emu, 'GET', 'firewall/rules')).status).toBe(200);
      expect(emu.stats.lockRejections).toBe(1);
      expect(emu.state.config.rules).toHaveLength(0);
    } finally {
      release();
    }
    expect((await call(emu, 'POST', 'firewall/rule', { json: rule('x') })).status).toBe(200);
  });

  it('makes overlapping writes collide when each holds the lock longer than a waiter waits', async () => {
    await closeAgent(emu);
    await emu.close();
    await start({ writeLatencyMs: 400, lockWaitMs: 100 });
    const results = await Promise.all(['a', 'b', 'c'].map((d) => call(emu, 'POST', 'firewall/rule', { json: rule(d) })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 503, 503]);
    expect(emu.state.config.rules).toHaveLength(1);
  });

  it('counts write requests per route and lets a hook write out of band between requests', async () => {
    await call(emu, 'POST', 'firewall/rule', { json: rule('mine') });
    emu.resetStats();
    emu.beforeRequest = async (info) => {
      if (info.method === 'DELETE') await emu.gui('POST', 'firewall/rule', { ...rule('gui'), placement: 0 });
    };
    await call(emu, 'GET', 'firewall/rules');
    const del = await call(emu, 'DELETE', 'firewall/rule', { query: 'id=0' });
    expect(del.body.data.descr).toBe('gui');
    expect(emu.stats).toMatchObject({ reads: 1, writeRequests: 1, writes: 1, byRoute: { 'GET /api/v2/firewall/rules': 1, 'DELETE /api/v2/firewall/rule': 1 } });
  });
});

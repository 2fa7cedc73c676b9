// Benchmark: against the pfSense emulator (its own process), infrasec's initial apply of 500 rules, 200 aliases and
// 200 VPN profiles vs the same objects sent as raw POSTs (apply call included), and a no-op plan vs raw GETs of the
// same collections. Ratios measured in the same run.
//
// Usage: npm run bench:pfsense [-- RULES ALIASES PROFILES]   (defaults 500 200 200; env INFRASEC_BENCH_PF_ROUNDS no-op
// rounds, default 9; INFRASEC_BENCH_PF_PAIRS 2 = ABBA (raw, infrasec, infrasec, raw) or 1 = raw then infrasec)
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { Secret } from '../src/desired/secret.ts';
import { MemoryFingerprintStore } from '../src/state/fingerprints.ts';
import { guard } from '../src/engine/guard.ts';
import { DEFAULT_POLICY, type Change } from '../src/engine/types.ts';
import type { PfSensePayload } from '../src/reconcilers/pfsense/model.ts';
import { PfSenseReconciler } from '../src/reconcilers/pfsense/reconciler.ts';
import { PFSENSE_DEFAULTS } from '../src/reconcilers/pfsense/settings.ts';
import { alias, rule, state, user, vpn } from '../test/reconcilers/pfsense/desired-builder.ts';

const count = (i: number, fallback: number): number => Number(process.argv[i] ?? fallback);
const RULES = count(2, 500);
const ALIASES = count(3, 200);
const PROFILES = count(4, 200);
const ROUNDS = Number(process.env['INFRASEC_BENCH_PF_ROUNDS'] ?? 9);
const PAIRS = Number(process.env['INFRASEC_BENCH_PF_PAIRS'] ?? 2);
if (![RULES, ALIASES, PROFILES].every((n) => Number.isInteger(n) && n >= 1) || PROFILES > 240 || ALIASES > 60_000) {
  throw new Error('RULES ALIASES PROFILES must be positive integers (profiles at most 240: one /24 tunnel network)');
}
const KEY = 'bench-api-key-0123456789';
const POLICY = { ...DEFAULT_POLICY, deletionThreshold: { count: 100_000, percent: 100 } };
const ms = (t0: number) => performance.now() - t0;
const fmt = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const IFACES = ['lan', 'dmz', 'openvpn'] as const;
const desired = state({
  aliases: Array.from({ length: ALIASES }, (_, i) => alias(`bench-a${i}`, { type: 'host', entries: [`10.${(i >> 8) & 255}.${i & 255}.1`] })),
  rules: Array.from({ length: RULES }, (_, i) => {
    const iface = IFACES[i % 3]!;
    return rule(`bench-r${i}`, { interface: iface, source: { network: iface }, destination: { alias: `bench-a${i % ALIASES}` }, protocol: 'tcp', ports: [String(1000 + i)], order: i });
  }),
  users: Array.from({ length: PROFILES }, (_, i) => user(`agent${i}`)),
  vpnProfiles: Array.from({ length: PROFILES }, (_, i) => vpn(`vpn-agent${i}`, `agent${i}`, { staticAddress: `10.8.0.${10 + i}` })),
});

interface Firewall {
  readonly url: string;
  readonly ca: string;
  readonly dir: string;
  readonly child: ChildProcess;
}

const started = new Set<Firewall>();

/** A seeded emulator in its own process: its CPU is not the controller's, as with a real firewall. */
function startFirewall(): Promise<Firewall> {
  const dir = mkdtempSync(join(tmpdir(), 'infrasec-bench-pf-'));
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../test/emulators/pfsense/main.ts'), '--port', '0', '--state-dir', dir, '--seed', '--api-key', KEY, '--no-persist'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise<Firewall>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`emulator did not start: ${out}`)), 60_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /on (https:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const f = { url: m[1]!, ca: readFileSync(join(dir, 'tls-ca.pem'), 'utf8'), dir, child };
        started.add(f);
        resolve(f);
      }
    });
    child.once('exit', (code) => reject(new Error(`emulator exited ${code}: ${out}`)));
  }).catch((e: unknown) => {
    if (child.exitCode === null) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  });
}

async function stopFirewall(f: Firewall): Promise<void> {
  started.delete(f);
  if (f.child.exitCode === null) {
    f.child.kill('SIGTERM');
    await new Promise((r) => f.child.once('exit', r));
  }
  rmSync(f.dir, { recursive: true, force: true });
}

/** The controller's durable state is per firewall: it remembers the pending flags left by its last apply. */
const stores = new Map<Firewall, MemoryFingerprintStore>();

function reconcilerFor(f: Firewall): PfSenseReconciler {
  if (!stores.has(f)) stores.set(f, new MemoryFingerprintStore());
  return new PfSenseReconciler({
    url: f.url, auth: { kind: 'key', key: new Secret(KEY, 'env', 'bench') }, ca: f.ca, timeoutMs: 60_000, instance: 'bench',
    lockRetries: 6, lockMaxDelayMs: 2000, interfaces: { ...PFSENSE_DEFAULTS.interfaces }, certificateKey: 'ECDSA',
  }, { fingerprints: stores.get(f) });
}

/** The raw client: the same undici agent shape as the reconciler's, no lookups, no read-back. */
function rawClient(f: Firewall) {
  const agent = new Agent({ connect: { ca: f.ca }, connections: 4, keepAliveTimeout: 10_000 });
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await request(`${f.url}/api/v2/${path}`, {
      method, dispatcher: agent, headers: { 'x-api-key': KEY, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(60_000),
    });
    const json = (await res.body.json()) as { code: number; response_id: string; data: unknown };
    if (json.code !== 200) throw new Error(`${method} ${path}: ${json.code} ${json.response_id}`);
    return json.data;
  };
  return { call, close: () => agent.close() };
}

/** The bodies infrasec would write, taken from its own plan, sent as plain POSTs one after the other. */
async function rawWrites(f: Firewall, changes: readonly Change[]): Promise<number> {
  const raw = rawClient(f);
  // Each firewall made its own CA at seed: the plan's CA refid belongs to the probe.
  const servers = (await raw.call('GET', 'vpn/openvpn/servers')) as { description: string; caref: string }[];
  const caref = servers.find((x) => x.description === 'rw-agents')!.caref;
  const t0 = performance.now();
  for (const c of changes) {
    const p = c.payload as unknown as PfSensePayload;
    if (p.type === 'alias') await raw.call('POST', 'firewall/alias', p.body);
    else if (p.type === 'rule') await raw.call('POST', 'firewall/rule', p.body);
    else if (p.type === 'portForward') await raw.call('POST', 'firewall/nat/port_forward', { ...p.body, associated_rule_id: 'new' });
    else if (p.type === 'certificate') await raw.call('POST', 'system/certificate/generate', { descr: p.descr, caref, keytype: 'ECDSA', ecname: 'prime256v1', digest_alg: 'sha256', lifetime: p.lifetimeDays, dn_commonname: p.commonName, type: 'user' });
    else if (p.type === 'override' && p.body) await raw.call('POST', 'vpn/openvpn/cso', p.body);
  }
  await raw.call('POST', 'firewall/apply', { async: false });
  const t = ms(t0);
  await raw.close();
  return t;
}

async function infrasecApply(f: Firewall): Promise<{ ms: number; changes: Change[]; writes: number }> {
  const r = reconcilerFor(f);
  const signal = AbortSignal.timeout(1_800_000);
  const t0 = performance.now();
  const live = await r.observe(signal);
  const plan = r.plan(desired, live, POLICY);
  const g = guard(plan, POLICY);
  if (!g.ok) throw new Error(g.reasons.join('; '));
  const applied = await r.apply(g.plan, signal);
  const t = ms(t0);
  const failed = applied.filter((a) => !a.ok);
  if (failed.length > 0) throw new Error(`${failed.length} change(s) failed, first: ${failed[0]!.error}`);
  const writes = r.client.writes;
  await r.close();
  return { ms: t, changes: [...g.plan.changes], writes };
}

async function main(): Promise<void> {
  console.log(`pfSense bench: ${RULES} rules, ${ALIASES} aliases, ${PROFILES} VPN profiles; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  // The objects to write, from infrasec's own plan against a fresh firewall (pure planning, no write).
  const probe = await startFirewall();
  const pr = reconcilerFor(probe);
  const planned = guard(pr.plan(desired, await pr.observe(AbortSignal.timeout(60_000)), POLICY), POLICY);
  await pr.close();
  await stopFirewall(probe);
  if (!planned.ok) throw new Error('guard refused');
  const changes = [...planned.plan.changes];

  const rawTimes: number[] = [];
  const infraTimes: number[] = [];
  let converged: Firewall | undefined;
  let writes = 0;
  const order = PAIRS === 2 ? ['raw', 'infrasec', 'infrasec', 'raw'] : ['raw', 'infrasec'];
  for (const side of order) {
    const f = await startFirewall();
    if (side === 'raw') {
      rawTimes.push(await rawWrites(f, changes));
      await stopFirewall(f);
    } else {
      const out = await infrasecApply(f);
      infraTimes.push(out.ms);
      writes = out.writes;
      if (converged) await stopFirewall(converged);
      converged = f;
    }
    console.log(`  initial ${side}: ${fmt(side === 'raw' ? rawTimes.at(-1)! : infraTimes.at(-1)!)}`);
  }
  const rawW = rawTimes.reduce((a, b) => a + b, 0) / rawTimes.length;
  const infW = infraTimes.reduce((a, b) => a + b, 0) / infraTimes.length;

  // No-op plan vs raw reads of the same collections, alternating on the converged firewall.
  const f = converged!;
  const r = reconcilerFor(f);
  const raw = rawClient(f);
  const collections = ['firewall/aliases', 'firewall/rules', 'firewall/nat/port_forwards', 'routing/gateways', 'routing/gateway/groups', 'firewall/apply', 'vpn/openvpn/servers', 'system/certificates', 'system/crls', 'vpn/openvpn/csos', 'system/auth_servers'];
  const ratios: number[] = [];
  const noopTimes: number[] = [];
  const readTimes: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    let t0 = performance.now();
    await Promise.all(collections.map((c) => raw.call('GET', c)));
    const tr = ms(t0);
    t0 = performance.now();
    const plan = r.plan(desired, await r.observe(AbortSignal.timeout(60_000)), POLICY);
    const tp = ms(t0);
    if (plan.changes.length > 0) throw new Error(`no-op plan has ${plan.changes.length} change(s): ${plan.changes[0]!.kind}/${plan.changes[0]!.name}`);
    readTimes.push(tr);
    noopTimes.push(tp);
    ratios.push(tp / tr);
  }
  await raw.close();
  await r.close();
  await stopFirewall(f);

  const applyRatio = infW / rawW;
  const noopRatio = median(ratios);
  console.log(`initial apply: infrasec ${fmt(infW)} (${writes} write requests, ${changes.length} changes) vs raw POSTs ${fmt(rawW)} (${changes.length + 1} requests): ratio ${applyRatio.toFixed(2)} (target ≤ 1.3)`);
  console.log(`no-op plan:    infrasec ${fmt(median(noopTimes))} vs raw GETs ${fmt(median(readTimes))} (median of ${ROUNDS}): ratio ${noopRatio.toFixed(2)} (target ≤ 1.5)`);
}

main()
  .catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const f of [...started]) await stopFirewall(f);
  });

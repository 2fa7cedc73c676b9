// Benchmark: on one real Modoboa, infrasec's initial apply of N mailboxes + M aliases vs the same objects sent as raw POSTs, and a no-op plan vs raw paged reads.
//
// Usage: npx tsx bench/modoboa.ts [N [M]]   (default 500 mailboxes, 100 aliases; env INFRASEC_BENCH_MODOBOA_ROUNDS for the
// read rounds, default 5; INFRASEC_BENCH_MODOBOA_PAIRS 2 = ABBA (raw, infrasec, infrasec, raw) or 1 = raw then infrasec)
//
// Both sides run in the same Modoboa, each write round in a domain of its own, with the same client library (undici), the
// same bodies and the same page_size. The raw side writes without reading back; infrasec reads back every write, which is
// part of what is measured. ABBA: the database grows and the machine's load drifts during the run; in the order raw,
// infrasec, infrasec, raw a steady drift weighs on both sides alike.
import { Agent, request } from 'undici';
import { loadavg } from 'node:os';
import { Secret } from '../src/desired/secret.ts';
import { MemoryFingerprintStore } from '../src/state/fingerprints.ts';
import { runPass } from '../src/engine/pass.ts';
import { DEFAULT_POLICY } from '../src/engine/types.ts';
import { throwAwayPassword } from '../src/reconcilers/modoboa/apply.ts';
import { ModoboaReconciler } from '../src/reconcilers/modoboa/reconciler.ts';
import { MODOBOA_DEFAULTS } from '../src/reconcilers/modoboa/settings.ts';
import { startModoboa } from '../test/harness/modoboa.ts';
import { mailAlias, mailDomain, state, user } from '../test/reconcilers/modoboa/desired-builder.ts';

const N = Number(process.argv[2] ?? 500);
const M = Number(process.argv[3] ?? 100);
const ROUNDS = Number(process.env['INFRASEC_BENCH_MODOBOA_ROUNDS'] ?? 5);
const PAIRS = Number(process.env['INFRASEC_BENCH_MODOBOA_PAIRS'] ?? 2);
if (PAIRS !== 1 && PAIRS !== 2) throw new Error('INFRASEC_BENCH_MODOBOA_PAIRS must be 1 (raw, infrasec) or 2 (ABBA)');
if (!Number.isInteger(N) || N < 1 || N > 20_000 || !Number.isInteger(M) || M < 0 || M > N) throw new Error('usage: bench/modoboa.ts [mailboxes 1-20000 [aliases 0-mailboxes]]');

const pad = (i: number) => String(i).padStart(5, '0');
const ms = (t0: number) => performance.now() - t0;
const fmt = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const signal = new AbortController().signal;

const m = await startModoboa();
// The raw side gets the same connection settings as infrasec's client (keep-alive below gunicorn's 2 s idle close).
const agent = new Agent({ connections: 4, keepAliveTimeout: 1_000, keepAliveMaxTimeout: 1_000 });
try {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await request(`${m.url}${path}`, {
      dispatcher: agent,
      method: method as 'GET',
      headers: { authorization: `Token ${m.token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`);
    return text ? (JSON.parse(text) as { next?: string | null }) : {};
  };

  // Raw writes: a domain, N accounts, M aliases, sequential POSTs, no read-back.
  const rawWriteRound = async (domain: string): Promise<number> => {
    const t0 = performance.now();
    await call('POST', '/api/v2/domains/', { name: domain, quota: '0', default_mailbox_quota: '0', enabled: true });
    for (let i = 0; i < N; i++) {
      await call('POST', '/api/v2/accounts/', {
        username: `u${pad(i)}@${domain}`, role: 'SimpleUsers', password: throwAwayPassword(), first_name: 'Jean', last_name: `NOM${pad(i)}`, is_active: true, mailbox: { use_domain_quota: true },
      });
    }
    for (let j = 0; j < M; j++) {
      await call('POST', '/api/v2/aliases/', { address: `a${pad(j)}@${domain}`, recipients: [`u${pad(j)}@${domain}`, `u${pad((j + 1) % N)}@${domain}`], enabled: true, description: 'raw' });
    }
    return ms(t0);
  };

  // infrasec: the same objects in another domain, one apply pass, by an instance of its own (so a later round's
  // controller does not count the earlier one's mailboxes as its own).
  const policy = { ...DEFAULT_POLICY, deletionThreshold: { count: 1_000_000, percent: 100 } };
  const infrasecSide = (round: number) => {
    const D = `infrasec${round}.bench.test`;
    const users = Array.from({ length: N }, (_, i) => user(`u${pad(i)}`, { email: `u${pad(i)}@${D}`, givenName: 'Jean', surname: `NOM${pad(i)}` }));
    const aliases = Array.from({ length: M }, (_, j) => mailAlias(`a${pad(j)}`, [`User/u${pad(j)}`, `User/u${pad((j + 1) % N)}`], { address: `a${pad(j)}@${D}` }));
    const desired = state({ domains: [mailDomain(D, { quotaMB: 0, defaultMailboxQuotaMB: 0 })], users, aliases });
    const reconciler = new ModoboaReconciler({ ...MODOBOA_DEFAULTS, instance: `bench${round}`, url: m.url, token: new Secret(m.token, 'env', 'bench') }, { fingerprints: new MemoryFingerprintStore() });
    return { desired, reconciler };
  };
  const infrasecWriteRound = async (side: ReturnType<typeof infrasecSide>): Promise<number> => {
    const t0 = performance.now();
    const applied = await runPass(side.reconciler, side.desired, policy, { mode: 'apply', revision: 'bench' });
    const took = ms(t0);
    if (applied.status !== 'applied') throw new Error(`apply did not succeed: ${applied.status} ${applied.error?.message ?? ''}`);
    return took;
  };

  const raws: number[] = [];
  const infrasecs: number[] = [];
  const first = infrasecSide(1);
  raws.push(await rawWriteRound('raw1.bench.test'));
  infrasecs.push(await infrasecWriteRound(first));
  if (PAIRS === 2) {
    const second = infrasecSide(2);
    infrasecs.push(await infrasecWriteRound(second));
    await second.reconciler.close();
    raws.push(await rawWriteRound('raw2.bench.test'));
  }
  const rawWrite = raws.reduce((a, b) => a + b, 0) / raws.length;
  const infrasecWrite = infrasecs.reduce((a, b) => a + b, 0) / infrasecs.length;
  const { desired, reconciler: r } = first;

  let t0: number;
  // No-op: a plan pass (observe + plan) vs the raw paged reads of the same three collections, alternated, medians.
  const rawReads: number[] = [];
  const plans: number[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    t0 = performance.now();
    for (const c of ['domains', 'accounts', 'aliases']) {
      let next: string | null | undefined = `/api/v2/${c}/?page_size=${MODOBOA_DEFAULTS.pageSize}`;
      for (let pages = 0; next && pages < 10_000; pages++) {
        const page = (await call('GET', next)) as { next?: string | null };
        next = page.next ? new URL(page.next).pathname + new URL(page.next).search : null;
      }
    }
    rawReads.push(ms(t0));
    t0 = performance.now();
    const p = await runPass(r, desired, policy, { mode: 'plan', revision: 'bench' });
    plans.push(ms(t0));
    if (p.status !== 'in-sync') throw new Error(`the no-op plan is not in sync: ${p.changes.length} change(s)`);
  }
  await r.close();

  const noop = median(plans) / median(rawReads);
  const apply = infrasecWrite / rawWrite;
  console.log(`Modoboa ${N} mailboxes + ${M} aliases, ${PAIRS === 2 ? 'ABBA' : 'AB'} (load ${loadavg()[0]?.toFixed(2)})`);
  console.log(`  initial apply: infrasec ${fmt(infrasecWrite)} vs raw POSTs ${fmt(rawWrite)}  ratio ${apply.toFixed(2)} (target ≤ 1.2; rounds: raw ${raws.map(fmt).join(', ')}; infrasec ${infrasecs.map(fmt).join(', ')})`);
  console.log(`  no-op plan:    infrasec ${fmt(median(plans))} vs raw paged reads ${fmt(median(rawReads))}  ratio ${noop.toFixed(2)} (target ≤ 1.5, medians of ${ROUNDS})`);
} finally {
  await agent.close();
  await m.stop();
}

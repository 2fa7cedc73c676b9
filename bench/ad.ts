// Benchmark: on one fresh Samba DC, infrasec's AD apply of N users vs a raw sequential ldapadd of the same users, and a no-op plan vs a raw paged ldapsearch.
//
// Usage: npm run bench:ad [-- N]   (N users per round, default 2000; env INFRASEC_BENCH_AD_USERS, _ROUNDS, _PAIRS)
//
// Adds are measured ABBA (raw, infrasec, infrasec, raw) by default: the machine is shared and the directory grows,
// so whoever runs first is favoured; ABBA cancels a linear drift of both. Pair 1 alone is the strictly initial apply.
// Samba (-M single) serves one request at a time, so wall time is its CPU + its idle time (client, disk) + time it
// sat runnable behind other processes; the last is the machine's load, not the client's, and is printed apart.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { User } from '../src/desired/model.ts';
import { Secret, sha256Hex } from '../src/desired/secret.ts';
import { FileFingerprintStore } from '../src/state/fingerprints.ts';
import { guard } from '../src/engine/guard.ts';
import { DEFAULT_POLICY } from '../src/engine/types.ts';
import { encodeUnicodePwd } from '../src/reconcilers/active-directory/encoding.ts';
import { ownershipMarker } from '../src/reconcilers/active-directory/ownership.ts';
import { USER_ATTRIBUTES, USER_FILTER } from '../src/reconcilers/active-directory/observe.ts';
import { ActiveDirectoryReconciler } from '../src/reconcilers/active-directory/reconciler.ts';
import type { AdSettings } from '../src/reconcilers/active-directory/settings.ts';
import { startSambaDc, type SambaDc } from '../test/harness/samba.ts';
import { state, user } from '../test/reconcilers/active-directory/desired-builder.ts';

const N = Number(process.argv[2] ?? process.env['INFRASEC_BENCH_AD_USERS'] ?? 2000);
const ROUNDS = Number(process.env['INFRASEC_BENCH_AD_ROUNDS'] ?? 5);
const PAIRS = Number(process.env['INFRASEC_BENCH_AD_PAIRS'] ?? 2);
if (!Number.isInteger(N) || N < 1 || N > 99_999) throw new Error(`user count must be an integer from 1 to 99999, got ${process.argv[2]}`);
if (PAIRS !== 1 && PAIRS !== 2) throw new Error('INFRASEC_BENCH_AD_PAIRS must be 1 (raw, infrasec) or 2 (ABBA)');

const signal = new AbortController().signal;
const pad = (i: number) => String(i).padStart(5, '0');
const passwordOf = (round: number, i: number) => `Bench-${round}${pad(i)}-Pw!x`;
const ms = (t0: number) => performance.now() - t0;
const fmt = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const load = () => loadavg()[0]?.toFixed(2) ?? '?';

/** The same person data for both sides; only the account name prefix differs (sAMAccountName is unique domain-wide). */
function person(i: number) {
  return {
    givenName: `Prénom${i}`,
    surname: `Nom-${pad(i)}`,
    title: 'Opérateur de salle',
    department: 'Cellule de crise',
    email: `u${pad(i)}@cod67.infrasec.test`,
    telephoneNumber: `+33 3 88 ${pad(i)}`,
  };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${stderr.split('\n').slice(-3).join(' ')}`))));
  });
}

/** libldap checks the URL's host against the certificate, and Samba's names the DC, not the IP: the baseline skips only that. */
function ldapEnv(dc: SambaDc): NodeJS.ProcessEnv {
  return { LDAPTLS_CACERT: dc.caFile, LDAPTLS_REQCERT: 'never' };
}

/** CPU seconds samba has used so far (utime+stime from /proc): server work, which other load on the machine does not inflate. */
async function sambaCpu(dc: SambaDc): Promise<number> {
  const stat = await readFile(`/proc/${dc.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Samba's scheduler account (/proc/PID/schedstat): seconds on a CPU and seconds runnable but waiting for one. */
async function sambaSched(dc: SambaDc): Promise<{ runS: number; waitS: number }> {
  const [run, wait] = (await readFile(`/proc/${dc.pid}/schedstat`, 'utf8')).trim().split(' ').map(Number);
  return { runS: (run ?? 0) / 1e9, waitS: (wait ?? 0) / 1e9 };
}

interface Measure {
  readonly side: 'raw' | 'infrasec';
  readonly round: number;
  readonly wallMs: number;
  readonly sambaCpuS: number;
  /** Samba runnable but not running (other load), and neither (idle: waiting for the client or for disk). */
  readonly sambaQueuedS: number;
  readonly sambaIdleS: number;
  readonly load: string;
}

async function measureSamba<T>(dc: SambaDc, side: Measure['side'], round: number, work: () => Promise<T>): Promise<{ result: T; measure: Measure }> {
  const l = load();
  const cpu0 = await sambaCpu(dc);
  const s0 = await sambaSched(dc);
  const t0 = performance.now();
  const result = await work();
  const wallMs = ms(t0);
  const s1 = await sambaSched(dc);
  const runS = s1.runS - s0.runS;
  const sambaQueuedS = s1.waitS - s0.waitS;
  return {
    result,
    measure: { side, round, wallMs, sambaCpuS: (await sambaCpu(dc)) - cpu0, sambaQueuedS, sambaIdleS: Math.max(0, wallMs / 1000 - runS - sambaQueuedS), load: l },
  };
}

const roundJson = (m: Measure) => ({ round: m.round, ms: Math.round(m.wallMs), sambaCpuS: +m.sambaCpuS.toFixed(1), sambaQueuedS: +m.sambaQueuedS.toFixed(1), sambaIdleS: +m.sambaIdleS.toFixed(1), load: m.load });
const schedNote = (m: Measure) => `samba CPU ${m.sambaCpuS.toFixed(1)} s, waiting for a CPU ${m.sambaQueuedS.toFixed(1)} s, idle ${m.sambaIdleS.toFixed(1)} s, load ${m.load}`;

async function rawAdd(dc: SambaDc, dir: string, pwFile: string, round: number): Promise<Measure> {
  const ou = `OU=rawbench${round},${dc.baseDN}`;
  const ouLdif = join(dir, `ou${round}.ldif`);
  await writeFile(ouLdif, `dn: ${ou}\nobjectClass: organizationalUnit\n\n`);
  await run('ldapadd', ['-H', dc.ldapsUrl, '-x', '-D', dc.bindDN, '-y', pwFile, '-f', ouLdif], ldapEnv(dc));

  const lines: string[] = [];
  for (let i = 0; i < N; i++) {
    const p = person(i);
    const name = `r${round}${pad(i)}`;
    lines.push(
      `dn: CN=${name},${ou}`, 'objectClass: user', `sAMAccountName: ${name}`,
      `givenName:: ${Buffer.from(p.givenName).toString('base64')}`, `sn: ${p.surname}`,
      `displayName:: ${Buffer.from(`${p.givenName} ${p.surname}`).toString('base64')}`,
      `title:: ${Buffer.from(p.title).toString('base64')}`, `department: ${p.department}`, `mail: ${p.email}`,
      `telephoneNumber: ${p.telephoneNumber}`, `userPrincipalName: ${name}@cod67.infrasec.test`,
      'userAccountControl: 512', `adminDescription: raw-${ownershipMarker('default')}`,
      `unicodePwd:: ${encodeUnicodePwd(passwordOf(round, i)).toString('base64')}`, '',
    );
  }
  const ldif = join(dir, `users${round}.ldif`);
  await writeFile(ldif, lines.join('\n'));
  // One process, one connection, one entry after another: the sequential baseline.
  const { measure } = await measureSamba(dc, 'raw', round, () => run('ldapadd', ['-H', dc.ldapsUrl, '-x', '-D', dc.bindDN, '-y', pwFile, '-f', ldif], ldapEnv(dc)));
  console.log(`  raw ldapadd      round ${round}: ${fmt(measure.wallMs)}  (${schedNote(measure)})`);
  return measure;
}

/** One pass (observe, plan, guard, apply, verify) whose apply creates the round's N users; only apply is timed. */
async function infrasecApply(dc: SambaDc, settings: AdSettings, fingerprints: FileFingerprintStore, users: User[], passwords: Record<string, Secret>, round: number) {
  for (let i = 0; i < N; i++) {
    const name = `b${round}${pad(i)}`;
    users.push(user(name, { ...person(i), mustChangePassword: false }));
    passwords[name] = new Secret(passwordOf(round, i), 'encrypted', sha256Hex(`ciphertext-${name}`));
  }
  const desired = state({ users, passwords });
  const rec = new ActiveDirectoryReconciler(settings, { fingerprints });
  let t0 = performance.now();
  const plan = rec.plan(desired, await rec.observe(signal), DEFAULT_POLICY);
  const planMs = ms(t0);
  const g = guard(plan, DEFAULT_POLICY);
  if (!g.ok) throw new Error(`guard refused: ${g.reasons.join('; ')}`);
  let lastTick = 0;
  const own0 = process.cpuUsage();
  const { result: applied, measure } = await measureSamba(dc, 'infrasec', round, () =>
    rec.apply(g.plan, signal, {
      onApplied: (_a, done, total) => {
        if (process.stdout.isTTY && (done - lastTick >= total / 10 || done === total)) {
          lastTick = done;
          process.stdout.write(`  apply ${done}/${total}\r`);
        }
      },
    }),
  );
  const own = process.cpuUsage(own0);
  const failed = applied.filter((a) => !a.ok);
  if (failed.length > 0) throw new Error(`${failed.length} changes failed, first: ${failed[0]?.error}`);
  const writes = applied.reduce((n, a) => n + a.writes, 0);
  t0 = performance.now();
  const problems = await rec.verify(applied, signal);
  const verifyMs = ms(t0);
  if (problems.length > 0) throw new Error(`verify found ${problems.length} problems, first: ${problems[0]?.message}`);
  await rec.close();
  console.log(
    `  infrasec apply   round ${round}: ${fmt(measure.wallMs)}  (${schedNote(measure)}; infrasec CPU ${((own.user + own.system) / 1e6).toFixed(1)} s; ` +
      `${writes} writes; observe+plan before it ${fmt(planMs)}, verify after it ${fmt(verifyMs)})`,
  );
  return { measure, desired, writes, verifyMs };
}

async function rawRead(dc: SambaDc, pwFile: string): Promise<number> {
  const t0 = performance.now();
  await run('ldapsearch', ['-H', dc.ldapsUrl, '-x', '-D', dc.bindDN, '-y', pwFile, '-b', dc.baseDN, '-E', 'pr=1000/noprompt', '-LLL', USER_FILTER, ...USER_ATTRIBUTES], ldapEnv(dc));
  return ms(t0);
}

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

async function main() {
  console.log(`bench:ad — ${N} users with passwords per round, adds ${PAIRS === 2 ? 'ABBA (raw, infrasec, infrasec, raw)' : 'raw then infrasec'}, ${ROUNDS} read rounds`);
  const dc = await startSambaDc();
  const dir = await mkdtemp(join(tmpdir(), 'infrasec-bench-ad-'));
  try {
    const pwFile = join(dir, 'bind.pw');
    await writeFile(pwFile, dc.bindPassword, { mode: 0o600 });
    const fingerprints = await FileFingerprintStore.open(join(dir, 'state', 'fingerprints.json'));
    const settings: AdSettings = {
      url: dc.ldapsUrl, bindDN: dc.bindDN, bindPassword: new Secret(dc.bindPassword, 'env', sha256Hex('bind')),
      baseDN: dc.baseDN, caFile: dc.caFile, tlsServerName: dc.tlsServerName,
      concurrency: process.env['INFRASEC_BENCH_AD_CONCURRENCY'] ? Number(process.env['INFRASEC_BENCH_AD_CONCURRENCY']) : undefined,
    };
    const users: User[] = [];
    const passwords: Record<string, Secret> = {};

    console.log('adds:');
    const raw1 = await rawAdd(dc, dir, pwFile, 1);
    const inf1 = await infrasecApply(dc, settings, fingerprints, users, passwords, 1);
    const raws = [raw1];
    const infs = [inf1.measure];
    let last = inf1;
    if (PAIRS === 2) {
      last = await infrasecApply(dc, settings, fingerprints, users, passwords, 2);
      infs.push(last.measure);
      raws.push(await rawAdd(dc, dir, pwFile, 2));
    }

    // No-op plan over everything now in the directory (a fresh session each round, like the raw tool), vs the raw
    // paged ldapsearch of the same entries and attributes (observe reads every user under baseDN).
    const noopMs: number[] = [];
    const readMs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      readMs.push(await rawRead(dc, pwFile));
      const fresh = new ActiveDirectoryReconciler(settings, { fingerprints });
      const t0 = performance.now();
      const p = fresh.plan(last.desired, await fresh.observe(signal), DEFAULT_POLICY);
      noopMs.push(ms(t0));
      await fresh.close();
      if (p.changes.length > 0) throw new Error(`no-op plan has ${p.changes.length} changes, first ${p.changes[0]?.kind}/${p.changes[0]?.name}`);
    }
    clearInterval(sampler);

    const sum = (xs: Measure[], k: 'wallMs' | 'sambaCpuS' | 'sambaQueuedS' | 'sambaIdleS') => xs.reduce((n, x) => n + x[k], 0);
    const initialRatio = inf1.measure.wallMs / raw1.wallMs;
    const abbaRatio = sum(infs, 'wallMs') / sum(raws, 'wallMs');
    const cpuRatio = sum(infs, 'sambaCpuS') / sum(raws, 'sambaCpuS');
    const busy = (xs: Measure[]) => sum(xs, 'sambaCpuS') + sum(xs, 'sambaIdleS');
    const busyRatio = busy(infs) / busy(raws);
    const noop = median(noopMs);
    const read = median(readMs);
    const readRatio = noop / read;
    const maxRssMB = process.resourceUsage().maxRSS / 1024;
    const verdict = (r: number, target: number) => `(target <= ${target.toFixed(2)}x) ${r <= target ? 'OK' : 'MISSED'}`;
    const liveUsers = (PAIRS * 2 * N).toLocaleString('en');

    console.log('');
    console.log(`users per round            ${N}`);
    console.log(`initial apply (pair 1)     infrasec ${fmt(inf1.measure.wallMs)}   raw sequential ldapadd ${fmt(raw1.wallMs)}   ratio ${initialRatio.toFixed(2)}x ${verdict(initialRatio, 1)}`);
    if (PAIRS === 2) {
      console.log(`apply, ABBA total          infrasec ${fmt(sum(infs, 'wallMs'))}   raw ${fmt(sum(raws, 'wallMs'))}   ratio ${abbaRatio.toFixed(2)}x ${verdict(abbaRatio, 1)}`);
    }
    console.log(`  samba CPU, all adds      infrasec ${sum(infs, 'sambaCpuS').toFixed(1)} s   raw ${sum(raws, 'sambaCpuS').toFixed(1)} s   ratio ${cpuRatio.toFixed(2)}x (server work per add, not inflated by other load)`);
    console.log(`  samba waiting for a CPU  infrasec ${sum(infs, 'sambaQueuedS').toFixed(1)} s   raw ${sum(raws, 'sambaQueuedS').toFixed(1)} s   (other load on the machine)`);
    console.log(`  samba idle               infrasec ${sum(infs, 'sambaIdleS').toFixed(1)} s   raw ${sum(raws, 'sambaIdleS').toFixed(1)} s   (waiting for the client or for disk)`);
    console.log(`  samba busy (CPU + idle)  ratio ${busyRatio.toFixed(2)}x ${verdict(busyRatio, 1)}   (wall time minus time queued behind other processes: what the client controls)`);
    console.log(`no-op plan (median of ${ROUNDS})  infrasec observe+plan ${fmt(noop)}   raw paged ldapsearch ${fmt(read)}   ratio ${readRatio.toFixed(2)}x ${verdict(readRatio, 1.5)}   (${liveUsers} users read)`);
    console.log(`  observe+plan rounds      ${noopMs.map(fmt).join(', ')}`);
    console.log(`  ldapsearch rounds        ${readMs.map(fmt).join(', ')}`);
    console.log(`peak memory (this process) maxRSS ${maxRssMB.toFixed(0)} MB (sampled rss peak ${(peakRss / 1048576).toFixed(0)} MB)`);
    console.log(
      JSON.stringify({
        bench: 'ad', users: N, pairs: PAIRS,
        raw: raws.map(roundJson),
        infrasec: infs.map(roundJson),
        initialRatio: +initialRatio.toFixed(3), abbaRatio: +abbaRatio.toFixed(3), sambaCpuRatio: +cpuRatio.toFixed(3), sambaBusyRatio: +busyRatio.toFixed(3),
        noopPlanMs: Math.round(noop), rawReadMs: Math.round(read), readRatio: +readRatio.toFixed(3), maxRssMB: Math.round(maxRssMB),
      }),
    );
  } finally {
    clearInterval(sampler);
    await dc.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

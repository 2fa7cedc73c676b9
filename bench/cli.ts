// Benchmark: whole-process time of the `infrasec` command users run (bin/infrasec.js → dist/), each against a raw
// baseline measured in the same run: `--version` vs `node -e 0`; `validate` of the example and of 2,000 generated users;
// a no-op `plan` of the example and of the 2,000 users against a real Samba DC vs a raw paged `ldapsearch` of the users.
//
// Usage: npm run bench:cli [-- N]   (N generated users, default 2000; env INFRASEC_BENCH_CLI_ROUNDS, default 5)
// Rounds alternate baseline and infrasec (ABAB...) so a change of load on the shared machine hits both; medians are printed,
// of wall time and of CPU time (user + system of the process tree, from bash's `times`), which other load inflates far less.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { USER_ATTRIBUTES, USER_FILTER } from '../src/reconcilers/active-directory/observe.ts';
import { adEnvironment, startSambaDc, type SambaDc } from '../test/harness/samba.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'infrasec.js');
const N = Number(process.argv[2] ?? process.env['INFRASEC_BENCH_CLI_USERS'] ?? 2000);
const ROUNDS = Number(process.env['INFRASEC_BENCH_CLI_ROUNDS'] ?? 5);
if (!Number.isInteger(N) || N < 1 || N > 99_999) throw new Error(`user count must be an integer from 1 to 99999, got ${process.argv[2]}`);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 50) throw new Error('INFRASEC_BENCH_CLI_ROUNDS must be an integer from 1 to 50');
if (!existsSync(join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/ is missing: run `npm run build` (npm run bench:cli does it through scripts/setup.sh)');

const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const pad = (i: number) => String(i).padStart(5, '0');

interface Exit {
  readonly code: number | null;
  readonly stderr: string;
  readonly time: Time;
}

interface Time {
  /** Spawn to exit. */
  readonly ms: number;
  /** CPU (user + system) of the process and its children: what the machine's other load inflates far less than wall time. */
  readonly cpuMs: number;
}

/** `times` of bash: "0m0.011s 0m0.004s" (itself), then the same for its children. */
function childCpuMs(times: string): number {
  const lines = times.trim().split('\n');
  const seconds = [...(lines.at(-1) ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (seconds.length !== 2) throw new Error(`unexpected output of bash's times: ${times}`);
  return (seconds[0]! + seconds[1]!) * 1000;
}

/** Runs one whole process to its end (under bash, whose `times` gives its CPU), returns its exit code and times. */
function timed(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, deadlineMs = 600_000): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const script = '"$@" 2>&4 >/dev/null; rc=$?; times >&2; exit $rc';
    const child = spawn('bash', ['-c', script, 'bash', cmd, ...args], { env, cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ignore', 'pipe'], signal: AbortSignal.timeout(deadlineMs) });
    let times = '';
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (times += d.toString()));
    child.stdio[4]!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - t0;
      try {
        resolve({ code, stderr, time: { ms, cpuMs: childCpuMs(times) } });
      } catch (err) {
        reject(err);
      }
    });
  });
}

async function expectExit(what: string, run: Promise<Exit>, want: number): Promise<Time> {
  const r = await run;
  if (r.code !== want) throw new Error(`${what} exited ${r.code}, expected ${want}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  return r.time;
}

interface Pair {
  readonly name: string;
  readonly baselineName: string;
  readonly baseline: Time[];
  readonly infrasec: Time[];
}

const wall = (ts: Time[]) => median(ts.map((t) => t.ms));
const cpu = (ts: Time[]) => median(ts.map((t) => t.cpuMs));

/** ROUNDS alternating runs of the baseline and of infrasec (one warm-up of each first, not counted). */
async function pair(name: string, baselineName: string, baseline: () => Promise<Time>, infrasec: () => Promise<Time>): Promise<Pair> {
  await baseline();
  await infrasec();
  const p: Pair = { name, baselineName, baseline: [], infrasec: [] };
  for (let r = 0; r < ROUNDS; r++) {
    p.baseline.push(await baseline());
    p.infrasec.push(await infrasec());
  }
  const [bw, iw, bc, ic] = [wall(p.baseline), wall(p.infrasec), cpu(p.baseline), cpu(p.infrasec)];
  console.log(
    `${name.padEnd(26)} wall: infrasec ${fmt(iw).padStart(7)}  ${baselineName} ${fmt(bw).padStart(7)}  ratio ${(iw / bw).toFixed(2)}x  +${fmt(iw - bw)}   ` +
      `CPU: ${fmt(ic)} vs ${fmt(bc)}  ratio ${(ic / bc).toFixed(2)}x  +${fmt(ic - bc)}`,
  );
  return p;
}

/** The example desired state plus `n` generated users (no groups, no password: AD accounts with the person fields). */
function generatedState(dir: string, n: number): string {
  cpSync(join(ROOT, 'desired-state'), dir, { recursive: true });
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    docs.push(
      `---\napiVersion: infrasec/v1\nkind: User\nmetadata:\n  name: bench${pad(i)}\nspec:\n  givenName: Prénom${i}\n  surname: Nom-${pad(i)}\n` +
        `  title: Opérateur de salle\n  department: Cellule de crise\n  email: bench${pad(i)}@cod67.example.fr\n  telephoneNumber: "+33 3 88 ${pad(i)}"\n`,
    );
  }
  writeFileSync(join(dir, 'users', 'generated.yaml'), `# ${n} generated users for bench/cli.ts\n${docs.join('')}`);
  return dir;
}

/** libldap checks the URL's host against the certificate, and Samba's names the DC, not the IP: the baseline skips only that. */
const ldapEnv = (dc: SambaDc): NodeJS.ProcessEnv => ({ ...process.env, LDAPTLS_CACERT: dc.caFile, LDAPTLS_REQCERT: 'never' });

async function main(): Promise<void> {
  console.log(`bench:cli — whole processes, median of ${ROUNDS} alternating rounds after one warm-up; ${N} generated users; load ${loadavg()[0]?.toFixed(2)}`);
  const work = mkdtempSync(join(tmpdir(), 'infrasec-bench-cli-'));
  const example = join(ROOT, 'desired-state');
  const many = generatedState(join(work, `desired-${N}`), N);
  const node = process.execPath;
  const results: Pair[] = [];
  let dc: SambaDc | undefined;
  try {
    results.push(await pair('--version', 'node -e 0', () => expectExit('node -e 0', timed(node, ['-e', '0']), 0), () => expectExit('--version', timed(node, [BIN, '--version']), 0)));
    results.push(await pair('validate (example)', 'node -e 0', () => expectExit('node -e 0', timed(node, ['-e', '0']), 0), () => expectExit('validate', timed(node, [BIN, 'validate', example]), 0)));
    results.push(await pair(`validate (${N} users)`, 'node -e 0', () => expectExit('node -e 0', timed(node, ['-e', '0']), 0), () => expectExit('validate', timed(node, [BIN, 'validate', many]), 0)));

    dc = await startSambaDc();
    const pwFile = join(work, 'bind.pw');
    writeFileSync(pwFile, dc.bindPassword, { mode: 0o600 });
    const env: NodeJS.ProcessEnv = { ...process.env, ...adEnvironment(dc), INFRASEC_CONFIG: join(work, 'none.yaml'), INFRASEC_STATE_DIR: join(work, 'state') };
    await expectExit('init', timed(node, [BIN, 'init'], env), 0);
    const ldapsearch = (d: SambaDc) => () =>
      expectExit('ldapsearch', timed('ldapsearch', ['-H', d.ldapsUrl, '-x', '-D', d.bindDN, '-y', pwFile, '-b', d.baseDN, '-E', 'pr=1000/noprompt', '-LLL', USER_FILTER, ...USER_ATTRIBUTES], ldapEnv(d)), 0);
    const plan = (dir: string) => () => expectExit('no-op plan', timed(node, [BIN, 'plan', dir, '--system', 'active-directory'], env), 0);

    await expectExit('apply of the example', timed(node, [BIN, 'apply', example, '--system', 'active-directory', '--yes'], env), 0);
    results.push(await pair('no-op plan (example)', 'paged ldapsearch', ldapsearch(dc), plan(example)));
    const apply = await expectExit(`apply of ${N} users`, timed(node, [BIN, 'apply', many, '--system', 'active-directory', '--yes'], env), 0);
    console.log(`  (apply of the ${N} users before the next line, not compared: ${fmt(apply.ms)})`);
    results.push(await pair(`no-op plan (${N} users)`, 'paged ldapsearch', ldapsearch(dc), plan(many)));
  } finally {
    await dc?.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }

  const [version, , validateMany] = results;
  const verdict = (ok: boolean) => (ok ? 'OK' : 'MISSED');
  const gapWall = wall(version!.infrasec) - wall(version!.baseline);
  const gapCpu = cpu(version!.infrasec) - cpu(version!.baseline);
  console.log('');
  console.log(`load average now ${loadavg()[0]?.toFixed(2)} (wall times include waiting for a CPU; CPU times do not)`);
  console.log(`target: --version within 300 ms of node -e 0   wall +${fmt(gapWall)} ${verdict(gapWall <= 300)}   CPU +${fmt(gapCpu)} ${verdict(gapCpu <= 300)}`);
  console.log(`target: validate of ${N} users under 1 s       wall ${fmt(wall(validateMany!.infrasec))} ${verdict(wall(validateMany!.infrasec) < 1000)}   CPU ${fmt(cpu(validateMany!.infrasec))} ${verdict(cpu(validateMany!.infrasec) < 1000)}`);
  console.log(
    JSON.stringify({
      bench: 'cli', users: N, rounds: ROUNDS, load: loadavg()[0],
      results: results.map((p) => ({
        name: p.name, baseline: p.baselineName,
        baselineMs: Math.round(wall(p.baseline)), infrasecMs: Math.round(wall(p.infrasec)), ratio: +(wall(p.infrasec) / wall(p.baseline)).toFixed(3),
        baselineCpuMs: Math.round(cpu(p.baseline)), infrasecCpuMs: Math.round(cpu(p.infrasec)), cpuRatio: +(cpu(p.infrasec) / cpu(p.baseline)).toFixed(3),
      })),
    }),
  );
}

await main();

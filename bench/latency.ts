// Benchmark: time from `git push` to the change being visible in AD (raw LDAP poll), webhook-triggered, over 20 commits; prints p50 and p95.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startController } from '../src/commands/controller.ts';
import { silentLogger } from '../src/log.ts';
import { githubSignature } from '../src/sources/webhook.ts';
import { controllerConfig, findAccounts, ldapClient, seededRepository, userYaml } from '../test/controller/ad-fixture.ts';
import { startSambaDc } from '../test/harness/samba.ts';
import { initStateDir } from '../src/state/generator-key.ts';

const COMMITS = Number(process.env['BENCH_COMMITS'] ?? 20);
const SECRET = 'bench-webhook-secret';
const POLL_MS = 5;
const TIMEOUT_MS = 30_000;

function percentile(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

async function main(): Promise<void> {
  process.stderr.write('bench:latency: starting Samba AD and the controller…\n');
  const dc = await startSambaDc();
  const fx = seededRepository();
  const stateDir = await mkdtemp(join(tmpdir(), 'infrasec-bench-'));
  await initStateDir(stateDir);
  const admin = ldapClient(dc);
  const ctl = await startController(controllerConfig(dc, fx, stateDir, { pollIntervalSeconds: 3600, driftIntervalSeconds: 3600, webhookSecret: SECRET }), { logger: silentLogger });
  try {
    await admin.bind(dc.bindDN, dc.bindPassword);
    const deadline = Date.now() + 120_000;
    while (ctl.controller.status.snapshot().systems[0]?.appliedRevision !== fx.seed) {
      if (Date.now() > deadline) throw new Error('the seed commit was not applied within 120 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const webhook = async () => {
      const body = JSON.stringify({ ref: 'refs/heads/main' });
      const res = await fetch(`${ctl.server!.url}/webhook`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': githubSignature(Buffer.from(body), SECRET) } });
      if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
    };
    const samples: number[] = [];
    const passes: number[] = [];
    for (let i = 0; i <= COMMITS; i++) {
      const title = `Latency ${i}`;
      // Commit locally first: only the push and what follows it are timed.
      const git = (...a: string[]) => execFileSync('git', ['-C', fx.work, '-c', 'user.name=Bench', '-c', 'user.email=bench@cod67.example', ...a], { stdio: 'ignore' });
      writeFileSync(join(fx.work, 'users', 'bench.yaml'), userYaml('benchlat', title));
      git('add', '-A');
      git('commit', '-q', '-m', `bench ${i}`);
      const t0 = performance.now();
      git('push', '-q', 'origin', 'HEAD:main');
      await webhook();
      for (;;) {
        const [entry] = await findAccounts(admin, dc, 'benchlat');
        if (entry?.['title'] === title) break;
        if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`commit ${i} not visible in AD after ${TIMEOUT_MS} ms`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      const ms = performance.now() - t0;
      // The pass's own duration (observe → verify), to split the latency into "source + load" and "pass".
      const head = execFileSync('git', ['-C', fx.work, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
      let pass = ctl.controller.status.snapshot().systems[0]?.lastPass;
      for (let k = 0; k < 200 && pass?.revision !== head; k++) {
        await new Promise((r) => setTimeout(r, 10));
        pass = ctl.controller.status.snapshot().systems[0]?.lastPass;
      }
      if (i > 0 && pass?.revision === head) passes.push(pass.durationMs);
      if (i > 0) samples.push(ms); // commit 0 creates the account (a different change); the 20 timed commits update it
      process.stderr.write(`  commit ${i}${i === 0 ? ' (warm-up, not counted)' : ''}: ${ms.toFixed(0)} ms\n`);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p95 = percentile(sorted, 95);
    process.stdout.write(
      `bench:latency  git push → visible in AD (webhook-triggered, raw LDAP poll every ${POLL_MS} ms), ${samples.length} commits\n` +
        `  p50 ${p50.toFixed(0)} ms   p95 ${p95.toFixed(0)} ms   min ${sorted[0]!.toFixed(0)} ms   max ${sorted[sorted.length - 1]!.toFixed(0)} ms   target p50 < 1000 ms: ${p50 < 1000 ? 'met' : 'NOT met'}\n` +
        (passes.length > 0 ? `  of which the reconcile pass (observe → plan → apply → verify): p50 ${percentile([...passes].sort((a, b) => a - b), 50).toFixed(0)} ms\n` : ''),
    );
  } finally {
    await ctl.stop();
    await admin.unbind().catch(() => undefined);
    await dc.stop();
    fx.cleanup();
    await rm(stateDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:latency failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
});

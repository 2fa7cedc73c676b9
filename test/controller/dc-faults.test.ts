// End to end against a real Samba DC that freezes (SIGSTOP) or is killed and restarted in the middle of an AD pass: the pass fails by its deadline, the worker retries, and the next pass converges.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Client } from 'ldapts';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startController, type RunningController } from '../../src/commands/controller.ts';
import { configSchema } from '../../src/config.ts';
import type { ControllerStatus, SystemStatus } from '../../src/controller/status.ts';
import { startSambaDc, type SambaDc } from '../harness/samba.ts';
import type { GitFixture } from '../sources/git-fixture.ts';
import { findAccounts, ldapClient, seededRepository, setTitleByHand } from './ad-fixture.ts';
import { eventually } from './fakes.ts';
import { initStateDir } from '../../src/state/generator-key.ts';

const AD_TIMEOUT_MS = 1_500;
const BULK = 150;

let dc: SambaDc;
let fx: (GitFixture & { seed: string }) | undefined;
let ctl: RunningController | undefined;
let stateDir: string;
let logLines: string[] = [];

beforeAll(async () => {
  dc = await startSambaDc();
}, 180_000);
afterAll(async () => {
  await dc?.stop();
}, 60_000);
afterEach(async () => {
  dc?.resume();
  await ctl?.stop();
  ctl = undefined;
  fx?.cleanup();
  fx = undefined;
  await rm(stateDir, { recursive: true, force: true });
});

async function start(): Promise<RunningController> {
  fx = seededRepository();
  stateDir = await mkdtemp(join(tmpdir(), 'infrasec-dcfault-state-'));
  await initStateDir(stateDir);
  logLines = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const config = configSchema.parse({
    stateDir,
    systems: {
      'active-directory': {
        url: dc.ldapsUrl, bindDN: dc.bindDN, bindPassword: dc.bindPassword, baseDN: dc.baseDN, caFile: dc.caFile, tlsServerName: dc.tlsServerName,
        timeoutMs: AD_TIMEOUT_MS,
      },
    },
    controller: {
      git: { url: fx.url, ref: 'main' }, listen: '127.0.0.1:0', pollIntervalSeconds: 1, driftIntervalSeconds: 1, passTimeoutSeconds: 60,
      retry: { initialSeconds: 0.2, maxSeconds: 2 },
    },
    logLevel: 'info',
  });
  ctl = await startController(config, { logger: pino({ level: 'info' }, sink) });
  await eventually(() => ctl!.controller.status.snapshot().systems[0]?.appliedRevision === fx!.seed, 60_000, 'seed applied');
  return ctl;
}

function bulkYaml(prefix: string): string {
  return Array.from({ length: BULK }, (_, i) =>
    `apiVersion: infrasec/v1\nkind: User\nmetadata:\n  name: ${prefix}${String(i).padStart(3, '0')}\nspec:\n  givenName: Bulk\n  surname: U${i}\n  title: Renfort ${i}\n  groups: [cod-operateurs]\n`,
  ).join('---\n');
}

async function withAdmin<T>(use: (admin: Client) => Promise<T>): Promise<T> {
  const admin = ldapClient(dc);
  try {
    await admin.bind(dc.bindDN, dc.bindPassword);
    return await use(admin);
  } finally {
    await admin.unbind();
  }
}

/** sAMAccountNames under the domain starting with `prefix` (one entry per account, duplicates included). */
async function accounts(prefix: string): Promise<string[]> {
  return withAdmin(async (admin) => {
    const { searchEntries } = await admin.search(dc.baseDN, { filter: `(sAMAccountName=${prefix}*)`, attributes: ['sAMAccountName'], paged: true });
    return searchEntries.map((e) => String(e['sAMAccountName']));
  });
}

const ad = (c: RunningController): SystemStatus => c.controller.status.snapshot().systems[0]!;
const status = async (c: RunningController) => (await (await fetch(`${c.server!.url}/status`)).json()) as ControllerStatus;
const events = (name: string) => logLines.filter((l) => (JSON.parse(l) as { event?: string }).event === name);

describe('AD pass while the DC freezes or restarts', () => {
  it('a DC frozen mid-pass (SIGSTOP): the pass fails while the DC is still frozen, the next pass after SIGCONT writes everything and corrects a hand edit', async () => {
    const c = await start();
    await withAdmin((admin) => setTitleByHand(admin, dc, 'mlefebvre', 'Edited by hand'));
    const failuresBefore = ad(c).consecutiveFailures;
    fx!.commit({ 'users/bulk-freeze.yaml': bulkYaml('fz') }, `Add ${BULK} users`);
    await eventually(async () => (await accounts('fz')).length >= 10, 60_000, 'the pass under way');
    dc.pause();
    const pausedAt = performance.now();
    let failedAfterMs: number;
    try {
      // The safety cap is generous; what matters is that the failure is seen while the DC is still frozen.
      const failed = await eventually(() => {
        const s = ad(c);
        return s.consecutiveFailures > failuresBefore && s.state === 'backoff' ? s : undefined;
      }, 30_000, 'the pass to fail while the DC is frozen');
      failedAfterMs = performance.now() - pausedAt;
      expect(failed!.lastError?.code).toMatch(/apply-failed|target-unavailable/);
      // Stay frozen past several operation timeouts: retries fail too, none hangs.
      const retriesBefore = ad(c).consecutiveFailures;
      await eventually(() => ad(c).consecutiveFailures > retriesBefore, 30_000, 'a retry to fail as well while frozen');
    } finally {
      dc.resume();
    }
    const resumedAt = performance.now();
    await eventually(async () => (await accounts('fz')).length === BULK, 90_000, `all ${BULK} users written after SIGCONT`);
    await eventually(async () => (await withAdmin((a) => findAccounts(a, dc, 'mlefebvre')))[0]?.['title'] === 'Directrice du COD', 30_000, 'the hand edit corrected');
    const convergedMs = performance.now() - resumedAt;
    await eventually(() => ad(c).state === 'idle' && ad(c).consecutiveFailures === 0, 30_000, 'the worker healthy again');
    expect(new Set(await accounts('fz')).size).toBe(BULK);
    expect((await fetch(`${c.server!.url}/readyz`)).status).toBe(200);
    expect((await status(c)).systems[0]!.stuckSince).toBeNull();
    console.log(`[measure] SIGSTOP mid-pass: pass failed ${Math.round(failedAfterMs)} ms after SIGSTOP (AD timeout ${AD_TIMEOUT_MS} ms); converged ${Math.round(convergedMs)} ms after SIGCONT`);
  }, 240_000);

  it('a DC killed and restarted mid-pass: every change is eventually written once, and stop() leaves no pass behind', async () => {
    const c = await start();
    fx!.commit({ 'users/bulk-restart.yaml': bulkYaml('rs') }, `Add ${BULK} users`);
    await eventually(async () => (await accounts('rs')).length >= 10, 60_000, 'the pass under way');
    const killedAt = performance.now();
    await dc.restart(2_000);
    const backAt = performance.now();
    await eventually(async () => (await accounts('rs')).length >= BULK, 90_000, `all ${BULK} users written after the restart`);
    const convergedMs = performance.now() - backAt;
    await eventually(() => ad(c).state === 'idle' && ad(c).consecutiveFailures === 0, 30_000, 'the worker healthy again');
    const names = await accounts('rs');
    expect(names).toHaveLength(BULK);
    expect(new Set(names).size).toBe(BULK);
    await ctl!.stop();
    ctl = undefined;
    expect(events('controller.stop.timeout')).toEqual([]);
    expect(events('controller.stop')).toHaveLength(1);
    console.log(`[measure] kill+restart mid-pass: DC down ${Math.round(backAt - killedAt)} ms; converged ${Math.round(convergedMs)} ms after LDAPS answered again`);
  }, 240_000);
});

// Dependencies between systems in the controller: a dependent holds a new commit until its dependency converged on it, in the loop and in run --once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { onceExitCode } from '../../src/commands/controller.ts';
import { configSchema } from '../../src/config.ts';
import { Controller } from '../../src/controller/controller.ts';
import type { AnyReconciler } from '../../src/engine/systems.ts';
import type { SystemName } from '../../src/engine/types.ts';
import { silentLogger } from '../../src/log.ts';
import { AuditLog } from '../../src/report/audit.ts';
import { ControllerMetrics } from '../../src/server/metrics.ts';
import { eventually, FakeSource, FakeSystem } from './fakes.ts';

let stateDir: string;
const running: Controller[] = [];
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'infrasec-deps-'));
});
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
  await rm(stateDir, { recursive: true, force: true });
});

const DIRECTORY: SystemName = 'directory';
const MAIL: SystemName = 'mail';

/** `mail` depends on `directory`; the mail fake records whether the directory held each user when mail first observed. */
async function setup(opts: { start: boolean }) {
  const src = new FakeSource();
  const directory = new FakeSystem(DIRECTORY);
  const mail = new FakeSystem(MAIL);
  const seenByMail: Array<Record<string, string>> = [];
  const observe = mail.observe.bind(mail);
  mail.observe = async (signal) => {
    seenByMail.push(Object.fromEntries(directory.live));
    return observe(signal);
  };
  const metrics = new ControllerMetrics({ processMetrics: false });
  const c = new Controller({
    config: configSchema.parse({ stateDir, controller: { pollIntervalSeconds: 0.05, driftIntervalSeconds: 0.05, retry: { initialSeconds: 0.02, maxSeconds: 0.1 } } }),
    source: src, load: src.load,
    reconcilers: new Map<SystemName, AnyReconciler>([[MAIL, mail as unknown as AnyReconciler], [DIRECTORY, directory as unknown as AnyReconciler]]),
    dependencies: new Map([[MAIL, [DIRECTORY]], [DIRECTORY, []]]),
    skipped: [], audit: await AuditLog.open(stateDir), metrics, logger: silentLogger, shutdownGraceMs: 5_000,
  });
  running.push(c);
  if (opts.start) await c.start();
  const status = (s: SystemName) => c.status.snapshot().systems.find((x) => x.system === s)!;
  return { src, directory, mail, seenByMail, metrics, c, status };
}

describe('a system that depends on another', () => {
  it('waits, shown in /status and a metric, while its dependency has not converged on the commit, then runs after it', async () => {
    const { src, directory, mail, seenByMail, metrics, c, status } = await setup({ start: false });
    directory.observeFailures = 1_000_000;
    src.push('r1', { jdupont: 'Opérateur' });
    await c.start();

    await eventually(() => status(DIRECTORY).consecutiveFailures >= 3, 15_000, 'the directory failing repeatedly');
    expect(mail.passes).toBe(0);
    expect(status(MAIL)).toMatchObject({ state: 'waiting', waitingFor: { revision: 'r1', on: [DIRECTORY] } });
    expect(await metrics.registry.getSingleMetricAsString('infrasec_system_waiting')).toContain('infrasec_system_waiting{system="mail",on="directory"} 1');

    directory.observeFailures = 0;
    await eventually(() => status(MAIL).appliedRevision === 'r1', 15_000, 'mail converged after the directory');
    expect(mail.live.get('jdupont')).toBe('Opérateur');
    // Mail's first look came after the directory held the user.
    expect(seenByMail[0]).toEqual({ jdupont: 'Opérateur' });
    expect(status(MAIL).waitingFor).toBeNull();
    expect(await metrics.registry.getSingleMetricAsString('infrasec_system_waiting')).not.toContain('on="directory"} 1');

    // A new commit the directory cannot apply: mail keeps what r1 gave it and waits on r2.
    directory.observeFailures = 1_000_000;
    src.push('r2', { jdupont: 'Chef de salle' });
    c.trigger('test');
    await eventually(() => status(MAIL).waitingFor?.revision === 'r2', 15_000, 'mail waiting on r2');
    expect(mail.live.get('jdupont')).toBe('Opérateur');
    expect(status(MAIL).state).toBe('waiting');
  });

  it('keeps enforcing the commit it converged on while it waits for a newer one: drift from it is corrected, the wait stays shown', async () => {
    const { src, directory, mail, c, status } = await setup({ start: false });
    src.push('r1', { jdupont: 'Opérateur' });
    await c.start();
    await eventually(() => status(MAIL).appliedRevision === 'r1', 15_000, 'mail converged on r1');

    // The directory cannot apply r2: mail waits on it...
    directory.observeFailures = 1_000_000;
    src.push('r2', { jdupont: 'Chef de salle' });
    c.trigger('test');
    await eventually(() => status(MAIL).waitingFor?.revision === 'r2', 15_000, 'mail waiting on r2');
    const since = status(MAIL).waitingFor!.since;

    // ...and a hand edit on mail meanwhile is put back to what r1 says, not to r2 (the directory has not got it).
    mail.live.set('jdupont', 'edited by hand');
    await eventually(() => mail.live.get('jdupont') === 'Opérateur', 15_000, 'the hand edit corrected to r1');
    expect(status(MAIL).lastPass).toMatchObject({ revision: 'r1', drift: true });
    await eventually(() => status(MAIL).state === 'waiting', 15_000, 'mail shown waiting again after its drift pass');
    expect(status(MAIL).waitingFor).toMatchObject({ revision: 'r2', on: [DIRECTORY], since });
    expect(status(MAIL).appliedRevision).toBe('r1');
  });

  it('run --once: a dependent whose dependency failed is not run, its result says why, and the exit code is not 0', async () => {
    const first = await setup({ start: false });
    first.directory.observeFailures = 1;
    first.src.push('r1', { jdupont: 'Opérateur' });
    const results = await first.c.runOnce();
    const mailResult = results.find((r) => r.system === MAIL)!;
    expect(mailResult).toMatchObject({ status: 'failed', error: { code: 'dependency-not-converged' } });
    expect(mailResult.error?.message).toContain('depends on directory, which did not converge on r1');
    expect(first.mail.passes).toBe(0);
    expect(onceExitCode(results, first.c.status.snapshot())).toBe(1);
    running.splice(0);

    const second = await setup({ start: false });
    second.src.push('r1', { jdupont: 'Opérateur' });
    const ok = await second.c.runOnce();
    expect(ok.map((r) => [r.system, r.status]).sort()).toEqual([[DIRECTORY, 'applied'], [MAIL, 'applied']]);
    expect(second.seenByMail[0]).toEqual({ jdupont: 'Opérateur' });
  });
});

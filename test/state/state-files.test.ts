// Corrupt state files: each names itself; the derived drift report is set aside and rebuilt; controller-state.json and fingerprints.json are refused with recovery steps; the fingerprint store checks its own digest.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config.ts';
import { FileFingerprintStore } from '../../src/state/fingerprints.ts';
import { Controller, controllerPaths } from '../../src/controller/controller.ts';
import { StateFileError } from '../../src/state/state-file.ts';
import type { AnyReconciler } from '../../src/engine/systems.ts';
import type { SystemName } from '../../src/engine/types.ts';
import { silentLogger } from '../../src/log.ts';
import { AuditLog } from '../../src/report/audit.ts';
import { ControllerMetrics } from '../../src/server/metrics.ts';
import { eventually, FakeSource, FakeSystem } from '../controller/fakes.ts';

let stateDir: string;
const running: Controller[] = [];
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'infrasec-statefiles-'));
});
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
  await rm(stateDir, { recursive: true, force: true });
});

async function controller(source: FakeSource, ad: FakeSystem): Promise<Controller> {
  const c = new Controller({
    config: configSchema.parse({
      stateDir,
      systems: { 'active-directory': { url: 'ldaps://127.0.0.1', bindDN: 'CN=x', bindPassword: 'x', baseDN: 'DC=x' } },
      controller: { pollIntervalSeconds: 0.05, driftIntervalSeconds: 0.05, retry: { initialSeconds: 0.02, maxSeconds: 0.1 } },
    }),
    source, load: source.load, reconcilers: new Map<SystemName, AnyReconciler>([['active-directory', ad as unknown as AnyReconciler]]),
    skipped: [], audit: await AuditLog.open(stateDir), metrics: new ControllerMetrics({ processMetrics: false }), logger: silentLogger, shutdownGraceMs: 5_000,
  });
  running.push(c);
  return c;
}

/** Runs a controller until r1 is applied and drift was recorded, then stops it: every state file exists. */
async function populate(): Promise<void> {
  const src = new FakeSource();
  src.push('r1', { a: '1' });
  const ad = new FakeSystem('active-directory');
  const c = await controller(src, ad);
  await c.start();
  await eventually(() => c.status.snapshot().systems[0]!.appliedRevision === 'r1', 10_000, 'r1 applied');
  ad.live.set('a', 'by hand');
  await eventually(() => existsSync(controllerPaths(stateDir).driftJson), 10_000, 'drift report written');
  await c.stop();
  running.splice(0);
}

describe('corrupt state files', () => {
  it('a truncated controller-state.json is refused, naming the file, the problem and the recovery', async () => {
    await populate();
    const path = controllerPaths(stateDir).state;
    await truncate(path, 5);
    const c = await controller(new FakeSource(), new FakeSystem('active-directory'));
    const err = await c.start().then(() => undefined, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(StateFileError);
    expect(err!.message).toContain(path);
    expect(err!.message).toMatch(/not valid JSON \(Unterminated string/);
    expect(err!.message).toMatch(/restore it from a backup/);
    // Refused, not replaced: the damaged file is still there as it was.
    expect((await readFile(path, 'utf8')).length).toBe(5);
  });

  it('a controller-state.json that parses but is not one is refused too', async () => {
    await populate();
    await writeFile(controllerPaths(stateDir).state, '{"version":1,"desiredRevision":42,"systems":{}}');
    const c = await controller(new FakeSource(), new FakeSystem('active-directory'));
    await expect(c.start()).rejects.toThrow(/controller-state\.json is unusable: desiredRevision is not a string/);
  });

  it('a truncated drift/report.json (derived) is set aside and rebuilt: the controller starts and enforces', async () => {
    await populate();
    const { driftJson } = controllerPaths(stateDir);
    await truncate(driftJson, 5);
    const src = new FakeSource();
    src.push('r1', { a: '1' });
    const ad = new FakeSystem('active-directory');
    ad.live.set('a', 'drifted again');
    const c = await controller(src, ad);
    await c.start();
    const kept = (await readdir(join(stateDir, 'drift'))).filter((f) => f.startsWith('report.json.corrupt-'));
    expect(kept).toHaveLength(1);
    await eventually(() => ad.live.get('a') === '1', 10_000, 'drift corrected');
    await eventually(async () => {
      const report = JSON.parse(await readFile(driftJson, 'utf8')) as { entries: unknown[] };
      return report.entries.length > 0;
    }, 10_000, 'drift report rebuilt');
  });

  it('a truncated fingerprints.json is refused with the recovery steps, never read as "no fingerprints"', async () => {
    const path = join(stateDir, 'fingerprints.json');
    const store = await FileFingerprintStore.open(path);
    await store.setMany([['active-directory/User/a/password', 'fp-a'], ['active-directory/User/b/password', 'fp-b']]);
    await truncate(path, 5);
    const err = await FileFingerprintStore.open(path).then(() => undefined, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(StateFileError);
    expect(err!.message).toContain(path);
    expect(err!.message).toMatch(/Unterminated string/);
    expect(err!.message).toMatch(/--reset-password/);
  });

  it('fingerprints.json carries its own digest: an edited fingerprint is detected and named', async () => {
    const path = join(stateDir, 'fingerprints.json');
    const store = await FileFingerprintStore.open(path);
    await store.set('active-directory/User/a/password', 'fp-a');
    const text = await readFile(path, 'utf8');
    expect(JSON.parse(text)).toMatchObject({ version: 2, fingerprints: { 'active-directory/User/a/password': 'fp-a' }, digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    await writeFile(path, text.replace('fp-a', 'fp-x'));
    await expect(FileFingerprintStore.open(path)).rejects.toThrow(/fingerprints\.json is unusable: its digest does not match its content/);
  });

  it('reads a version 1 file (a flat map, no digest) and writes it back as version 2', async () => {
    const path = join(stateDir, 'fingerprints.json');
    await writeFile(path, JSON.stringify({ 'active-directory/User/a/password': 'fp-a' }));
    const store = await FileFingerprintStore.open(path);
    expect(store.get('active-directory/User/a/password')).toBe('fp-a');
    await store.set('active-directory/User/b/password', 'fp-b');
    const reopened = await FileFingerprintStore.open(path);
    expect([reopened.get('active-directory/User/a/password'), reopened.get('active-directory/User/b/password')]).toEqual(['fp-a', 'fp-b']);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ version: 2 });
  });

  it('leaves no temporary file behind after writes', async () => {
    const path = join(stateDir, 'fingerprints.json');
    const store = await FileFingerprintStore.open(path);
    await Promise.all([store.set('k1', 'v1'), store.set('k2', 'v2'), store.delete('k1')]);
    expect((await readdir(stateDir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((await FileFingerprintStore.open(path)).get('k2')).toBe('v2');
  });
});

// A commit over the whole-state limits (many files, each within the per-file limits) is refused with the limit named, and the last good commit stays enforced.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildSource } from '../../src/commands/controller.ts';
import { configSchema } from '../../src/config.ts';
import { Controller, controllerPaths } from '../../src/controller/controller.ts';
import type { AnyReconciler } from '../../src/engine/systems.ts';
import type { SystemName } from '../../src/engine/types.ts';
import { silentLogger } from '../../src/log.ts';
import { AuditLog } from '../../src/report/audit.ts';
import { ControllerMetrics } from '../../src/server/metrics.ts';
import { GitSource } from '../../src/sources/git.ts';
import { resource, yamlDocs } from '../desired/documents.ts';
import { createGitFixture, type GitFixture } from '../sources/git-fixture.ts';
import { eventually, FakeSystem } from './fakes.ts';

let fx: GitFixture | undefined;
let stateDir: string | undefined;
let c: Controller | undefined;
afterEach(async () => {
  await c?.stop();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
  fx?.cleanup();
});

const users = (from: number, count: number) => yamlDocs(...Array.from({ length: count }, (_, i) => resource('User', `u${from + i}`, { givenName: 'T', surname: 'U' })));

describe('controller: whole desired-state limits', () => {
  it('refuses a commit with more documents than desiredState.maxDocuments and keeps enforcing the previous one', async () => {
    fx = createGitFixture('infrasec-limits-git-');
    const good = fx.commit({ 'users/a.yaml': users(0, 5) }, 'five users');
    stateDir = await mkdtemp(join(tmpdir(), 'infrasec-limits-state-'));
    const config = configSchema.parse({
      stateDir, desiredState: { maxDocuments: 40 },
      systems: { 'active-directory': { url: 'ldaps://127.0.0.1', bindDN: 'CN=x', bindPassword: 'x', baseDN: 'DC=x' } },
      controller: { git: { url: fx.url }, pollIntervalSeconds: 0.05, driftIntervalSeconds: 0.05, retry: { initialSeconds: 0.02, maxSeconds: 0.1 } },
    });
    const ad = new FakeSystem('active-directory');
    c = new Controller({
      config, source: new GitSource({ url: fx.url, ref: 'main', path: '.', workDir: controllerPaths(stateDir).source }),
      reconcilers: new Map<SystemName, AnyReconciler>([['active-directory', ad as unknown as AnyReconciler]]),
      skipped: [], audit: await AuditLog.open(stateDir), metrics: new ControllerMetrics({ processMetrics: false }), logger: silentLogger, shutdownGraceMs: 5_000,
    });
    await c.start();
    await eventually(() => c!.status.snapshot().systems[0]!.appliedRevision === good, 15_000, 'good commit applied');

    // Ten files of ten users: each file tiny, the whole over the limit.
    const files = Object.fromEntries(Array.from({ length: 10 }, (_, f) => [`users/many-${f}.yaml`, users(100 + f * 10, 10)]));
    const big = fx.commit(files, 'a hundred users in ten files');
    await eventually(() => c!.status.snapshot().source.notApplied?.revision === big, 15_000, 'big commit refused');
    const s = c.status.snapshot().source;
    expect(s.desiredRevision).toBe(good);
    expect(s.notApplied!.code).toBe('validation-failed');
    expect(s.notApplied!.diagnostics).toHaveLength(1);
    expect(s.notApplied!.diagnostics[0]).toMatch(/^users\/many-\d\.yaml:1:1: the desired state holds more than 40 YAML documents; .*Raise desiredState\.maxDocuments \(INFRASEC_DESIRED_MAX_DOCUMENTS\)/);
    const passes = ad.passes;
    await eventually(() => ad.passes >= passes + 2, 15_000, 'more passes');
    expect(c.status.snapshot().systems[0]!.appliedRevision).toBe(good);
    expect([...ad.live.keys()].sort()).toEqual(['u0', 'u1', 'u2', 'u3', 'u4']);
  });

  it('does not even check out a commit whose YAML in Git is over desiredState.maxTotalBytes', async () => {
    fx = createGitFixture('infrasec-limits-git-');
    const good = fx.commit({ 'users/a.yaml': users(0, 5) }, 'five users');
    stateDir = await mkdtemp(join(tmpdir(), 'infrasec-limits-state-'));
    const config = configSchema.parse({
      stateDir, desiredState: { maxTotalBytes: 4_000 },
      systems: { 'active-directory': { url: 'ldaps://127.0.0.1', bindDN: 'CN=x', bindPassword: 'x', baseDN: 'DC=x' } },
      controller: { git: { url: fx.url }, pollIntervalSeconds: 0.05, driftIntervalSeconds: 0.05, retry: { initialSeconds: 0.02, maxSeconds: 0.1 } },
    });
    const ad = new FakeSystem('active-directory');
    const source = await buildSource(config);
    c = new Controller({
      config, source, reconcilers: new Map<SystemName, AnyReconciler>([['active-directory', ad as unknown as AnyReconciler]]),
      skipped: [], audit: await AuditLog.open(stateDir), metrics: new ControllerMetrics({ processMetrics: false }), logger: silentLogger, shutdownGraceMs: 5_000,
    });
    await c.start();
    await eventually(() => c!.status.snapshot().systems[0]!.appliedRevision === good, 15_000, 'good commit applied');

    const files = Object.fromEntries(Array.from({ length: 10 }, (_, f) => [`users/many-${f}.yaml`, users(100 + f * 10, 10)]));
    const big = fx.commit(files, 'ten files of ten users');
    await eventually(() => c!.status.snapshot().source.notApplied?.revision === big, 15_000, 'big commit refused');
    const s = c.status.snapshot().source;
    expect(s.desiredRevision).toBe(good);
    expect(s.notApplied!.diagnostics).toHaveLength(1);
    expect(s.notApplied!.diagnostics[0]).toMatch(/^\(desired state\): the desired state is \d+ bytes of YAML, above 4000; not checked out\. Raise desiredState\.maxTotalBytes \(INFRASEC_DESIRED_MAX_BYTES\)/);
    // The working tree still holds the good commit: not one file of the big one was written.
    const tree = join(controllerPaths(stateDir).source, 'repo');
    expect(existsSync(join(tree, 'users/a.yaml'))).toBe(true);
    expect(existsSync(join(tree, 'users/many-0.yaml'))).toBe(false);
    expect(c.status.snapshot().systems[0]!.appliedRevision).toBe(good);
  });
});

// Fast-forward only, with a real Git repository and SSH-signed commits: a force-pushed older (or sideways) signed commit is refused, audited, notified and shown in /status; the admin's overrides are exact and audited.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config.ts';
import type { ResolvedState } from '../../src/desired/model.ts';
import type { Resolved } from '../../src/desired/resolve.ts';
import { Controller, controllerPaths } from '../../src/controller/controller.ts';
import type { AnyReconciler } from '../../src/engine/systems.ts';
import type { SystemName } from '../../src/engine/types.ts';
import { silentLogger } from '../../src/log.ts';
import { AuditLog, readAuditEntries } from '../../src/report/audit.ts';
import { ControllerMetrics } from '../../src/server/metrics.ts';
import { fastForwardVerdict, type Lineage } from '../../src/sources/fast-forward.ts';
import { GitSource } from '../../src/sources/git.ts';
import { createGitFixture, type GitFixture } from '../sources/git-fixture.ts';
import { eventually, FakeSystem, fakeResources, RecordingNotifier } from './fakes.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('fastForwardVerdict', () => {
  it.each<[string, string, Lineage, Parameters<typeof fastForwardVerdict>[3]]>([
    ['same commit', 'accept', 'same', { allowNonFastForward: false }],
    ['a fast-forward', 'accept', 'descends', { allowNonFastForward: false }],
    ['a rewind', 'refuse', 'rewind', { allowNonFastForward: false }],
    ['a jump sideways', 'refuse', 'sideways', { allowNonFastForward: false }],
    ['an applied commit missing from the clone', 'refuse', 'unknown', { allowNonFastForward: false }],
    ['a rewind the admin named exactly', 'override', 'rewind', { allowNonFastForward: false, acceptNonFastForward: `${A}..${B}` }],
    ['a rewind to another commit than the one named', 'refuse', 'rewind', { allowNonFastForward: false, acceptNonFastForward: `${A}..${'c'.repeat(40)}` }],
    ['the named target reached from another commit (a replay)', 'refuse', 'rewind', { allowNonFastForward: false, acceptNonFastForward: `${'c'.repeat(40)}..${B}` }],
    ['any move when allowNonFastForward is on', 'override', 'sideways', { allowNonFastForward: true }],
    ['the commit the configured ref pins', 'override', 'rewind', { allowNonFastForward: false, pinnedCommit: B }],
  ])('%s → %s', (_name, verdict, lineage, settings) => {
    expect(fastForwardVerdict(lineage, A, B, settings).verdict).toBe(verdict);
  });

  it('says in the refusal what happened and the exact setting that would accept it', () => {
    const v = fastForwardVerdict('rewind', A, B, { allowNonFastForward: false });
    expect(v.verdict === 'refuse' && v.reason).toBe(
      `head ${B} does not descend from the applied commit ${A} (a rewind: it is an older commit of the applied history); ` +
      `to apply it anyway set controller.git.acceptNonFastForward (INFRASEC_GIT_ACCEPT_NON_FAST_FORWARD) to ${A}..${B}`);
  });
});

let fx: GitFixture;
let stateDir: string;
const running: Controller[] = [];
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'infrasec-ff-'));
});
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
  await rm(stateDir, { recursive: true, force: true });
  fx?.cleanup();
});

/** The desired state of these tests: users.json at the root of the checkout, name → value. */
async function loadUsers(root: string, revision: string): Promise<Resolved> {
  const users = new Map(Object.entries(JSON.parse(await readFile(join(root, 'users.json'), 'utf8')) as Record<string, string>));
  return { state: { resources: fakeResources(users), secrets: { get: () => undefined }, revision }, diagnostics: [], files: ['users.json'] };
}

function signedRepository() {
  fx = createGitFixture('infrasec-ff-git-');
  const keys = join(fx.dir, 'keys');
  mkdirSync(keys);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ana', '-f', join(keys, 'ana')]);
  const allowed = join(keys, 'allowed_signers');
  writeFileSync(allowed, `ana@cod67.example ${readFileSync(join(keys, 'ana.pub'), 'utf8')}`);
  const sign = ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${join(keys, 'ana')}`];
  /** A commit signed by an allowed signer, pushed to main (forced when it does not fast-forward). */
  const commit = (users: Record<string, string>, message: string, opts: { force?: boolean } = {}) => {
    writeFileSync(join(fx.work, 'users.json'), JSON.stringify(users));
    fx.git('add', '-A');
    fx.git(...sign, 'commit', '-q', '-S', '-m', message);
    fx.git('push', '-q', ...(opts.force ? ['-f'] : []), 'origin', 'HEAD:main');
    return fx.git('rev-parse', 'HEAD').trim();
  };
  const forcePush = (commit: string) => fx.git('push', '-q', '-f', 'origin', `${commit}:refs/heads/main`);
  return { allowed, commit, forcePush };
}

async function start(allowed: string, git: Record<string, unknown> = {}, notifier = new RecordingNotifier()) {
  const config = configSchema.parse({
    stateDir,
    systems: { 'active-directory': { url: 'ldaps://127.0.0.1', bindDN: 'CN=x', bindPassword: 'x', baseDN: 'DC=x' } },
    controller: {
      git: { url: fx.url, ref: 'main', verifySignatures: true, allowedSignersFile: allowed, ...git },
      pollIntervalSeconds: 0.05, driftIntervalSeconds: 0.05, retry: { initialSeconds: 0.02, maxSeconds: 0.1 },
    },
  });
  const g = config.controller.git!;
  const source = new GitSource({ url: g.url, ref: g.ref, path: g.path, workDir: controllerPaths(stateDir).source, verifySignatures: true, allowedSignersFile: allowed });
  const ad = new FakeSystem('active-directory');
  const c = new Controller({
    config, source, load: loadUsers, reconcilers: new Map<SystemName, AnyReconciler>([['active-directory', ad as unknown as AnyReconciler]]),
    skipped: [], audit: await AuditLog.open(stateDir), metrics: new ControllerMetrics({ processMetrics: false }), logger: silentLogger, notifier, shutdownGraceMs: 5_000,
  });
  running.push(c);
  await c.start();
  return { c, ad, notifier };
}

const applied = (c: Controller) => c.status.snapshot().systems[0]!.appliedRevision;
const sourceEvents = async () => (await readAuditEntries(stateDir)).filter((e) => e.system === 'source');

describe('controller: fast-forward only, with signed commits', () => {
  it('refuses a force-pushed older signed commit: nothing applied, audited once, notified, and /status says why', async () => {
    const repo = signedRepository();
    const c1 = repo.commit({ mallory: 'member of cod-informatique' }, 'C1: mallory joins cod-informatique');
    const c2 = repo.commit({ mallory: 'disabled' }, 'C2: disable mallory');
    const { c, ad, notifier } = await start(repo.allowed);
    await eventually(() => applied(c) === c2, 15_000, 'C2 applied');
    expect(ad.live.get('mallory')).toBe('disabled');

    repo.forcePush(c1);
    await eventually(() => c.status.snapshot().source.notApplied?.revision === c1, 15_000, 'C1 refused');
    const s = c.status.snapshot().source;
    expect(s.head).toMatchObject({ revision: c1, signature: { state: 'good' } });
    expect(s.desiredRevision).toBe(c2);
    expect(s.notApplied).toMatchObject({ code: 'non-fast-forward' });
    expect(s.notApplied!.reason).toContain(`does not descend from the applied commit ${c2} (a rewind`);
    expect(s.notApplied!.reason).toContain(`${c2}..${c1}`);

    // Several polls and drift passes later: still C2, the refusal audited and notified once.
    const passes = ad.passes;
    await eventually(() => ad.passes >= passes + 3, 15_000, 'more drift passes');
    ad.live.set('mallory', 'enabled by hand');
    await eventually(() => ad.live.get('mallory') === 'disabled', 15_000, 'C2 still enforced');
    expect(applied(c)).toBe(c2);
    const rejects = (await sourceEvents()).filter((e) => e.action === 'reject');
    expect(rejects).toHaveLength(1);
    expect(rejects[0]).toMatchObject({ commit: c1, result: 'rejected', signature: 'good' });
    expect(rejects[0]!.reason).toMatch(/rewind/);
    expect(notifier.sent.filter((n) => n.event === 'source.rejected')).toHaveLength(1);
    expect(notifier.sent.find((n) => n.event === 'source.rejected')).toMatchObject({ revision: c1, error: { code: 'non-fast-forward' } });
  });

  it('refuses a jump sideways to a signed commit on another history', async () => {
    const repo = signedRepository();
    const c1 = repo.commit({ mallory: 'member' }, 'C1');
    const c2 = repo.commit({ mallory: 'disabled' }, 'C2');
    const { c, ad } = await start(repo.allowed);
    await eventually(() => applied(c) === c2, 15_000, 'C2 applied');
    fx.git('checkout', '-q', '-b', 'other', c1);
    const side = repo.commit({ mallory: 'member', eve: 'admin' }, 'C3 on another branch', { force: true });
    await eventually(() => c.status.snapshot().source.notApplied?.revision === side, 15_000, 'C3 refused');
    expect(c.status.snapshot().source.notApplied!.reason).toMatch(/a jump sideways/);
    expect(ad.live.has('eve')).toBe(false);
    expect(applied(c)).toBe(c2);
  });

  it('applies the exact move the admin accepted, audits the override, and does not let it be replayed later', async () => {
    const repo = signedRepository();
    const c1 = repo.commit({ mallory: 'member' }, 'C1');
    const c2 = repo.commit({ mallory: 'disabled' }, 'C2');
    let { c } = await start(repo.allowed);
    await eventually(() => applied(c) === c2, 15_000, 'C2 applied');
    await c.stop();
    running.splice(0);

    repo.forcePush(c1);
    ({ c } = await start(repo.allowed, { acceptNonFastForward: `${c2}..${c1}` }));
    await eventually(() => applied(c) === c1, 15_000, 'C1 applied as the admin accepted');
    const accepted = (await sourceEvents()).filter((e) => e.action === 'accept-non-fast-forward');
    expect(accepted).toHaveLength(1);
    expect(accepted[0]).toMatchObject({ commit: c1, result: 'ok' });
    expect(accepted[0]!.reason).toContain(`accepted by controller.git.acceptNonFastForward=${c2}..${c1}`);

    // Forward from C1, then C1 force-pushed again: the setting named another move, so this one is refused.
    fx.git('checkout', '-q', '--detach', c1);
    const c4 = repo.commit({ mallory: 'disabled', bob: 'x' }, 'C4', { force: true });
    await eventually(() => applied(c) === c4, 15_000, 'C4 applied');
    repo.forcePush(c1);
    await eventually(() => c.status.snapshot().source.notApplied?.revision === c1, 15_000, 'replayed C1 refused');
    expect(c.status.snapshot().source.notApplied!.code).toBe('non-fast-forward');
    expect(applied(c)).toBe(c4);
  });

  it('with allowNonFastForward, accepts a rewind and audits it', async () => {
    const repo = signedRepository();
    const c1 = repo.commit({ mallory: 'member' }, 'C1');
    const c2 = repo.commit({ mallory: 'disabled' }, 'C2');
    const { c, ad } = await start(repo.allowed, { allowNonFastForward: true });
    await eventually(() => applied(c) === c2, 15_000, 'C2 applied');
    repo.forcePush(c1);
    await eventually(() => applied(c) === c1, 15_000, 'C1 applied');
    expect(ad.live.get('mallory')).toBe('member');
    const accepted = (await sourceEvents()).filter((e) => e.action === 'accept-non-fast-forward');
    expect(accepted.map((e) => e.commit)).toEqual([c1]);
    expect(accepted[0]!.reason).toMatch(/rewind.*allowNonFastForward is true/);
  });
});

// Integration: the Modoboa reconciler against a real Modoboa (PyPI, SQLite): create/update/remove, idempotence proven from Modoboa's database, leavers, drift, 429, quota, hostile names, lost connections.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectHaltedAfterLoss } from '../../engine/halted-apply.ts';
import { configSchema, loadConfig } from '../../../src/config.ts';
import type { ResolvedState } from '../../../src/desired/model.ts';
import { Secret } from '../../../src/desired/secret.ts';
import { MemoryFingerprintStore } from '../../../src/state/fingerprints.ts';
import { runPass } from '../../../src/engine/pass.ts';
import { buildSystems } from '../../../src/engine/systems.ts';
import { silentLogger } from '../../../src/log.ts';
import { SYSTEM_MODULES } from '../../../src/reconcilers/registry.ts';
import { DEFAULT_POLICY, type Policy } from '../../../src/engine/types.ts';
import { AuthenticationError, TargetUnavailableError } from '../../../src/errors.ts';
import { ModoboaReconciler } from '../../../src/reconcilers/modoboa/reconciler.ts';
import { MODOBOA_DEFAULTS } from '../../../src/reconcilers/modoboa/settings.ts';
import { startModoboa, type Modoboa } from '../../harness/modoboa.ts';
import { generateCa, issueCertificate } from '../../emulators/pfsense/pki.ts';
import { mailAlias, mailDomain, state, user } from './desired-builder.ts';

const policy = (over: Partial<Policy> = {}): Policy => ({ ...DEFAULT_POLICY, deletionThreshold: { count: 50, percent: 100 }, ...over });

function reconciler(m: Modoboa, store = new MemoryFingerprintStore(), over: { url?: string; token?: string; instance?: string; mailboxRemoval?: 'keep' | 'delete'; timeoutMs?: number } = {}) {
  return new ModoboaReconciler(
    {
      ...MODOBOA_DEFAULTS,
      url: over.url ?? m.url,
      token: new Secret(over.token ?? m.token, 'env', 'test-token'),
      ...(over.instance === undefined ? {} : { instance: over.instance }),
      mailboxRemoval: over.mailboxRemoval ?? 'keep',
      timeoutMs: over.timeoutMs ?? MODOBOA_DEFAULTS.timeoutMs,
    },
    { fingerprints: store },
  );
}

/** Everything Modoboa records when something is written: reversion revisions, its own log, the modification stamps. */
async function writeEvidence(m: Modoboa) {
  const [row] = await m.query(
    "SELECT (SELECT count(*) FROM reversion_revision), (SELECT count(*) FROM core_log), (SELECT coalesce(max(last_modification), '') FROM admin_alias), (SELECT coalesce(max(last_modification), '') FROM admin_domain)",
  );
  const [revisions, logs, aliasStamp, domainStamp] = row ?? [];
  return { revisions, logs, aliasStamp, domainStamp };
}

async function api(m: Modoboa, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${m.url}${path}`, {
    method,
    headers: { Authorization: `Token ${m.token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** What went wrong in a pass, for assertion messages. */
const why = (p: Awaited<ReturnType<typeof runPass>>) =>
  JSON.stringify({ error: p.error, failed: p.applied.filter((a) => !a.ok).map((a) => `${a.change.name}: ${a.error}`), changes: p.changes.map((c) => `${c.action} ${c.name}`) });

const pass = (r: ModoboaReconciler, desired: ResolvedState, over: { policy?: Policy; drift?: boolean; mode?: 'apply' | 'plan' } = {}) =>
  runPass(r, desired, over.policy ?? policy(), { mode: over.mode ?? 'apply', revision: 'test', isDriftPass: over.drift });

let m: Modoboa;
beforeAll(async () => {
  m = await startModoboa();
}, 900_000);
afterAll(async () => {
  await m?.stop();
}, 60_000);

const D = 'crise.test';
const at = (local: string) => `${local}@${D}`;
const people = (over: Record<string, Partial<Parameters<typeof user>[1]>> = {}) =>
  ['alice', 'bob', 'carol'].filter((n) => over[n] !== null).map((n) => user(n, { email: at(n), ...(over[n] ?? {}) }));
const desiredCrise = (o: { users?: ReturnType<typeof user>[]; aliases?: ReturnType<typeof mailAlias>[]; quotaMB?: number } = {}) =>
  state({
    domains: [mailDomain(D, { quotaMB: o.quotaMB ?? 20_000, defaultMailboxQuotaMB: 500 })],
    users: o.users ?? [user('alice', { email: at('alice'), mailbox: { quotaMB: 2000 } }), user('bob', { email: at('bob') }), user('carol', { email: at('carol'), mailbox: { aliases: [at('direction')] } })],
    aliases: o.aliases ?? [mailAlias('astreinte', ['User/alice', 'User/bob', 'prefecture@example.org'], { address: at('astreinte') })],
  });

describe('ModoboaReconciler against a real Modoboa', () => {
  const store = new MemoryFingerprintStore();

  it('creates the domain, one mailbox per person and the aliases, and a second apply writes nothing (per Modoboa’s own database)', async () => {
    const r = reconciler(m, store);
    try {
      const first = await pass(r, desiredCrise());
      expect(first.error).toBeUndefined();
      expect(first.status, why(first)).toBe('applied');
      expect(first.verify).toEqual([]);
      expect(first.applied.map((a) => `${a.change.action} ${a.change.kind}/${a.change.name}`)).toEqual([
        `create MailDomain/${D}`, `create Mailbox/${at('alice')}`, `create Mailbox/${at('bob')}`, `create Mailbox/${at('carol')}`,
        `create MailAlias/${at('astreinte')}`, `create MailAlias/${at('direction')}`,
      ]);
      expect(await m.query('SELECT name, quota, default_mailbox_quota, enabled FROM admin_domain WHERE name = ?', [D])).toEqual([[D, 20_000, 500, 1]]);
      expect(await m.query("SELECT username, first_name, last_name, is_active FROM core_user WHERE username LIKE '%@crise.test' ORDER BY username")).toEqual([
        [at('alice'), 'Jean', 'ALICE', 1], [at('bob'), 'Jean', 'BOB', 1], [at('carol'), 'Jean', 'CAROL', 1],
      ]);
      expect(await m.query("SELECT m.address, q.bytes IS NOT NULL, m.quota FROM admin_mailbox m LEFT JOIN admin_quota q ON q.username = m.address || '@crise.test' ORDER BY m.address")).toEqual([
        ['alice', 1, 2000], ['bob', 1, 500], ['carol', 1, 500],
      ]);
      const recipients = await m.query(
        "SELECT a.address, r.address FROM admin_alias a JOIN modoboa_admin_aliasrecipient r ON r.alias_id = a.id WHERE a.internal = 0 ORDER BY a.address, r.address",
      );
      expect(recipients).toEqual([[at('astreinte'), at('alice')], [at('astreinte'), at('bob')], [at('astreinte'), 'prefecture@example.org'], [at('direction'), at('carol')]]);

      const before = await writeEvidence(m);
      const second = await pass(r, desiredCrise());
      expect(second.status, JSON.stringify({ error: second.error, changes: second.changes.map((c) => [c.action, c.name, c.fields]) })).toBe('in-sync');
      expect(second.changes).toEqual([]);
      expect(second.writes).toBe(0);
      expect(await writeEvidence(m)).toEqual(before);
    } finally {
      await r.close();
    }
  });

  it('a leaver is disabled and taken out of every functional alias in one pass; the mailbox stays', async () => {
    const r = reconciler(m, store);
    try {
      const desired = desiredCrise({ users: [user('alice', { email: at('alice'), mailbox: { quotaMB: 2000 } }), user('bob', { email: at('bob'), enabled: false }), user('carol', { email: at('carol'), mailbox: { aliases: [at('direction')] } })] });
      const result = await pass(r, desired);
      expect(result.status, why(result)).toBe('applied');
      expect(result.applied.map((a) => `${a.change.action} ${a.change.kind}/${a.change.name}`)).toEqual([`disable Mailbox/${at('bob')}`, `update MailAlias/${at('astreinte')}`]);
      expect(await m.query('SELECT is_active FROM core_user WHERE username = ?', [at('bob')])).toEqual([[0]]);
      expect(await m.query("SELECT count(*) FROM admin_mailbox WHERE address = 'bob'")).toEqual([[1]]);
      expect(await m.query("SELECT r.address FROM admin_alias a JOIN modoboa_admin_aliasrecipient r ON r.alias_id = a.id WHERE a.address = ? ORDER BY r.address", [at('astreinte')])).toEqual([[at('alice')], ['prefecture@example.org']]);

      // Someone re-enables bob by hand: a drift pass reports it and, under `correct`, disables him again.
      expect((await api(m, 'PATCH', `/api/v2/accounts/${(await m.query('SELECT id FROM core_user WHERE username = ?', [at('bob')]))[0]![0]}/`, { is_active: true })).status).toBe(200);
      const reported = await pass(r, desired, { drift: true, policy: policy({ drift: { '*': 'report' } }) });
      expect(reported.held.map((h) => `${h.change.action} ${h.change.kind}/${h.change.name}`)).toEqual([`disable Mailbox/${at('bob')}`]);
      expect(reported.writes).toBe(0);
      const corrected = await pass(r, desired, { drift: true });
      expect(corrected.applied.map((a) => `${a.change.action} ${a.change.name}`)).toEqual([`disable ${at('bob')}`]);
      expect(await m.query('SELECT is_active FROM core_user WHERE username = ?', [at('bob')])).toEqual([[0]]);
    } finally {
      await r.close();
    }
  });

  it('corrects drift made in the Modoboa admin: a quota, a recipient added by hand, an owned alias deleted', async () => {
    const r = reconciler(m, store);
    const desired = desiredCrise({ users: [user('alice', { email: at('alice'), mailbox: { quotaMB: 2000 } }), user('bob', { email: at('bob'), enabled: false }), user('carol', { email: at('carol'), mailbox: { aliases: [at('direction')] } })] });
    try {
      const pkOf = async (sql: string, param: string) => ((await m.query(sql, [param]))[0] ?? [])[0] as number;
      const alicePk = await pkOf('SELECT id FROM core_user WHERE username = ?', at('alice'));
      const astreintePk = await pkOf('SELECT id FROM admin_alias WHERE address = ? AND internal = 0', at('astreinte'));
      const directionPk = await pkOf('SELECT id FROM admin_alias WHERE address = ? AND internal = 0', at('direction'));
      expect((await api(m, 'PATCH', `/api/v2/accounts/${alicePk}/`, { mailbox: { use_domain_quota: false, quota: '100' } })).status).toBe(200);
      expect((await api(m, 'PATCH', `/api/v2/aliases/${astreintePk}/`, { recipients: [at('alice'), 'prefecture@example.org', 'intrus@example.net'] })).status).toBe(200);
      expect((await api(m, 'DELETE', `/api/v2/aliases/${directionPk}/`)).status).toBe(204);

      const result = await pass(r, desired, { drift: true });
      expect(result.status, why(result)).toBe('applied');
      // In the YAML's terms: carol's extra address and alice's mailbox are part of those users.
      expect(result.applied.map((a) => `${a.change.action} ${a.change.kind}/${a.change.name}${a.change.serves ? ` → ${a.change.serves}` : ''} ${a.change.fields.map((f) => f.path).join(',')}`).sort()).toEqual([
        `create MailAlias/${at('direction')} → User/carol spec.mailbox.aliases`,
        `update MailAlias/${at('astreinte')} spec.recipients`,
        `update Mailbox/${at('alice')} → User/alice spec.mailbox.quotaMB`,
      ]);
      expect(await m.query("SELECT quota FROM admin_mailbox WHERE address = 'alice'")).toEqual([[2000]]);
      expect(await m.query("SELECT count(*) FROM modoboa_admin_aliasrecipient r JOIN admin_alias a ON a.id = r.alias_id WHERE a.address = ? AND r.address = 'intrus@example.net'", [at('astreinte')])).toEqual([[0]]);
      const before = await writeEvidence(m);
      expect((await pass(r, desired)).writes).toBe(0);
      expect(await writeEvidence(m)).toEqual(before);
    } finally {
      await r.close();
    }
  });

  it('removes what left Git: an owned alias is deleted, a leaver’s mailbox is kept disabled unless mailboxRemoval is delete', async () => {
    const desired = desiredCrise({ users: [user('alice', { email: at('alice'), mailbox: { quotaMB: 2000 } }), user('bob', { email: at('bob'), enabled: false })], aliases: [] });
    const held = await pass(reconciler(m, store), desired);
    // Pruning is off by default: removals are shown and held.
    expect(held.writes).toBe(0);
    expect(held.held.map((h) => `${h.change.action} ${h.change.name}`).sort()).toEqual([`delete ${at('astreinte')}`, `delete ${at('direction')}`, `disable ${at('carol')}`]);

    const r = reconciler(m, store);
    try {
      const pruned = await pass(r, desired, { policy: policy({ prune: true }) });
      expect(pruned.status, why(pruned)).toBe('applied');
      expect(await m.query('SELECT address FROM admin_alias WHERE internal = 0 AND address LIKE ? ORDER BY address', ['%@crise.test'])).toEqual([]);
      expect(await m.query('SELECT is_active FROM core_user WHERE username = ?', [at('carol')])).toEqual([[0]]);
      expect(await m.query("SELECT count(*) FROM admin_mailbox WHERE address = 'carol'")).toEqual([[1]]);
    } finally {
      await r.close();
    }
    const deleting = reconciler(m, store, { mailboxRemoval: 'delete' });
    try {
      const result = await pass(deleting, desired, { policy: policy({ prune: true }) });
      expect(result.applied.map((a) => `${a.change.action} ${a.change.kind}/${a.change.name}`)).toContain(`delete Mailbox/${at('carol')}`);
      expect(await m.query('SELECT count(*) FROM core_user WHERE username = ?', [at('carol')])).toEqual([[0]]);
    } finally {
      await deleting.close();
    }
  });

  it('leaves an unowned namesake alone and reports a conflict, until it is adopted', async () => {
    expect((await api(m, 'POST', '/api/v2/domains/', { name: 'voisin.test', quota: 0, default_mailbox_quota: 0 })).status).toBe(201);
    const desired = state({ domains: [mailDomain('voisin.test', { quotaMB: 0, defaultMailboxQuotaMB: 0 })] });
    const r = reconciler(m, new MemoryFingerprintStore(), { instance: 'voisin' });
    try {
      const refused = await pass(r, desired);
      expect(refused.conflicts.map((c) => `${c.kind}/${c.name}`)).toEqual(['MailDomain/voisin.test']);
      expect(refused.writes).toBe(0);
      const adopted = await pass(r, desired, { policy: policy({ adopt: ['MailDomain/voisin.test'] }) });
      expect(adopted.conflicts).toEqual([]);
      expect(adopted.status, why(adopted)).toBe('applied');
      expect((await pass(r, desired)).status).toBe('in-sync');
    } finally {
      await r.close();
    }
  });

  it('what an earlier version owned under its default instance "infrasec" is taken over, with a note, when no instance is set; an explicit instance takes nothing', async () => {
    const A = 'ancien.test';
    const desired = state({
      domains: [mailDomain(A, { quotaMB: 0, defaultMailboxQuotaMB: 0 })],
      users: [user('ann', { email: `ann@${A}` })],
      aliases: [mailAlias('contact', [`User/ann`], { address: `contact@${A}` })],
    });
    const inventory = new MemoryFingerprintStore();
    // The earlier version: no instance configured meant "infrasec".
    const earlier = reconciler(m, inventory, { instance: 'infrasec' });
    const explicit = reconciler(m, inventory, { instance: 'autre' });
    // No systems.modoboa.instance; the controller-wide one (another name than the other tests' "default" here).
    const current = new ModoboaReconciler(
      { ...MODOBOA_DEFAULTS, url: m.url, token: new Secret(m.token, 'env', 'test-token'), mailboxRemoval: 'keep' },
      { fingerprints: inventory, instance: 'relais' },
    );
    const description = async (address: string) => (await m.query('SELECT description FROM admin_alias WHERE address = ?', [address]))[0]?.[0];
    try {
      const first = await pass(earlier, desired);
      expect(first.status, why(first)).toBe('applied');
      // An alias of the earlier default name in a domain this controller never owned (another controller's): not in scope.
      expect((await api(m, 'POST', '/api/v2/domains/', { name: 'ailleurs.test', quota: 0, default_mailbox_quota: 0 })).status).toBe(201);
      const stranger = await api(m, 'POST', '/api/v2/aliases/', { address: 'info@ailleurs.test', recipients: ['someone@example.org'], enabled: true, description: 'managed by infrasec (infrasec)' });
      expect(stranger.status).toBe(201);
      expect(await description(`contact@${A}`)).toBe('managed by infrasec (infrasec)');

      // systems.modoboa.instance set: exactly that instance, nothing taken over.
      const other = await pass(explicit, desired, { mode: 'plan' });
      expect(other.conflicts.map((c) => `${c.kind}/${c.name}`)).toEqual([`MailDomain/${A}`]);

      const planned = await pass(current, desired, { mode: 'plan' });
      const note = planned.conflicts.find((c) => c.kind === 'Instance');
      expect(note).toMatchObject({ advisory: true, name: 'relais' });
      expect(note!.message).toBe(
        `3 object(s) owned by instance "infrasec", the default name of earlier versions; taken over by instance "relais" (systems.modoboa.instance is unset): MailDomain/${A}, Mailbox/ann@${A}, MailAlias/contact@${A}. Set systems.modoboa.instance to "infrasec" to keep the old name instead`,
      );
      expect(planned.conflicts).toHaveLength(1);
      expect(planned.changes.map((c) => `${c.action} ${c.kind}/${c.name} ${c.fields.map((f) => `${f.path}: ${f.before} → ${f.after}`).join()}`)).toEqual([
        `update MailDomain/${A} ownership: instance infrasec → instance relais`,
        `update Mailbox/ann@${A} ownership: instance infrasec → instance relais`,
        `update MailAlias/contact@${A} ownership: instance infrasec → instance relais`,
      ]);

      const domainStamp = await m.query('SELECT last_modification FROM admin_domain WHERE name = ?', [A]);
      const taken = await pass(current, desired);
      expect(taken.status, why(taken)).toBe('applied');
      expect(taken.verify).toEqual([]);
      // The domain and the account are owned through the local inventory only: nothing written to Modoboa for them.
      expect(taken.writes).toBe(1);
      expect(await m.query('SELECT last_modification FROM admin_domain WHERE name = ?', [A])).toEqual(domainStamp);
      expect(await description(`contact@${A}`)).toBe('managed by infrasec (relais)');
      expect(await description('info@ailleurs.test')).toBe('managed by infrasec (infrasec)');
      const origin = current.client.origin;
      expect([inventory.get(`modoboa/${origin}/infrasec/domain/${A}`), inventory.get(`modoboa/${origin}/relais/domain/${A}`)]).toEqual([undefined, 'owned']);
      expect([inventory.get(`modoboa/${origin}/infrasec/account/ann@${A}`), inventory.get(`modoboa/${origin}/relais/account/ann@${A}`)]).toEqual([undefined, 'owned']);

      const before = await writeEvidence(m);
      const again = await pass(current, desired);
      expect(again.status).toBe('in-sync');
      expect(again.conflicts).toEqual([]);
      expect(await writeEvidence(m)).toEqual(before);
    } finally {
      await earlier.close();
      await explicit.close();
      await current.close();
    }
  });

  it('the controller-wide instance of infrasec.yaml names the alias marker', async () => {
    const config = configSchema.parse({ instance: 'cod67', systems: { modoboa: { url: m.url, token: m.token } } });
    const { reconcilers } = await buildSystems(config, { fingerprints: new MemoryFingerprintStore(), logger: silentLogger }, ['modoboa']);
    const r = reconcilers.get('modoboa') as ModoboaReconciler;
    try {
      const desired = state({ domains: [mailDomain('large.test', { quotaMB: 0, defaultMailboxQuotaMB: 0 })], users: [user('lea', { email: 'lea@large.test' })], aliases: [mailAlias('accueil', ['User/lea'], { address: 'accueil@large.test' })] });
      const result = await pass(r, desired);
      expect(result.status, why(result)).toBe('applied');
      expect(await m.query('SELECT description FROM admin_alias WHERE address = ?', ['accueil@large.test'])).toEqual([['managed by infrasec (cod67)']]);
    } finally {
      await r.close();
    }
  });

  it('a mailbox quota that does not fit the domain pool is a plan-time conflict naming the YAML line, not a failed apply', async () => {
    const desired = state({
      domains: [mailDomain('petit.test', { quotaMB: 1000, defaultMailboxQuotaMB: 400 })],
      users: [user('dan', { email: 'dan@petit.test' }), user('eve', { email: 'eve@petit.test' }), user('fay', { email: 'fay@petit.test', mailbox: { quotaMB: 300 } })],
    });
    const r = reconciler(m, new MemoryFingerprintStore(), { instance: 'petit' });
    try {
      const result = await pass(r, desired);
      expect(result.status, why(result)).toBe('applied');
      expect(result.conflicts.map((c) => c.message)).toEqual([expect.stringMatching(/^users\/fay\.yaml:13:5 spec\.mailbox\.quotaMB: a 300 MB mailbox does not fit the quota of domain petit\.test \(1000 MB, 800 MB already allocated/)]);
      expect(await m.query("SELECT username FROM core_user WHERE username LIKE '%@petit.test' ORDER BY username")).toEqual([['dan@petit.test'], ['eve@petit.test']]);
    } finally {
      await r.close();
    }
  });

  it('stores hostile names verbatim (JSON bodies, no interpolation) and reads them back equal', async () => {
    const names = { givenName: `Robert'); DROP TABLE core_user;--`, surname: `<script>alert(1)</script> "Zoé" \\ %s {{x}}` };
    const desired = state({ domains: [mailDomain('noms.test', { quotaMB: 0, defaultMailboxQuotaMB: 0 })], users: [user('robert', { email: 'Robert.Tables@Noms.test', ...names })] });
    const r = reconciler(m, new MemoryFingerprintStore(), { instance: 'noms' });
    try {
      const result = await pass(r, desired);
      expect(result.status, why(result)).toBe('applied');
      expect(await m.query('SELECT username, first_name, last_name FROM core_user WHERE username = ?', ['robert.tables@noms.test'])).toEqual([['robert.tables@noms.test', names.givenName, names.surname]]);
      expect(await m.query('SELECT count(*) FROM core_user')).not.toEqual([[0]]);
      expect((await pass(r, desired)).writes).toBe(0);
    } finally {
      await r.close();
    }
  });

  it('a wrong token is an authentication error that does not print the token', async () => {
    const r = reconciler(m, new MemoryFingerprintStore(), { token: 'S3CRET0000000000000000000000000000000000' });
    try {
      const err = await r.observe(new AbortController().signal).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect(String((err as Error).message)).not.toContain('S3CRET');
      expect(JSON.stringify(err)).not.toContain('S3CRET');
    } finally {
      await r.close();
    }
  });

  it('a connection lost in the middle of an apply fails the pass, and the next pass converges with no duplicate and no conflict', async () => {
    const proxy = await cuttingProxy(m.host, m.port);
    const desired = state({ domains: [mailDomain('coupure.test', { quotaMB: 0, defaultMailboxQuotaMB: 0 })], users: ['gus', 'hal', 'ivy', 'jon'].map((n) => user(n, { email: `${n}@coupure.test` })), aliases: [mailAlias('tous', ['User/gus', 'User/hal', 'User/ivy', 'User/jon'], { address: 'tous@coupure.test' })] });
    const inventory = new MemoryFingerprintStore();
    const viaProxy = reconciler(m, inventory, { url: proxy.url, timeoutMs: 5_000, instance: 'coupure' });
    try {
      // The token's account, three list calls, the domain POST and its read-back, then the POST of the first mailbox:
      // cut right after it reached Modoboa.
      proxy.cutAfterRequest(7);
      const broken = await pass(viaProxy, desired);
      expect(broken.status, why(broken)).toBe('failed');
      expect(broken.error?.message).toMatch(/unreachable|dropped|failed/);
      // The mailbox whose answer was lost fails; the other mailboxes and the alias are not attempted.
      expectHaltedAfterLoss(broken.applied, broken.changes.length, 1);
      expect(broken.applied.filter((a) => a.notAttempted).map((a) => a.change.name)).toEqual(expect.arrayContaining(['hal@coupure.test', 'ivy@coupure.test', 'jon@coupure.test']));
      // The account was created although its answer was lost.
      expect(await m.query("SELECT count(*) FROM core_user WHERE username = 'gus@coupure.test'")).toEqual([[1]]);
    } finally {
      await viaProxy.close();
    }
    // The link comes back (same URL: the inventory is kept per Modoboa origin).
    proxy.heal();
    const r = reconciler(m, inventory, { url: proxy.url, instance: 'coupure' });
    try {
      const next = await pass(r, desired);
      expect(next.conflicts).toEqual([]);
      expect(next.status, why(next)).toBe('applied');
      expect(await m.query("SELECT username FROM core_user WHERE username LIKE '%@coupure.test' ORDER BY username")).toEqual([['gus@coupure.test'], ['hal@coupure.test'], ['ivy@coupure.test'], ['jon@coupure.test']]);
      expect((await pass(r, desired)).writes).toBe(0);
    } finally {
      await r.close();
      await proxy.close();
    }
  });
});

describe('ModoboaReconciler under Modoboa’s throttle', () => {
  let slow: Modoboa;
  beforeAll(async () => {
    // One write per second per view: six account POSTs in a row cannot all pass.
    slow = await startModoboa({ throttleRates: { ddos: '1/second' } });
  }, 900_000);
  afterAll(async () => {
    await slow?.stop();
  }, 60_000);

  it('waits out 429 after Retry-After and completes the apply', async () => {
    // Domain POSTs are quick (an account POST hashes a password and may take longer than the throttle's second).
    const names = ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => `lent-${x}.test`);
    const desired = state({ domains: names.map((n) => mailDomain(n, { quotaMB: 0, defaultMailboxQuotaMB: 0 })) });
    const r = reconciler(slow, new MemoryFingerprintStore());
    try {
      const result = await pass(r, desired);
      expect(result.error, JSON.stringify(result.applied.filter((a) => !a.ok).map((a) => a.error))).toBeUndefined();
      expect(result.status, why(result)).toBe('applied');
      expect(r.client.throttled).toBeGreaterThan(0);
      expect(await slow.query("SELECT count(*) FROM admin_domain WHERE name LIKE 'lent-%.test'")).toEqual([[6]]);
    } finally {
      await r.close();
    }
  }, 120_000);
});

/** A TCP proxy in front of Modoboa that, on request, drops every connection right after forwarding the Nth HTTP request, then refuses new ones. */
async function cuttingProxy(host: string, port: number) {
  const sockets = new Set<Socket>();
  let seen = 0;
  let cutAt = Infinity;
  let cut = false;
  const server: Server = createServer((client) => {
    if (cut) return client.destroy();
    const upstream = connect(port, host);
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      seen += (chunk.toString('latin1').match(/^(GET|POST|PUT|PATCH|DELETE) \/api\//gm) ?? []).length;
      if (seen >= cutAt && !cut) {
        cut = true;
        // Let the request reach Modoboa, then drop everything before its answer comes back.
        upstream.once('data', () => {
          for (const s of sockets) s.destroy();
        });
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!cut) client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  // On Modoboa's own address: its ALLOWED_HOSTS names that host only.
  await new Promise<void>((ok) => server.listen(0, host, () => ok()));
  const addr = server.address() as { port: number };
  return {
    url: `http://${host}:${addr.port}`,
    cutAfterRequest(n: number) {
      seen = 0;
      cutAt = n;
    },
    heal() {
      cut = false;
      cutAt = Infinity;
    },
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}

describe('the modoboa system built from configuration', () => {
  let real: Modoboa;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infrasec-modoboa-config-'));
    real = await startModoboa();
  }, 900_000);
  afterAll(async () => {
    await real?.stop();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  /** The reconciler `buildSystems` makes from these INFRASEC_* variables alone (no infrasec.yaml). */
  async function fromEnvironment(env: Record<string, string>): Promise<ModoboaReconciler> {
    const config = await loadConfig({ env: { INFRASEC_CONFIG: join(dir, 'none.yaml'), ...env } });
    const { reconcilers } = await buildSystems(config, { fingerprints: new MemoryFingerprintStore(), logger: silentLogger }, ['modoboa']);
    return reconcilers.get('modoboa') as ModoboaReconciler;
  }

  /** The error the first observe fails with. */
  async function observeError(env: Record<string, string>): Promise<Error> {
    const r = await fromEnvironment(env);
    try {
      const err = await r.observe(AbortSignal.timeout(60_000)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      return err as Error;
    } finally {
      await r.close();
    }
  }

  it('takes INFRASEC_MODOBOA_URL and a token file, depends on Active Directory, and plans against the real Modoboa', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, `${real.token}\n`);
    const r = await fromEnvironment({ INFRASEC_MODOBOA_URL: real.url, INFRASEC_MODOBOA_TOKEN_FILE: tokenFile, INFRASEC_MODOBOA_PAGE_SIZE: '7' });
    expect(r).toBeInstanceOf(ModoboaReconciler);
    expect(SYSTEM_MODULES.find((x) => x.name === 'modoboa')?.dependsOn).toEqual(['active-directory']);
    try {
      const live = await r.observe(new AbortController().signal);
      expect([...live.accounts.keys()]).toEqual(['admin']);
    } finally {
      await r.close();
    }
  }, 180_000);

  it('a wrong token: an authentication error naming the token settings, without printing it', async () => {
    const err = await observeError({ INFRASEC_MODOBOA_URL: real.url, INFRASEC_MODOBOA_TOKEN: 'S3CRET0000000000000000000000000000000000' });
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.message).toMatch(new RegExp(`^Modoboa at ${real.url.replace(/\./g, '\\.')} refused the API token \\(GET /api/v2/[^:]+: Invalid token\\.\\); check systems\\.modoboa\\.token \\(INFRASEC_MODOBOA_TOKEN\\) or systems\\.modoboa\\.tokenFile \\(INFRASEC_MODOBOA_TOKEN_FILE\\)$`));
    expect(JSON.stringify(err)).not.toContain('S3CRET');
  }, 120_000);

  it("the token of an account that is not a super administrator: a write it may not make names the token settings and whose token it needs", async () => {
    // A Django account with no Modoboa role and its DRF token, made the way an admin would with manage.py.
    const out = await real.manage(['shell', '-c', [
      'from modoboa.core.models import User',
      'from rest_framework.authtoken.models import Token',
      "u = User.objects.create(username='plain@elsewhere.test', email='plain@elsewhere.test')",
      "print('TOKEN=' + Token.objects.create(user=u).key)",
    ].join('; ')]);
    const token = /TOKEN=([0-9a-f]{40})/.exec(out)?.[1];
    expect(token, out).toBeDefined();
    // Its reads are not refused, only filtered to nothing: observe refuses to plan from them (a plan would want to
    // create every domain, mailbox and alias), naming the account and the settings.
    const seen = await observeError({ INFRASEC_MODOBOA_URL: real.url, INFRASEC_MODOBOA_TOKEN: token! });
    expect(seen).toBeInstanceOf(AuthenticationError);
    expect(seen.message).toBe(`Modoboa at ${real.url}: the API token is the account "plain@elsewhere.test"'s and it has no role, so Modoboa shows it only part of its objects and refuses its writes; nothing was planned from them. Set systems.modoboa.token (INFRASEC_MODOBOA_TOKEN) or systems.modoboa.tokenFile (INFRASEC_MODOBOA_TOKEN_FILE) to a super administrator's token`);
    expect(seen.message).not.toContain(token!);
    const r = await fromEnvironment({ INFRASEC_MODOBOA_URL: real.url, INFRASEC_MODOBOA_TOKEN: token! });
    try {
      const err = await r.client.call('POST', 'api/v2/domains/', { name: 'elsewhere.test', quota: 0, default_mailbox_quota: 0 }, AbortSignal.timeout(60_000)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as Error).message).toBe(`Modoboa at ${real.url} refused POST /api/v2/domains/ to the API token's account (403: You do not have permission to perform this action.); set systems.modoboa.token (INFRASEC_MODOBOA_TOKEN) or systems.modoboa.tokenFile (INFRASEC_MODOBOA_TOKEN_FILE) to a super administrator's token`);
    } finally {
      await r.close();
    }
  }, 120_000);

  it('a Modoboa nothing answers for: names the url setting', async () => {
    const err = await observeError({ INFRASEC_MODOBOA_URL: 'http://127.0.0.1:1', INFRASEC_MODOBOA_TOKEN: real.token });
    expect(err).toBeInstanceOf(TargetUnavailableError);
    expect(err.message).toMatch(/^cannot reach Modoboa at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED: [^)]+\); check systems\.modoboa\.url \(INFRASEC_MODOBOA_URL\) and that Modoboa is running and reachable from here$/);
  });

  it('a certificate no configured CA signed: names caFile (TLS front end on 127.0.0.1)', async () => {
    const key = { keytype: 'ECDSA', keylen: 0, ecname: 'prime256v1', digest: 'sha256' } as const;
    const ca = await generateCa({ dn: { CN: 'Mail front end CA' }, lifetimeDays: 2, key });
    const leaf = await issueCertificate({ ca, dn: { CN: 'localhost' }, lifetimeDays: 2, key, type: 'server', sans: { ip: ['127.0.0.1'] } });
    const front = createHttpsServer({ key: leaf.prv, cert: leaf.crt }, (_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', () => resolve()));
    try {
      const url = `https://127.0.0.1:${(front.address() as AddressInfo).port}`;
      const err = await observeError({ INFRASEC_MODOBOA_URL: url, INFRASEC_MODOBOA_TOKEN: real.token });
      expect(err).toBeInstanceOf(TargetUnavailableError);
      expect(err.message).toMatch(/: its certificate is not signed by a trusted CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: [^)]+\); set systems\.modoboa\.caFile \(INFRASEC_MODOBOA_CA_FILE\) to a PEM file of the CA that signed it \(unset: only the system's CA store is trusted\)$/);
      await writeFile(join(dir, 'ca.pem'), ca.crt);
      // With the CA configured the same front end is trusted: what answers now is its (empty) JSON, not a TLS failure.
      const trusted = await observeError({ INFRASEC_MODOBOA_URL: url, INFRASEC_MODOBOA_TOKEN: real.token, INFRASEC_MODOBOA_CA_FILE: join(dir, 'ca.pem') });
      expect(trusted).not.toBeInstanceOf(TargetUnavailableError);
    } finally {
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
    }
  });

  it('an unreadable caFile is a configuration error naming the setting', async () => {
    await expect(fromEnvironment({ INFRASEC_MODOBOA_URL: real.url, INFRASEC_MODOBOA_TOKEN: real.token, INFRASEC_MODOBOA_CA_FILE: join(dir, 'missing.pem') })).rejects.toThrow(
      `cannot read systems.modoboa.caFile (INFRASEC_MODOBOA_CA_FILE) ${join(dir, 'missing.pem')}: ENOENT`,
    );
  });
});

// Integration: the AD reconciler against a real Samba DC — create, update, disable, prune, memberships, zero-write second pass, drift, conflicts, passwords.
import { readFileSync } from 'node:fs';
import { Attribute, Change as LdapChange, Client } from 'ldapts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../../src/desired/diagnostic.ts';
import type { ResolvedState } from '../../../src/desired/model.ts';
import { Secret, sha256Hex } from '../../../src/desired/secret.ts';
import { MemoryFingerprintStore } from '../../../src/state/fingerprints.ts';
import { guard } from '../../../src/engine/guard.ts';
import { type Applied, DEFAULT_POLICY, type Plan, type Policy } from '../../../src/engine/types.ts';
import { escapeDnValue } from '../../../src/reconcilers/active-directory/escape.ts';
import { passwordFingerprintKey } from '../../../src/reconcilers/active-directory/plan.ts';
import { ActiveDirectoryReconciler } from '../../../src/reconcilers/active-directory/reconciler.ts';
import type { AdSettings } from '../../../src/reconcilers/active-directory/settings.ts';
import { startSambaDc, type SambaDc } from '../../harness/samba.ts';
import { group, secret, state, user } from './desired-builder.ts';

const signal = new AbortController().signal;
const policy = (over: Partial<Policy> = {}): Policy => ({ ...DEFAULT_POLICY, ...over });
const STRONG = 'Tr0ub4dor&3-Horse';
const STRONG2 = 'N3w-Secret!2026x';

let dc: SambaDc;
let admin: Client;
let usersOU: string;

function ldap(): Client {
  return new Client({ url: dc.ldapsUrl, tlsOptions: { ca: readFileSync(dc.caFile), servername: dc.tlsServerName }, timeout: 10_000, connectTimeout: 10_000 });
}

function reconciler(over: Partial<AdSettings> = {}, fingerprints = new MemoryFingerprintStore()) {
  return new ActiveDirectoryReconciler(
    {
      url: dc.ldapsUrl,
      bindDN: dc.bindDN,
      bindPassword: new Secret(dc.bindPassword, 'env', sha256Hex('bind')),
      baseDN: dc.baseDN,
      caFile: dc.caFile,
      tlsServerName: dc.tlsServerName,
      ...over,
    },
    { fingerprints, now: () => new Date('2026-03-01T12:00:00Z') },
  );
}

interface PassOutcome {
  plan: Plan;
  refused?: readonly string[];
  applied: Applied[];
  diagnostics: Diagnostic[];
  writes: number;
}

/** observe → plan → guard → apply → verify, like one engine pass. */
async function pass(rec: ActiveDirectoryReconciler, desired: ResolvedState, pol: Policy = policy()): Promise<PassOutcome> {
  const plan = rec.plan(desired, await rec.observe(signal), pol);
  const g = guard(plan, pol);
  if (!g.ok) return { plan, refused: g.reasons, applied: [], diagnostics: [], writes: 0 };
  const applied = await rec.apply(g.plan, signal);
  const diagnostics = await rec.verify(applied, signal);
  return { plan, applied, diagnostics, writes: applied.reduce((n, a) => n + a.writes, 0) };
}

async function highestUsn(): Promise<number> {
  const { searchEntries } = await admin.search('', { scope: 'base', attributes: ['highestCommittedUSN'] });
  return Number(searchEntries[0]?.['highestCommittedUSN']);
}

async function read(name: string, attributes: string[]): Promise<Record<string, string | string[]> | undefined> {
  const { searchEntries } = await admin.search(dc.baseDN, { filter: `(sAMAccountName=${name})`, attributes: ['uSNChanged', ...attributes] });
  return searchEntries[0] as Record<string, string | string[]> | undefined;
}

async function canBind(upn: string, password: string): Promise<boolean> {
  const c = ldap();
  try {
    await c.bind(upn, password);
    return true;
  } catch {
    return false;
  } finally {
    await c.unbind();
  }
}

const summary = (p: Plan) => p.changes.map((c) => `${c.kind}/${c.name}:${c.action}`);
const okAll = (o: PassOutcome) => {
  expect(o.refused).toBeUndefined();
  expect(o.applied.filter((a) => !a.ok).map((a) => a.error)).toEqual([]);
  expect(o.diagnostics).toEqual([]);
};

/** Removes every object the tests made (owned by infrasec, or made out of band under CN=Users with a t- name). */
async function wipe() {
  const { searchEntries } = await admin.search(dc.baseDN, {
    filter: '(&(|(objectClass=user)(objectClass=group))(|(adminDescription=managed-by=infrasec*)(sAMAccountName=t-*)))',
    attributes: ['objectClass'],
  });
  for (const e of searchEntries) await admin.del(e.dn);
}

beforeAll(async () => {
  dc = await startSambaDc();
  admin = ldap();
  await admin.bind(dc.bindDN, dc.bindPassword);
  usersOU = `OU=Users,OU=infrasec,${dc.baseDN}`;
}, 180_000);

afterAll(async () => {
  await admin?.unbind();
  await dc?.stop();
}, 60_000);

afterEach(wipe, 60_000);

describe('ActiveDirectoryReconciler against Samba', () => {
  it('creates users, groups and memberships, sets the password at creation, and verify finds nothing wrong', async () => {
    const rec = reconciler();
    const desired = state({
      users: [
        user('jdupont', { givenName: 'Jean', surname: 'Dupont', title: 'Chef de salle', department: 'COD', email: 'jdupont@cod67.fr', telephoneNumber: '+33 3 88 00 00 01', groups: ['crise'] }),
        user('mmartin', { givenName: 'Marie', surname: 'Martin', mustChangePassword: true }),
      ],
      groups: [group('crise', { description: 'Cellule de crise', members: ['User/mmartin'] }), group('elus', { scope: 'universal', type: 'distribution', members: ['Group/crise'] })],
      passwords: { jdupont: secret(STRONG), mmartin: secret(STRONG2) },
    });
    const out = await pass(rec, desired);
    okAll(out);
    expect(summary(out.plan)).toEqual([
      'OrganizationalUnit/OU=infrasec:create',
      'OrganizationalUnit/OU=Groups,OU=infrasec:create',
      'OrganizationalUnit/OU=Users,OU=infrasec:create',
      'Group/crise:create',
      'Group/elus:create',
      'User/jdupont:create',
      'User/mmartin:create',
      'Membership/crise:update',
      'Membership/elus:update',
    ]);
    // One add per object, one modify per group's members.
    expect(out.writes).toBe(9);

    const j = await read('jdupont', ['givenName', 'sn', 'displayName', 'title', 'department', 'mail', 'telephoneNumber', 'userPrincipalName', 'userAccountControl', 'adminDescription', 'pwdLastSet']);
    expect(j).toMatchObject({
      dn: `CN=jdupont,${usersOU}`,
      givenName: 'Jean', sn: 'Dupont', displayName: 'Jean Dupont', title: 'Chef de salle', department: 'COD', mail: 'jdupont@cod67.fr',
      telephoneNumber: '+33 3 88 00 00 01', userPrincipalName: 'jdupont@cod67.infrasec.test', userAccountControl: '512', adminDescription: 'managed-by=infrasec;instance=default',
    });
    expect(j?.['pwdLastSet']).not.toBe('0');
    expect((await read('mmartin', ['pwdLastSet']))?.['pwdLastSet']).toBe('0');
    const crise = await read('crise', ['member', 'groupType', 'description']);
    expect(crise?.['groupType']).toBe('-2147483646');
    expect([crise?.['member']].flat().sort()).toEqual([`CN=jdupont,${usersOU}`, `CN=mmartin,${usersOU}`]);
    expect((await read('elus', ['member', 'groupType']))).toMatchObject({ groupType: '8', member: `CN=crise,OU=Groups,OU=infrasec,${dc.baseDN}` });

    // The password works over LDAPS (mustChangePassword false); the must-change one is refused until changed.
    expect(await canBind('jdupont@cod67.infrasec.test', STRONG)).toBe(true);
    expect(await canBind('jdupont@cod67.infrasec.test', STRONG2)).toBe(false);
    expect(await canBind('mmartin@cod67.infrasec.test', STRONG2)).toBe(false);
    await rec.close();
  });

  it('makes zero writes on a second apply of the same state (highestCommittedUSN unchanged) and does not set passwords again', async () => {
    const store = new MemoryFingerprintStore();
    const rec = reconciler({}, store);
    const desired = state({
      users: [user('a1', { groups: ['g1'], accountExpires: '2030-12-31' }), user('a2', { enabled: false }), user('a3', { title: 'Gen' })],
      groups: [group('g1', { members: ['a2'] }), group('g2', { membership: 'additive', members: ['Group/g1', 'a3'] })],
      passwords: { a1: secret(STRONG), a2: secret(STRONG2), a3: secret('Gener4ted-Pass-xyz', 'generated') },
    });
    okAll(await pass(rec, desired));
    expect(store.get(passwordFingerprintKey('a1'))).toBe(secret(STRONG).fingerprint);
    expect(store.get(passwordFingerprintKey('a3'))).toBe(secret('Gener4ted-Pass-xyz', 'generated').fingerprint);

    const before = await highestUsn();
    const again = await pass(rec, desired);
    expect(again.plan.changes).toEqual([]);
    expect(again.writes).toBe(0);
    expect(await highestUsn()).toBe(before);
    // A fresh controller (same fingerprint store) reads the same: nothing to do.
    const fresh = reconciler({}, store);
    expect((await pass(fresh, desired)).plan.changes).toEqual([]);
    expect(await highestUsn()).toBe(before);
    await rec.close();
    await fresh.close();
  });

  it('sets the password again only when its fingerprint changes, and the new one works', async () => {
    const store = new MemoryFingerprintStore();
    const rec = reconciler({}, store);
    okAll(await pass(rec, state({ users: [user('pw1')], passwords: { pw1: secret(STRONG) } })));
    const out = await pass(rec, state({ users: [user('pw1')], passwords: { pw1: secret(STRONG2) } }));
    okAll(out);
    expect(out.plan.changes.map((c) => c.fields)).toEqual([[{ path: 'spec.password', before: '(sensitive)', after: '(sensitive)', sensitive: true }]]);
    expect(out.writes).toBe(1);
    // (The previous password is not asserted dead: Samba, like AD's OldPasswordAllowedPeriod, accepts it for a while.)
    expect(await canBind('pw1@cod67.infrasec.test', STRONG2)).toBe(true);
    expect(store.get(passwordFingerprintKey('pw1'))).toBe(secret(STRONG2).fingerprint);
    await rec.close();
  });

  it('a lost fingerprint store does not reset a password the user changed; --reset-password (policy.resetPasswords) does', async () => {
    const rec = reconciler({}, new MemoryFingerprintStore());
    const desired = state({ users: [user('own1')], passwords: { own1: secret(STRONG) } });
    okAll(await pass(rec, desired));
    // The user changes her own password (as an admin reset would: a replace of unicodePwd).
    const own = 'Her-0wn-Passw0rd!';
    const dn = String((await read('own1', []))?.['dn']);
    await admin.modify(dn, [new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${own}"`, 'utf16le')] }) })]);
    // The fingerprint store is lost: a new state directory.
    await rec.close();
    const fresh = reconciler({}, new MemoryFingerprintStore());
    const before = await highestUsn();
    const out = await pass(fresh, desired);
    okAll(out);
    expect(out.plan.changes).toEqual([]);
    expect(out.plan.conflicts).toEqual([expect.objectContaining({ kind: 'User', name: 'own1', message: expect.stringContaining('--reset-password User/own1') })]);
    expect(await highestUsn()).toBe(before);
    expect(await canBind('own1@cod67.infrasec.test', own)).toBe(true);
    // Asked explicitly: the password from Git is set, and recorded.
    const forced = await pass(fresh, desired, policy({ resetPasswords: ['User/own1'] }));
    okAll(forced);
    expect(forced.plan.changes.map((c) => c.fields.map((f) => f.path))).toEqual([['spec.password']]);
    expect(await canBind('own1@cod67.infrasec.test', STRONG)).toBe(true);
    expect((await pass(fresh, desired)).plan.changes).toEqual([]);
    await fresh.close();
  });

  it('updates attributes changed in Git, removing the ones Git no longer sets', async () => {
    const rec = reconciler();
    okAll(await pass(rec, state({ users: [user('up1', { title: 'Opérateur', department: 'Salle' })] })));
    const out = await pass(rec, state({ users: [user('up1', { title: 'Chef d’équipe', telephoneNumber: '112' })] }));
    okAll(out);
    expect(out.plan.changes[0]?.fields.map((f) => f.path)).toEqual(['spec.title', 'spec.department', 'spec.telephoneNumber']);
    expect(out.writes).toBe(1);
    const e = await read('up1', ['title', 'department', 'telephoneNumber']);
    expect(e).toMatchObject({ title: 'Chef d’équipe', telephoneNumber: '112', department: [] });
    await rec.close();
  });

  it('corrects drift made out of band: the plan shows the field, apply puts Git back', async () => {
    const rec = reconciler();
    const desired = state({ users: [user('dr1', { title: 'Officier', groups: ['dg'] })], groups: [group('dg', { description: 'Garde' })], passwords: { dr1: secret(STRONG) } });
    okAll(await pass(rec, desired));
    await admin.modify(`CN=dr1,${usersOU}`, [
      new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['Stagiaire'] }) }),
      new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: ['514'] }) }),
    ]);
    await admin.modify(`CN=dg,OU=Groups,OU=infrasec,${dc.baseDN}`, [new LdapChange({ operation: 'delete', modification: new Attribute({ type: 'description', values: [] }) })]);

    const drift = await pass(rec, desired);
    okAll(drift);
    expect(drift.plan.changes.map((c) => [c.name, c.fields.map((f) => `${f.path}: ${JSON.stringify(f.before)} -> ${JSON.stringify(f.after)}`)])).toEqual([
      ['dg', ['spec.description: null -> "Garde"']],
      ['dr1', ['spec.title: "Stagiaire" -> "Officier"', 'spec.enabled: false -> true']],
    ]);
    expect(await read('dr1', ['title', 'userAccountControl'])).toMatchObject({ title: 'Officier', userAccountControl: '512' });
    expect((await pass(rec, desired)).plan.changes).toEqual([]);
    await rec.close();
  });

  it('disables an account on enabled: false, keeping its other userAccountControl bits', async () => {
    const rec = reconciler();
    okAll(await pass(rec, state({ users: [user('dis1')], passwords: { dis1: secret(STRONG) } })));
    // An admin set "password never expires" (0x10000): infrasec must not clear it.
    await admin.modify(`CN=dis1,${usersOU}`, [new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: ['66048'] }) })]);
    // An explicit `enabled: false` is not counted against the deletion threshold (here it would be 100% of one account).
    const out = await pass(rec, state({ users: [user('dis1', { enabled: false })], passwords: { dis1: secret(STRONG) } }), policy());
    okAll(out);
    expect(summary(out.plan)).toEqual(['User/dis1:disable']);
    expect((await read('dis1', ['userAccountControl']))?.['userAccountControl']).toBe('66050');
    expect(await canBind('dis1@cod67.infrasec.test', STRONG)).toBe(false);
    await rec.close();
  });

  it('on removal from Git disables by default, only with policy.prune; deletes when policy.userRemoval is delete', async () => {
    const rec = reconciler();
    okAll(await pass(rec, state({ users: [user('rm1'), user('rm2'), user('keep1')], groups: [group('rmg')] })));
    const rest = state({ users: [user('keep1')] });

    const noPrune = await pass(rec, rest);
    expect(summary(noPrune.plan)).toEqual(['Group/rmg:delete', 'User/rm1:disable', 'User/rm2:disable']);
    expect(noPrune.writes).toBe(0);
    expect((await read('rm1', ['userAccountControl']))?.['userAccountControl']).toBe('512');

    const lenient = { prune: true, deletionThreshold: { count: 10, percent: 100 } };
    okAll(await pass(rec, rest, policy(lenient)));
    expect((await read('rm1', ['userAccountControl']))?.['userAccountControl']).toBe('514');
    expect(await read('rmg', [])).toBeUndefined();

    const del = await pass(rec, rest, policy({ ...lenient, userRemoval: 'delete' }));
    okAll(del);
    expect(summary(del.plan)).toEqual(['User/rm1:delete', 'User/rm2:delete']);
    expect(await read('rm1', [])).toBeUndefined();
    expect(await read('keep1', [])).toBeDefined();
    await rec.close();
  });

  it('authoritative membership removes a member added out of band; additive keeps it', async () => {
    const rec = reconciler();
    const desired = state({
      users: [user('m1'), user('m2'), user('intrus')],
      groups: [group('auth', { members: ['m1'] }), group('addi', { members: ['m2'], membership: 'additive' })],
    });
    okAll(await pass(rec, desired));
    const intrus = `CN=intrus,${usersOU}`;
    for (const g of ['auth', 'addi']) {
      await admin.modify(`CN=${g},OU=Groups,OU=infrasec,${dc.baseDN}`, [new LdapChange({ operation: 'add', modification: new Attribute({ type: 'member', values: [intrus] }) })]);
    }
    const out = await pass(rec, desired);
    okAll(out);
    expect(out.plan.changes.map((c) => [c.name, c.fields])).toEqual([['auth', [{ path: 'spec.members', before: 'User/intrus', after: null }]]]);
    expect([(await read('auth', ['member']))?.['member']].flat()).toEqual([`CN=m1,${usersOU}`]);
    expect([(await read('addi', ['member']))?.['member']].flat().sort()).toEqual([intrus, `CN=m2,${usersOU}`].sort());
    await rec.close();
  });

  it('reports an unowned account with a desired name as a conflict and leaves it untouched; adopts it when asked', async () => {
    const dn = `CN=Thomas Legacy,CN=Users,${dc.baseDN}`;
    await admin.add(dn, { objectClass: 'user', sAMAccountName: 't-legacy', title: 'Ancien', userAccountControl: '514' });
    const usnBefore = (await read('t-legacy', []))?.['uSNChanged'];
    const rec = reconciler();
    const desired = state({ users: [user('t-legacy', { title: 'Nouveau', groups: ['cg'] })], groups: [group('cg')] });

    const out = await pass(rec, desired);
    okAll(out);
    expect(out.plan.conflicts.map((c) => `${c.kind}/${c.name}`)).toEqual(['User/t-legacy']);
    expect(out.plan.conflicts[0]?.message).toContain(dn);
    expect(summary(out.plan)).not.toContain('User/t-legacy:update');
    expect((await read('t-legacy', []))?.['uSNChanged']).toBe(usnBefore);
    expect((await read('cg', ['member']))?.['member']).toEqual([]);

    const adopted = await pass(rec, desired, policy({ adopt: ['User/t-legacy'] }));
    okAll(adopted);
    expect(adopted.plan.conflicts).toEqual([]);
    expect(adopted.plan.changes.find((c) => c.name === 't-legacy')?.fields.map((f) => f.path)).toEqual(
      expect.arrayContaining(['ownership', 'spec.title', 'spec.enabled']),
    );
    // Adopted where it lives: not moved into the managed OU.
    expect(await read('t-legacy', ['adminDescription', 'title', 'userAccountControl'])).toMatchObject({ dn, adminDescription: 'managed-by=infrasec;instance=default', title: 'Nouveau', userAccountControl: '512' });
    expect((await read('cg', ['member']))?.['member']).toBe(dn);
    // Still adopted: nothing left to write, the marker is not rewritten.
    expect((await pass(rec, desired, policy({ adopt: ['User/t-legacy'] }))).plan.changes).toEqual([]);
    // The marker alone does not make an account outside the managed OU this instance's: without the adopt entry it is a conflict again.
    const unadopted = await pass(rec, desired);
    expect(unadopted.plan.changes.map((c) => c.name)).not.toContain('t-legacy');
    expect(unadopted.plan.conflicts.find((c) => c.name === 't-legacy')?.message).toContain("carries infrasec's marker but lies outside this instance's managed OU");
    await rec.close();
  });

  it('two controllers sharing the domain (own instance, own managed OU) never touch each other\'s accounts, even with pruning on', async () => {
    const lenient = policy({ prune: true, deletionThreshold: { count: 10, percent: 100 } });
    const cod = reconciler({ instance: 'cod67', managedOU: 'OU=t-cod67' });
    const staging = reconciler({ instance: 'staging', managedOU: 'OU=t-staging' });
    okAll(await pass(cod, state({ users: [user('t-cod-a'), user('t-cod-b')] }), lenient));
    okAll(await pass(staging, state({ users: [user('t-stg-a')] }), lenient));
    expect(await read('t-cod-a', ['adminDescription'])).toMatchObject({ adminDescription: 'managed-by=infrasec;instance=cod67' });

    // Each sees only its own accounts: nothing to disable in the other's OU, and a second pass writes nothing.
    const usn = await highestUsn();
    expect(summary((await pass(staging, state({ users: [user('t-stg-a')] }), lenient)).plan)).toEqual([]);
    expect(summary((await pass(cod, state({ users: [user('t-cod-a'), user('t-cod-b')] }), lenient)).plan)).toEqual([]);
    expect(await highestUsn()).toBe(usn);

    // A name the other instance holds is a conflict that names it, never an update.
    const clash = await pass(staging, state({ users: [user('t-stg-a'), user('t-cod-a', { title: 'Pris' })] }), lenient);
    expect(clash.plan.changes.map((c) => c.name)).not.toContain('t-cod-a');
    expect(clash.plan.conflicts.find((c) => c.name === 't-cod-a')?.message).toContain('belongs to another infrasec instance ("cod67")');

    // This instance's marker written by hand on an account outside its OU: a conflict, not an update, and never pruned.
    const svc = `CN=t-svcbackup,CN=Users,${dc.baseDN}`;
    await admin.add(svc, { objectClass: 'user', sAMAccountName: 't-svcbackup', adminDescription: 'managed-by=infrasec;instance=cod67', userAccountControl: '512' });
    const marked = await pass(cod, state({ users: [user('t-cod-a'), user('t-cod-b'), user('t-svcbackup', { title: 'Sauvegarde' })] }), lenient);
    expect(marked.plan.changes.map((c) => c.name)).not.toContain('t-svcbackup');
    expect(marked.plan.conflicts.find((c) => c.name === 't-svcbackup')?.message).toContain('lies outside this instance\'s managed OU');
    const pruning = await pass(cod, state({ users: [user('t-cod-a'), user('t-cod-b')] }), lenient);
    expect(summary(pruning.plan)).toEqual([]);
    expect(await read('t-svcbackup', ['userAccountControl'])).toMatchObject({ userAccountControl: '512' });
    await cod.close();
    await staging.close();
  });

  it('takes over, with a note in the plan, accounts an earlier version marked without an instance inside its OU, and only there', async () => {
    const rec = reconciler({ instance: 'cod67', managedOU: 'OU=t-legacy-ou' });
    okAll(await pass(rec, state({ users: [user('t-old-in')] })));
    const inside = (await read('t-old-in', []))!['dn'] as string;
    await admin.modify(inside, [new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'adminDescription', values: ['managed-by=infrasec'] }) })]);
    const outside = `CN=t-old-out,CN=Users,${dc.baseDN}`;
    await admin.add(outside, { objectClass: 'user', sAMAccountName: 't-old-out', adminDescription: 'managed-by=infrasec', userAccountControl: '512' });

    const out = await pass(rec, state({ users: [user('t-old-in'), user('t-old-out')] }));
    okAll(out);
    const takeover = out.plan.changes.find((c) => c.name === 't-old-in');
    expect(takeover?.fields.map((f) => f.path)).toEqual(['ownership']);
    expect(takeover?.reason).toContain('marked by an earlier infrasec without an instance; taken over by instance "cod67"');
    expect(out.plan.conflicts.find((c) => c.name === 't-old-out')?.message).toContain('lies outside this instance\'s managed OU');
    expect(await read('t-old-in', ['adminDescription'])).toMatchObject({ adminDescription: 'managed-by=infrasec;instance=cod67' });
    expect(await read('t-old-out', ['adminDescription'])).toMatchObject({ adminDescription: 'managed-by=infrasec' });
    expect((await pass(rec, state({ users: [user('t-old-in')] }))).plan.changes).toEqual([]);
    await rec.close();
  });

  it('stops at the deletion threshold: guard refuses and nothing is written', async () => {
    const rec = reconciler();
    const names = Array.from({ length: 12 }, (_, i) => `th${i}`);
    okAll(await pass(rec, state({ users: names.map((n) => user(n)) })));
    const before = await highestUsn();
    const out = await pass(rec, state({ users: [user('th0')] }), policy({ prune: true }));
    expect(out.refused?.join('\n')).toMatch(/above the threshold of 10/);
    expect(out.writes).toBe(0);
    expect(await highestUsn()).toBe(before);
    await rec.close();
  });

  it('round-trips hostile values and a managed OU full of DN specials; the next plan is empty', async () => {
    const hostileOU = `OU=${escapeDnValue(' #Ops, "Nord" + Sud;<x>=y\\z ')}`;
    const rec = reconciler({ managedOU: hostileOU });
    const weird = ' Chef, "de" + salle; <a>=b #1 \\ *(x)* ';
    const desired = state({
      users: [user('h1', { givenName: 'Zoé', surname: 'D’Argent-Ñúñez', title: weird, department: '*)(objectClass=*', groups: ['hg'] }), user('h2', { displayName: '#hash, plus+' })],
      groups: [group('hg', { description: weird, members: ['h2'] })],
      passwords: { h1: secret(STRONG) },
    });
    const out = await pass(rec, desired);
    okAll(out);
    expect(await read('h1', ['title', 'department', 'sn'])).toMatchObject({ title: weird, department: '*)(objectClass=*', sn: 'D’Argent-Ñúñez' });
    expect((await read('hg', ['member']))?.['member']).toHaveLength(2);
    expect(await canBind('h1@cod67.infrasec.test', STRONG)).toBe(true);
    const again = await pass(rec, desired);
    expect(again.plan.changes).toEqual([]);
    expect(again.plan.conflicts).toEqual([]);
    await rec.close();
    // Leave no hostile OU behind for the other tests' OU expectations.
    await wipe();
    for (const ou of [`OU=Users,${hostileOU},${dc.baseDN}`, `OU=Groups,${hostileOU},${dc.baseDN}`, `${hostileOU},${dc.baseDN}`]) await admin.del(ou);
  });

  it('records a failed change without its secret, never as success, and carries on with the others', async () => {
    const store = new MemoryFingerprintStore();
    const rec = reconciler({}, store);
    const weak = 'abc';
    const out = await pass(rec, state({ users: [user('weak1'), user('fine1')], passwords: { weak1: secret(weak), fine1: secret(STRONG) } }));
    const weak1 = out.applied.find((a) => a.change.name === 'weak1');
    expect(weak1?.ok).toBe(false);
    expect(weak1?.writes).toBe(0);
    expect(weak1?.error).toMatch(/add CN=weak1.*(Constraint|password)/i);
    expect(weak1?.error).not.toContain(`"${weak}"`);
    expect(JSON.stringify(out.applied)).not.toContain(STRONG);
    expect(out.applied.find((a) => a.change.name === 'fine1')?.ok).toBe(true);
    expect(store.get(passwordFingerprintKey('weak1'))).toBeUndefined();
    expect(store.get(passwordFingerprintKey('fine1'))).toBeDefined();
    await rec.close();
  });

  it('verify reports what no longer matches after apply, pointing at the YAML that declared it', async () => {
    const rec = reconciler();
    const desired = state({ users: [user('ver1', { title: 'Veilleur' })], groups: [group('vg', { members: ['ver1'] })] });
    const plan = rec.plan(desired, await rec.observe(signal), policy());
    const g = guard(plan, policy());
    if (!g.ok) throw new Error(g.reasons.join('; '));
    const applied = await rec.apply(g.plan, signal);
    // Someone edits the account and the group between apply and verify.
    await admin.modify(`CN=ver1,${usersOU}`, [new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['Autre'] }) })]);
    await admin.modify(`CN=vg,OU=Groups,OU=infrasec,${dc.baseDN}`, [new LdapChange({ operation: 'delete', modification: new Attribute({ type: 'member', values: [`CN=ver1,${usersOU}`] }) })]);
    const diagnostics = await rec.verify(applied, signal);
    expect(diagnostics.map((d) => [d.file, d.path, d.code])).toEqual([
      ['users/ver1.yaml', 'spec.title', 'ad-verify-mismatch'],
      ['groups/vg.yaml', 'spec.members', 'ad-verify-mismatch'],
    ]);
    expect(diagnostics[0]?.message).toContain('"Autre"');
    await rec.close();
  });

  it('does not report a change as done when its password fingerprint cannot be stored', async () => {
    const broken = new MemoryFingerprintStore();
    broken.setMany = async () => {
      throw new Error('disk full');
    };
    const rec = reconciler({}, broken);
    const out = await pass(rec, state({ users: [user('fpfail')], passwords: { fpfail: secret(STRONG) } }));
    const a = out.applied.find((x) => x.change.name === 'fpfail');
    expect(a).toMatchObject({ ok: false, writes: 1 });
    expect(a?.error).toMatch(/fingerprint could not be stored.*disk full/);
    // The account exists (the write happened); with no fingerprint the next plan holds the password and says how to force it.
    expect(await read('fpfail', [])).toBeDefined();
    const next = rec.plan(state({ users: [user('fpfail')], passwords: { fpfail: secret(STRONG) } }), await rec.observe(signal), policy());
    expect(next.changes).toEqual([]);
    expect(next.conflicts.map((c) => c.message)).toEqual([expect.stringContaining('--reset-password User/fpfail')]);
    await rec.close();
  });

  it('writes account expiry and reads it back as the same date', async () => {
    const rec = reconciler();
    const desired = state({ users: [user('exp1', { accountExpires: '2026-12-31' })] });
    okAll(await pass(rec, desired));
    expect((await read('exp1', ['accountExpires']))?.['accountExpires']).toBe('134432352000000000');
    const out = await pass(rec, state({ users: [user('exp1')] }));
    okAll(out);
    expect(out.plan.changes[0]?.fields).toEqual([{ path: 'spec.accountExpires', before: '2026-12-31', after: null }]);
    expect((await read('exp1', ['accountExpires']))?.['accountExpires']).toBe('9223372036854775807');
    await rec.close();
  });
});

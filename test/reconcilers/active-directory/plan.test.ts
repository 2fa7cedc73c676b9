// Unit: the AD planner as a pure function — desired, live, policy → Change[] and conflicts. No Samba.
import { describe, expect, it } from 'vitest';
import type { ResolvedState } from '../../../src/desired/model.ts';
import { guard, orderChanges } from '../../../src/engine/guard.ts';
import { type Change, DEFAULT_POLICY, type Policy } from '../../../src/engine/types.ts';
import type { AdPayload, LiveDirectory } from '../../../src/reconcilers/active-directory/model.ts';
import { MEMBER_WRITE_CHUNK, passwordFingerprintKey, planDirectory } from '../../../src/reconcilers/active-directory/plan.ts';
import { resolveAdSettings } from '../../../src/reconcilers/active-directory/settings.ts';
import { ALL_OUS, BASE, GROUPS_OU, USERS_OU, group, live, liveGroup, liveUser, secret, state, user } from './desired-builder.ts';

const layout = resolveAdSettings({ url: 'ldaps://dc.cod67.infrasec.test', bindDN: `CN=Administrator,CN=Users,${BASE}`, bindPassword: secret('x'), baseDN: BASE }).layout;
const policy = (over: Partial<Policy> = {}): Policy => ({ ...DEFAULT_POLICY, ...over });
const plan = (desired: ResolvedState, l: LiveDirectory, p: Policy = policy()) => planDirectory(desired, l, p, layout);
const payload = (c: Change | undefined) => c?.payload as unknown as AdPayload;
/** The parts of a change a reviewer reads: who, what, which fields. */
const summary = (c: Change) => ({ kind: c.kind, name: c.name, action: c.action, fields: c.fields.map((f) => `${f.path}: ${JSON.stringify(f.before)} -> ${JSON.stringify(f.after)}`) });

const pw = secret('Corr3ct-Horse!');
const fp = pw.fingerprint;

interface Case {
  readonly name: string;
  readonly desired: ResolvedState;
  readonly live: LiveDirectory;
  readonly policy?: Partial<Policy>;
  readonly changes: ReturnType<typeof summary>[];
  readonly conflicts?: string[];
}

const cases: Case[] = [
  { name: 'empty desired, empty directory: nothing', desired: state({}), live: live(), changes: [] },
  {
    name: 'a new user creates the managed OUs then the account',
    desired: state({ users: [user('jdupont', { title: 'Chef de salle' })], passwords: { jdupont: pw } }),
    live: live(),
    changes: [
      { kind: 'OrganizationalUnit', name: 'OU=infrasec', action: 'create', fields: [] },
      { kind: 'OrganizationalUnit', name: 'OU=Users,OU=infrasec', action: 'create', fields: [] },
      {
        kind: 'User', name: 'jdupont', action: 'create',
        fields: [
          'spec.givenName: null -> "Jean"', 'spec.surname: null -> "JDUPONT"', 'spec.displayName: null -> "Jean JDUPONT"',
          'spec.title: null -> "Chef de salle"', 'userPrincipalName: null -> "jdupont@cod67.infrasec.test"', 'spec.enabled: null -> true',
          'spec.password: null -> "(sensitive)"',
        ],
      },
    ],
  },
  {
    name: 'an owned user equal to Git with a known password fingerprint: nothing',
    desired: state({ users: [user('jdupont')], passwords: { jdupont: pw } }),
    live: live({ users: [liveUser('jdupont', { passwordFingerprint: fp })], ous: ALL_OUS }),
    changes: [],
  },
  {
    name: 'drift in title and a removed department: update with replace and delete',
    desired: state({ users: [user('jdupont', { title: 'Chef' })] }),
    live: live({ users: [liveUser('jdupont', { title: 'Stagiaire', department: 'Transmissions' })], ous: ALL_OUS }),
    changes: [{ kind: 'User', name: 'jdupont', action: 'update', fields: ['spec.title: "Stagiaire" -> "Chef"', 'spec.department: "Transmissions" -> null'] }],
  },
  {
    name: 'enabled: false disables the account',
    desired: state({ users: [user('jdupont', { enabled: false })] }),
    live: live({ users: [liveUser('jdupont', { userAccountControl: 66048 })], ous: ALL_OUS }),
    changes: [{ kind: 'User', name: 'jdupont', action: 'disable', fields: ['spec.enabled: true -> false'] }],
  },
  {
    name: 'enabled: true re-enables a disabled account',
    desired: state({ users: [user('jdupont')] }),
    live: live({ users: [liveUser('jdupont', { userAccountControl: 514 })], ous: ALL_OUS }),
    changes: [{ kind: 'User', name: 'jdupont', action: 'update', fields: ['spec.enabled: false -> true'] }],
  },
  {
    name: 'an owned user removed from Git is disabled by default',
    desired: state({}),
    live: live({ users: [liveUser('parti')] }),
    changes: [{ kind: 'User', name: 'parti', action: 'disable', fields: ['spec.enabled: true -> false'] }],
  },
  {
    name: 'an owned user removed from Git is deleted when policy.userRemoval is delete',
    desired: state({}),
    live: live({ users: [liveUser('parti')] }),
    policy: { userRemoval: 'delete' },
    changes: [{ kind: 'User', name: 'parti', action: 'delete', fields: [] }],
  },
  {
    name: 'an already disabled owned user removed from Git: nothing more to do',
    desired: state({}),
    live: live({ users: [liveUser('parti', { userAccountControl: 514 })] }),
    changes: [],
  },
  {
    name: 'an unowned account that left Git is never touched',
    desired: state({}),
    live: live({ users: [liveUser('admin2', { owned: false, adminDescription: undefined })] }),
    changes: [],
  },
  {
    name: 'an unowned account with a desired name is a conflict, left alone',
    desired: state({ users: [user('jdupont', { title: 'Chef' })] }),
    live: live({ users: [liveUser('jdupont', { owned: false, adminDescription: undefined, dn: `CN=Jean Dupont,CN=Users,${BASE}` })], ous: ALL_OUS }),
    changes: [],
    conflicts: ['User/jdupont'],
  },
  {
    name: 'an unowned account named in policy.adopt is adopted: marker written, attributes corrected',
    desired: state({ users: [user('jdupont', { title: 'Chef' })] }),
    live: live({ users: [liveUser('jdupont', { owned: false, adminDescription: 'legacy' })], ous: ALL_OUS }),
    policy: { adopt: ['User/jdupont'] },
    changes: [{ kind: 'User', name: 'jdupont', action: 'update', fields: ['ownership: "legacy" -> "managed-by=infrasec;instance=default"', 'spec.title: null -> "Chef"'] }],
  },
  {
    name: 'adopt "*" adopts every colliding object',
    desired: state({ groups: [group('crise')] }),
    live: live({ groups: [liveGroup('crise', { owned: false, adminDescription: undefined })], ous: ALL_OUS }),
    policy: { adopt: ['*'] },
    changes: [{ kind: 'Group', name: 'crise', action: 'update', fields: ['ownership: null -> "managed-by=infrasec;instance=default"'] }],
  },
  {
    name: 'a password whose fingerprint differs from the stored one is set again',
    desired: state({ users: [user('jdupont')], passwords: { jdupont: pw } }),
    live: live({ users: [liveUser('jdupont', { passwordFingerprint: 'old' })], ous: ALL_OUS }),
    changes: [{ kind: 'User', name: 'jdupont', action: 'update', fields: ['spec.password: "(sensitive)" -> "(sensitive)"'] }],
  },
  {
    name: 'an owned account whose password fingerprint is unknown keeps its own password: held, with the way to force it, other fields still corrected',
    desired: state({ users: [user('jdupont', { title: 'Chef' })], passwords: { jdupont: pw } }),
    live: live({ users: [liveUser('jdupont')], ous: ALL_OUS }),
    changes: [{ kind: 'User', name: 'jdupont', action: 'update', fields: ['spec.title: null -> "Chef"'] }],
    conflicts: ['User/jdupont'],
  },
  {
    name: 'an unknown password fingerprint and nothing else to do: no change at all',
    desired: state({ users: [user('jdupont')], passwords: { jdupont: pw } }),
    live: live({ users: [liveUser('jdupont')], ous: ALL_OUS }),
    changes: [],
    conflicts: ['User/jdupont'],
  },
  {
    name: 'policy.resetPasswords names the account: the password from Git is set although its fingerprint is unknown',
    desired: state({ users: [user('jdupont')], passwords: { jdupont: pw } }),
    live: live({ users: [liveUser('jdupont')], ous: ALL_OUS }),
    policy: { resetPasswords: ['User/jdupont'] },
    changes: [{ kind: 'User', name: 'jdupont', action: 'update', fields: ['spec.password: "(sensitive)" -> "(sensitive)"'] }],
  },
  {
    name: 'an adopted account keeps its own password too unless named in resetPasswords',
    desired: state({ users: [user('jdupont')], passwords: { jdupont: pw } }),
    live: live({ users: [liveUser('jdupont', { owned: false, adminDescription: 'legacy' })], ous: ALL_OUS }),
    policy: { adopt: ['User/jdupont'] },
    changes: [{ kind: 'User', name: 'jdupont', action: 'update', fields: ['ownership: "legacy" -> "managed-by=infrasec;instance=default"'] }],
    conflicts: ['User/jdupont'],
  },
  {
    name: 'a reset password with mustChangePassword sets pwdLastSet=0 too',
    desired: state({ users: [user('jdupont', { mustChangePassword: true })], passwords: { jdupont: pw } }),
    live: live({ users: [liveUser('jdupont', { passwordFingerprint: 'old' })], ous: ALL_OUS }),
    changes: [{ kind: 'User', name: 'jdupont', action: 'update', fields: ['spec.password: "(sensitive)" -> "(sensitive)"', 'spec.mustChangePassword: null -> true'] }],
  },
  {
    name: 'a generated password is only set at creation',
    desired: state({ users: [user('jdupont')], passwords: { jdupont: secret('Gen3rated-xyz', 'generated') } }),
    live: live({ users: [liveUser('jdupont')], ous: ALL_OUS }),
    changes: [],
  },
  {
    name: 'accountExpires equal in FILETIME: nothing; different: update printed as dates',
    desired: state({ users: [user('a', { accountExpires: '2026-12-31' }), user('b', { accountExpires: '2027-06-30' })] }),
    live: live({
      users: [
        liveUser('a', { accountExpires: '134432352000000000' }),
        liveUser('b', { accountExpires: '134432352000000000' }),
      ],
      ous: ALL_OUS,
    }),
    changes: [{ kind: 'User', name: 'b', action: 'update', fields: ['spec.accountExpires: "2026-12-31" -> "2027-06-30"'] }],
  },
  {
    name: 'a new group: created with its groupType, then its members',
    desired: state({ users: [user('a')], groups: [group('crise', { description: 'Cellule de crise', members: ['a'] })] }),
    live: live({ users: [liveUser('a')], ous: ALL_OUS }),
    changes: [
      { kind: 'Group', name: 'crise', action: 'create', fields: ['spec.scope: null -> "global"', 'spec.type: null -> "security"', 'spec.description: null -> "Cellule de crise"'] },
      { kind: 'Membership', name: 'crise', action: 'update', fields: ['spec.members: null -> "User/a"'] },
    ],
  },
  {
    name: 'authoritative membership removes a member Git does not list',
    desired: state({ users: [user('a'), user('b')], groups: [group('crise', { members: ['User/a'] })] }),
    live: live({ users: [liveUser('a'), liveUser('b')], groups: [liveGroup('crise', { members: [`CN=b,${USERS_OU}`] })], ous: ALL_OUS }),
    changes: [{ kind: 'Membership', name: 'crise', action: 'update', fields: ['spec.members: null -> "User/a"', 'spec.members: "User/b" -> null'] }],
  },
  {
    name: 'additive membership adds but never removes',
    desired: state({ users: [user('a'), user('b')], groups: [group('crise', { members: ['User/a'], membership: 'additive' })] }),
    live: live({ users: [liveUser('a'), liveUser('b')], groups: [liveGroup('crise', { members: [`CN=b,${USERS_OU}`] })], ous: ALL_OUS }),
    changes: [{ kind: 'Membership', name: 'crise', action: 'update', fields: ['spec.members: null -> "User/a"'] }],
  },
  {
    name: "users' spec.groups merge with the group's members; nested groups by Group/ reference",
    desired: state({
      users: [user('a', { groups: ['crise'] }), user('b')],
      groups: [group('crise', { members: ['User/b', 'Group/elus'] }), group('elus')],
    }),
    live: live({ users: [liveUser('a'), liveUser('b')], groups: [liveGroup('crise', { members: [`CN=b,${USERS_OU}`] }), liveGroup('elus')], ous: ALL_OUS }),
    changes: [{ kind: 'Membership', name: 'crise', action: 'update', fields: ['spec.members: null -> "Group/elus"', 'spec.members: null -> "User/a"'] }],
  },
  {
    name: 'member DNs compare by meaning, not by escaping or case',
    desired: state({ users: [user('a')], groups: [group('crise', { members: ['a'] })] }),
    live: live({ users: [liveUser('a', { dn: `CN=a,OU=Users,OU=infrasec,${BASE}` })], groups: [liveGroup('crise', { members: [`cn=A,ou=users,ou=INFRASEC,${BASE.toLowerCase()}`] })], ous: ALL_OUS }),
    changes: [],
  },
  {
    name: 'an unowned colliding member is neither added nor removed',
    desired: state({ users: [user('a'), user('x')], groups: [group('crise', { members: ['a', 'x'] })] }),
    live: live({ users: [liveUser('a'), liveUser('x', { owned: false, adminDescription: undefined })], groups: [liveGroup('crise', { members: [`CN=a,${USERS_OU}`] })], ous: ALL_OUS }),
    changes: [],
    conflicts: ['User/x'],
  },
  {
    name: 'a group name taken by a user account is a conflict',
    desired: state({ groups: [group('jdupont')] }),
    live: live({ users: [liveUser('jdupont', { owned: false })] }),
    changes: [],
    conflicts: ['Group/jdupont'],
  },
  {
    name: 'an owned group removed from Git is deleted (pruned)',
    desired: state({}),
    live: live({ groups: [liveGroup('ancien')] }),
    changes: [{ kind: 'Group', name: 'ancien', action: 'delete', fields: [] }],
  },
  {
    name: 'group description and scope drift',
    desired: state({ groups: [group('crise', { description: 'Nouvelle', scope: 'universal' })] }),
    live: live({ groups: [liveGroup('crise', { description: 'Ancienne' })], ous: ALL_OUS }),
    changes: [{ kind: 'Group', name: 'crise', action: 'update', fields: ['spec.description: "Ancienne" -> "Nouvelle"', 'spec.scope: "global" -> "universal"'] }],
  },
  {
    name: 'a group member that exists nowhere is reported and skipped',
    desired: state({ groups: [group('crise', { members: ['User/fantome'] })] }),
    live: live({ groups: [liveGroup('crise')], ous: ALL_OUS }),
    changes: [],
    conflicts: ['Group/crise'],
  },
];

describe('planDirectory', () => {
  it.each(cases)('$name', (c) => {
    const p = plan(c.desired, c.live, policy(c.policy));
    expect(p.changes.map(summary)).toEqual(c.changes);
    expect(p.conflicts.map((x) => `${x.kind}/${x.name}`)).toEqual(c.conflicts ?? []);
    for (const x of p.conflicts.filter((k) => k.message.startsWith('spec.password:'))) expect(x.message).toContain(`--reset-password User/${x.name}`);
    expect(p.system).toBe('active-directory');
  });

  it('writes a whole new account in one add: marker, enabled UAC, password last with pwdLastSet=0 when asked', () => {
    const p = plan(state({ users: [user('jdupont', { mustChangePassword: true, email: 'j@cod67.fr' })], passwords: { jdupont: pw } }), live({ ous: ALL_OUS }));
    const c = p.changes.find((x) => x.kind === 'User');
    const pl = payload(c);
    expect(pl.dn).toBe(`CN=jdupont,${USERS_OU}`);
    expect(pl.writes).toHaveLength(1);
    const w = pl.writes[0];
    expect(w?.op).toBe('add');
    if (w?.op !== 'add') throw new Error('expected an add');
    expect(w.attributes).toMatchObject({
      objectClass: ['user'], sAMAccountName: ['jdupont'], mail: ['j@cod67.fr'],
      userAccountControl: ['512'], adminDescription: ['managed-by=infrasec;instance=default'], pwdLastSet: ['0'],
    });
    expect(w.attributes).not.toHaveProperty('unicodePwd');
    expect(pl.password?.fingerprintKey).toBe(passwordFingerprintKey('jdupont'));
    expect(pl.password?.fingerprint).toBe(fp);
    expect(c?.fields.find((f) => f.path === 'spec.password')).toEqual({ path: 'spec.password', before: null, after: '(sensitive)', sensitive: true });
  });

  it('never puts a password value in the serialized plan', () => {
    const p = plan(state({ users: [user('a'), user('b')], passwords: { a: pw, b: pw } }), live({ users: [liveUser('b', { passwordFingerprint: 'old' })] }));
    const json = JSON.stringify(p);
    expect(json).not.toContain('Corr3ct-Horse!');
    expect(json).toContain('(sensitive)');
  });

  it('keeps userAccountControl bits it does not own when disabling', () => {
    const p = plan(state({ users: [user('a', { enabled: false })] }), live({ users: [liveUser('a', { userAccountControl: 66048 })], ous: ALL_OUS }));
    const w = payload(p.changes[0]).writes[0];
    expect(w).toEqual({ op: 'modify', dn: `CN=a,${USERS_OU}`, changes: [{ operation: 'replace', attribute: 'userAccountControl', values: ['66050'] }] });
  });

  it('marks removals of objects that left Git as pruned, so guard drops them unless policy.prune', () => {
    const p = plan(state({ users: [user('keep', { enabled: false })] }), live({ users: [liveUser('keep'), liveUser('gone')], groups: [liveGroup('old')] }));
    expect(p.changes.map((c) => [c.name, c.action, c.prune])).toEqual([
      ['old', 'delete', true],
      ['keep', 'disable', false],
      ['gone', 'disable', true],
    ]);
    const g = guard(p, policy({ deletionThreshold: { count: 10, percent: 100 } }));
    expect(g.ok && g.plan.changes.map((c) => c.name)).toEqual(['keep']);
    expect(g.ok && g.dropped.map((c) => c.name)).toEqual(['old', 'gone']);
  });

  it('changes scope global → domainLocal in two writes, through universal', () => {
    const p = plan(state({ groups: [group('g', { scope: 'domainLocal' })] }), live({ groups: [liveGroup('g')], ous: ALL_OUS }));
    expect(payload(p.changes[0]).writes.map((w) => (w.op === 'modify' ? w.changes.map((c) => `${c.attribute}=${c.values.join()}`) : []))).toEqual([
      ['groupType=-2147483640'],
      ['groupType=-2147483644'],
    ]);
  });

  it('slices very large member additions into several modifies', () => {
    const names = Array.from({ length: MEMBER_WRITE_CHUNK + 5 }, (_, i) => `u${i}`);
    const p = plan(state({ users: names.map((n) => user(n)), groups: [group('tous', { members: names })] }), live({ users: names.map((n) => liveUser(n)), groups: [liveGroup('tous')], ous: ALL_OUS }));
    const m = p.changes.find((c) => c.kind === 'Membership');
    expect(payload(m).writes.map((w) => (w.op === 'modify' ? w.changes[0]?.values.length : 0))).toEqual([MEMBER_WRITE_CHUNK, 5]);
  });

  it('ranks OUs, groups, users, memberships; guard runs deletes in reverse', () => {
    const p = plan(
      state({ users: [user('a', { groups: ['g'] })], groups: [group('g')] }),
      live({ users: [liveUser('old')], groups: [liveGroup('oldg')] }),
      policy({ userRemoval: 'delete', prune: true }),
    );
    const order = orderChanges(p.changes).map((c) => `${c.kind}/${c.name}:${c.action}`);
    expect(order).toEqual([
      'OrganizationalUnit/OU=infrasec:create',
      'OrganizationalUnit/OU=Groups,OU=infrasec:create',
      'OrganizationalUnit/OU=Users,OU=infrasec:create',
      'Group/g:create',
      'User/a:create',
      'Membership/g:update',
      'User/old:delete',
      'Group/oldg:delete',
    ]);
    expect(p.ownedCount).toBe(2);
  });

  it('is pure: the same inputs give the same plan, and the inputs are not modified', () => {
    const desired = state({ users: [user('a', { groups: ['g'] })], groups: [group('g', { members: ['a'] })], passwords: { a: pw } });
    const l = live({ users: [liveUser('x')], groups: [liveGroup('g', { members: [`CN=x,${USERS_OU}`] })] });
    const before = JSON.stringify({ u: [...l.users.values()], g: [...l.groups.values()] });
    const one = JSON.stringify(plan(desired, l));
    const two = JSON.stringify(plan(desired, l));
    expect(one).toBe(two);
    expect(JSON.stringify({ u: [...l.users.values()], g: [...l.groups.values()] })).toBe(before);
  });

  it('puts new users and groups under the managed OU with CN = metadata.name', () => {
    const p = plan(state({ users: [user('a.b-c_d')], groups: [group('g-1')] }), live({ ous: ALL_OUS }));
    expect(p.changes.map((c) => payload(c).dn)).toEqual([`CN=g-1,${GROUPS_OU}`, `CN=a.b-c_d,${USERS_OU}`]);
  });
});

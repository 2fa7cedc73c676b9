// Pure: diff desired users and groups against live AD into Changes (with the LDAP writes apply will send). No I/O, no clock.
import type { Group, ResolvedState, User } from '../../desired/model.ts';
import { REDACTED } from '../../desired/secret.ts';
import { adoptable } from '../../engine/adoption.ts';
import type { Change, ChangeAction, Conflict, FieldChange, Plan, Policy } from '../../engine/types.ts';

export type AdChange = Change<AdPayload>;
import {
  accountExpiresToFiletime,
  encodeGroupType,
  FILETIME_NEVER,
  formatFiletime,
  groupTypeSteps,
  UAC_NORMAL_ACCOUNT,
  withAccountDisabled,
} from './encoding.ts';
import { escapeDnValue, formatDn, normalizeDn, parseDn } from './escape.ts';
import { notOwnedBecause } from './ownership.ts';
import {
  type AdChangeKind,
  type AdLayout,
  type AdPayload,
  type LdapModification,
  type LdapWrite,
  type LiveDirectory,
  type LiveGroup,
  type LiveUser,
  RANK,
} from './model.ts';

const SYSTEM = 'active-directory';
/** AD copes badly with huge linked-attribute modifies; member adds/removes are sent in slices of this size. */
export const MEMBER_WRITE_CHUNK = 1000;

export function passwordFingerprintKey(name: string): string {
  return `${SYSTEM}/User/${name.toLowerCase()}/password`;
}

const key = (name: string) => name.toLowerCase();
const present = (s: string | undefined) => (s === undefined || s === '' ? undefined : s);

/** The user attributes infrasec owns, in spec terms and as AD attributes. */
type UserValueKey = 'givenName' | 'surname' | 'displayName' | 'title' | 'department' | 'email' | 'telephoneNumber' | 'userPrincipalName';
const USER_FIELDS: ReadonlyArray<{ readonly path: string; readonly attribute: string; readonly key: UserValueKey }> = [
  { path: 'spec.givenName', attribute: 'givenName', key: 'givenName' },
  { path: 'spec.surname', attribute: 'sn', key: 'surname' },
  { path: 'spec.displayName', attribute: 'displayName', key: 'displayName' },
  { path: 'spec.title', attribute: 'title', key: 'title' },
  { path: 'spec.department', attribute: 'department', key: 'department' },
  { path: 'spec.email', attribute: 'mail', key: 'email' },
  { path: 'spec.telephoneNumber', attribute: 'telephoneNumber', key: 'telephoneNumber' },
  { path: 'userPrincipalName', attribute: 'userPrincipalName', key: 'userPrincipalName' },
];

type DesiredUserValues = Readonly<Record<UserValueKey, string | undefined>> & {
  readonly enabled: boolean;
  readonly accountExpires: string | undefined;
};

function desiredUserValues(u: User, layout: AdLayout): DesiredUserValues {
  const s = u.spec;
  return {
    givenName: present(s.givenName),
    surname: present(s.surname),
    // AD tools show displayName everywhere; an account without one looks broken, so default it.
    displayName: present(s.displayName) ?? (present(`${s.givenName} ${s.surname}`.trim())),
    title: present(s.title),
    department: present(s.department),
    email: present(s.email),
    telephoneNumber: present(s.telephoneNumber),
    userPrincipalName: `${u.metadata.name}@${layout.upnSuffix}`,
    enabled: s.enabled,
    accountExpires: s.accountExpires === undefined ? undefined : accountExpiresToFiletime(s.accountExpires),
  };
}

/** An explicit go-ahead to give an account whose password infrasec never set (or forgot) the password from Git. */
function passwordResetAllowed(policy: Policy, name: string): boolean {
  const allowed = policy.resetPasswords ?? [];
  return allowed.includes('*') || allowed.some((e) => e.toLowerCase() === `user/${name.toLowerCase()}`);
}

/** Why an existing account keeps its own password, and how to set the one from Git anyway. */
export function unknownPasswordMessage(name: string): string {
  return (
    `spec.password: infrasec has no record of setting this account's password (fingerprints.json lost, new state directory, or an adopted account), ` +
    `so the password in AD may be the user's own and is left as it is; to set the one from Git: infrasec apply --reset-password User/${name}, ` +
    `or policy.resetPasswords: [User/${name}] for the controller`
  );
}

function sourceOf(r: User | Group): AdPayload['source'] {
  return { file: r.source.file, line: r.source.line, col: r.source.col };
}

/** `OU=Users,OU=infrasec` for `OU=Users,OU=infrasec,DC=…`: the DN below the base, used as the change name. */
function relativeName(dn: string, baseDN: string): string {
  const rdns = parseDn(dn);
  const base = parseDn(baseDN).length;
  return formatDn(rdns.slice(0, Math.max(1, rdns.length - base)));
}

function change(
  kind: AdChangeKind,
  name: string,
  action: ChangeAction,
  rank: number,
  fields: FieldChange[],
  reason: string,
  { pruned, adopt, serves, supporting, ...payload }: AdPayload & { readonly pruned?: boolean; readonly adopt?: boolean; readonly serves?: string; readonly supporting?: boolean },
): AdChange {
  // Users and groups are matched on sAMAccountName (one namespace for both), OUs on their DN: `Kind/name` says both.
  return {
    system: SYSTEM, kind, name, key: `${kind}/${name}`, action, prune: pruned === true, adopt: adopt === true, fields, reason, rank, payload,
    ...(serves ? { serves } : {}), ...(supporting ? { supporting } : {}),
  };
}

/** Live state plus what the plan itself will create, so memberships can point at objects created earlier in the plan. */
interface Resolved {
  readonly kind: 'User' | 'Group';
  readonly name: string;
  readonly dn: string;
  /** The desired object collides with an unowned live one: neither added nor removed as a member. */
  readonly blocked: boolean;
}

export function planDirectory(desired: ResolvedState, live: LiveDirectory, policy: Policy, layout: AdLayout): Plan<AdPayload> {
  const changes: AdChange[] = [];
  const conflicts: Conflict[] = [];
  const conflict = (kind: AdChangeKind, name: string, message: string) => conflicts.push({ system: SYSTEM, kind, name, message });

  const desiredUsers = new Map<string, User>();
  for (const u of desired.resources.users.values()) desiredUsers.set(key(u.metadata.name), u);
  const desiredGroups = new Map<string, Group>();
  for (const g of desired.resources.groups.values()) desiredGroups.set(key(g.metadata.name), g);

  const resolvedUsers = new Map<string, Resolved>();
  const resolvedGroups = new Map<string, Resolved>();
  let needUsersOU = false;
  let needGroupsOU = false;

  // Groups first: users and memberships refer to them.
  for (const g of sortByName([...desiredGroups.values()])) {
    const name = g.metadata.name;
    const lg = live.groups.get(key(name));
    const clash = live.users.get(key(name));
    if (!lg && clash) {
      conflict('Group', name, `sAMAccountName "${name}" is already used by the user account ${clash.dn}; group not created`);
      resolvedGroups.set(key(name), { kind: 'Group', name, dn: clash.dn, blocked: true });
      continue;
    }
    if (!lg) {
      const dn = `CN=${escapeDnValue(name)},${layout.groupsOU}`;
      needGroupsOU = true;
      resolvedGroups.set(key(name), { kind: 'Group', name, dn, blocked: false });
      changes.push(planGroupCreate(g, dn, layout.marker));
      continue;
    }
    if (!lg.owned && !adoptable(policy, 'Group', name)) {
      conflict('Group', name, unownedMessage('Group', name, lg.dn, lg.adminDescription, layout));
      resolvedGroups.set(key(name), { kind: 'Group', name, dn: lg.dn, blocked: true });
      continue;
    }
    resolvedGroups.set(key(name), { kind: 'Group', name, dn: lg.dn, blocked: false });
    const c = planGroupUpdate(g, lg, layout);
    if (c) changes.push(c);
  }

  for (const u of sortByName([...desiredUsers.values()])) {
    const name = u.metadata.name;
    const lu = live.users.get(key(name));
    const clash = live.groups.get(key(name));
    if (!lu && clash) {
      conflict('User', name, `sAMAccountName "${name}" is already used by the group ${clash.dn}; user not created`);
      resolvedUsers.set(key(name), { kind: 'User', name, dn: clash.dn, blocked: true });
      continue;
    }
    const secret = u.spec.password ? desired.secrets.get('User', name, 'password') : undefined;
    if (u.spec.password && !secret) conflict('User', name, 'spec.password is set but its secret was not resolved; the password is left as it is');
    if (!lu) {
      const dn = `CN=${escapeDnValue(name)},${layout.usersOU}`;
      needUsersOU = true;
      resolvedUsers.set(key(name), { kind: 'User', name, dn, blocked: false });
      changes.push(planUserCreate(u, dn, layout, secret));
      continue;
    }
    if (!lu.owned && !adoptable(policy, 'User', name)) {
      conflict('User', name, unownedMessage('User', name, lu.dn, lu.adminDescription, layout));
      resolvedUsers.set(key(name), { kind: 'User', name, dn: lu.dn, blocked: true });
      continue;
    }
    resolvedUsers.set(key(name), { kind: 'User', name, dn: lu.dn, blocked: false });
    // A password is written to an existing account only when infrasec knows it set the previous one (its fingerprint),
    // or when told to: without the fingerprint the password in AD may be the user's own.
    const knownPassword = lu.passwordFingerprint !== undefined || passwordResetAllowed(policy, name);
    if (secret && secret.origin !== 'generated' && !knownPassword) conflict('User', name, unknownPasswordMessage(name));
    const c = planUserUpdate(u, lu, layout, knownPassword ? secret : undefined);
    if (c) changes.push(c);
  }

  // Owned objects that left Git.
  for (const lu of sortByName([...live.users.values()].filter((x) => x.owned && !desiredUsers.has(key(x.name))))) {
    const c = planUserRemoval(lu, policy);
    if (c) changes.push(c);
  }
  for (const lg of sortByName([...live.groups.values()].filter((x) => x.owned && !desiredGroups.has(key(x.name))))) {
    changes.push(
      change('Group', lg.name, 'delete', RANK.group, [], 'removed from Git', {
        dn: lg.dn,
        writes: [{ op: 'delete', dn: lg.dn }],
        pruned: true,
        expect: { kind: 'Group', name: lg.name, present: false },
      }),
    );
  }

  changes.push(...planMemberships(desiredGroups, desiredUsers, resolvedUsers, resolvedGroups, live, conflict));

  // OUs only when something will be created in them.
  const ouChanges: AdChange[] = [];
  const needOU = (dn: string, rank: number) => {
    if (live.organizationalUnits.has(normalizeDn(dn))) return;
    ouChanges.push(
      change('OrganizationalUnit', relativeName(dn, layout.baseDN), 'create', rank, [], 'container for objects infrasec creates', {
        dn,
        writes: [{ op: 'add', dn, attributes: { objectClass: ['organizationalUnit'], adminDescription: [layout.marker] } }],
        expect: { kind: 'OrganizationalUnit', present: true },
        // No YAML object is an OU: plans fold it into the supporting line.
        supporting: true,
      }),
    );
  };
  if (needUsersOU || needGroupsOU) needOU(layout.managedOU, RANK.managedOU);
  if (needGroupsOU) needOU(layout.groupsOU, RANK.childOU);
  if (needUsersOU) needOU(layout.usersOU, RANK.childOU);

  const ownedCount = [...live.users.values()].filter((x) => x.owned).length + [...live.groups.values()].filter((x) => x.owned).length;
  return { system: SYSTEM, changes: [...ouChanges, ...changes].sort((a, b) => a.rank - b.rank), conflicts, ownedCount };
}

/** The plan's note when an object marked by an earlier version (no instance) is taken over by the instance whose OU holds it. */
function legacyNote(layout: AdLayout): string {
  return `marked by an earlier infrasec without an instance; taken over by instance "${layout.instance}" as it lies in its managed OU`;
}

function unownedMessage(kind: AdChangeKind, name: string, dn: string, adminDescription: string | undefined, layout: AdLayout): string {
  return `${dn} has sAMAccountName "${name}" but ${notOwnedBecause(adminDescription, dn, layout)}; left untouched. Add "${kind}/${name}" to policy.adopt to take it over`;
}

function sortByName<T extends { metadata: { name: string } } | { name: string }>(xs: T[]): T[] {
  const n = (x: T) => ('metadata' in x ? x.metadata.name : x.name);
  return xs.sort((a, b) => (n(a) < n(b) ? -1 : n(a) > n(b) ? 1 : 0));
}

// ---------- groups ----------

function planGroupCreate(g: Group, dn: string, marker: string): AdChange {
  const name = g.metadata.name;
  const description = present(g.spec.description);
  const attributes: Record<string, string[]> = {
    objectClass: ['group'],
    sAMAccountName: [name],
    groupType: [encodeGroupType(g.spec.scope, g.spec.type)],
    adminDescription: [marker],
  };
  if (description !== undefined) attributes['description'] = [description];
  const fields: FieldChange[] = [
    { path: 'spec.scope', before: null, after: g.spec.scope },
    { path: 'spec.type', before: null, after: g.spec.type },
  ];
  if (description !== undefined) fields.push({ path: 'spec.description', before: null, after: description });
  return change('Group', name, 'create', RANK.group, fields, 'not in Active Directory', {
    dn,
    writes: [{ op: 'add', dn, attributes }],
    expect: { kind: 'Group', name, present: true, fields: { owned: true, description, scope: g.spec.scope, type: g.spec.type } },
    source: sourceOf(g),
  });
}

function planGroupUpdate(g: Group, lg: LiveGroup, layout: AdLayout): AdChange | undefined {
  const name = g.metadata.name;
  const fields: FieldChange[] = [];
  const mods: LdapModification[] = [];
  const writes: LdapWrite[] = [];
  const description = present(g.spec.description);
  if (description !== lg.description) {
    fields.push({ path: 'spec.description', before: lg.description ?? null, after: description ?? null });
    mods.push(description === undefined ? { operation: 'delete', attribute: 'description', values: [] } : { operation: 'replace', attribute: 'description', values: [description] });
  }
  if (lg.scope !== g.spec.scope) fields.push({ path: 'spec.scope', before: lg.scope ?? null, after: g.spec.scope });
  if (lg.type !== g.spec.type) fields.push({ path: 'spec.type', before: lg.type, after: g.spec.type });
  const steps = lg.scope !== g.spec.scope || lg.type !== g.spec.type ? groupTypeSteps(lg.scope, g.spec.scope, g.spec.type) : [];

  const adopt = !lg.owned;
  // The marker, not ownership: an object adopted outside the managed OU carries it without being owned.
  const expect = { kind: 'Group' as const, name, present: true, fields: { adminDescription: layout.marker, description, scope: g.spec.scope, type: g.spec.type } };
  // Adopted outside the managed OU, an object keeps this instance's marker but stays adoptable only: not rewritten again.
  if ((adopt || lg.legacyMarker) && lg.adminDescription !== layout.marker) {
    fields.unshift({ path: 'ownership', before: lg.adminDescription ?? null, after: layout.marker });
    mods.push({ operation: 'replace', attribute: 'adminDescription', values: [layout.marker] });
  }
  if (fields.length === 0) return undefined;
  // The first groupType step rides with the attribute modify; a second (global ↔ domainLocal via universal) follows.
  const [firstStep, ...laterSteps] = steps;
  if (firstStep !== undefined) mods.push({ operation: 'replace', attribute: 'groupType', values: [firstStep] });
  if (mods.length > 0) writes.push({ op: 'modify', dn: lg.dn, changes: mods });
  for (const s of laterSteps) writes.push({ op: 'modify', dn: lg.dn, changes: [{ operation: 'replace', attribute: 'groupType', values: [s] }] });
  const reason = adopt ? 'adopting an unowned group (policy.adopt)' : lg.legacyMarker && fields.length === 1 ? legacyNote(layout) : 'attributes differ from Git';
  return change('Group', name, 'update', RANK.group, fields, reason, { dn: lg.dn, writes, adopt: adopt || undefined, expect, source: sourceOf(g) });
}

// ---------- users ----------

function planUserCreate(u: User, dn: string, layout: AdLayout, secret: ReturnType<ResolvedState['secrets']['get']>): AdChange {
  const name = u.metadata.name;
  const v = desiredUserValues(u, layout);
  const attributes: Record<string, string[]> = { objectClass: ['user'], sAMAccountName: [name] };
  const fields: FieldChange[] = [];
  for (const f of USER_FIELDS) {
    const value = v[f.key];
    if (value === undefined) continue;
    attributes[f.attribute] = [value];
    fields.push({ path: f.path, before: null, after: value });
  }
  attributes['userAccountControl'] = [String(withAccountDisabled(UAC_NORMAL_ACCOUNT, !v.enabled))];
  fields.push({ path: 'spec.enabled', before: null, after: v.enabled });
  if (v.accountExpires !== undefined) {
    attributes['accountExpires'] = [v.accountExpires];
    fields.push({ path: 'spec.accountExpires', before: null, after: u.spec.accountExpires });
  }
  attributes['adminDescription'] = [layout.marker];
  let password: AdPayload['password'];
  if (secret) {
    password = { secret, fingerprintKey: passwordFingerprintKey(name), fingerprint: secret.fingerprint };
    fields.push({ path: 'spec.password', before: null, after: REDACTED, sensitive: true });
    // pwdLastSet=0 must come after unicodePwd (apply keeps it last): setting a password stamps pwdLastSet=now.
    if (u.spec.mustChangePassword) {
      attributes['pwdLastSet'] = ['0'];
      fields.push({ path: 'spec.mustChangePassword', before: null, after: true });
    }
  }
  return change('User', name, 'create', RANK.user, fields, 'not in Active Directory', {
    dn,
    writes: [{ op: 'add', dn, attributes }],
    password,
    expect: { kind: 'User', name, present: true, fields: { owned: true, ...expectedUserFields(v) } },
    source: sourceOf(u),
  });
}

function expectedUserFields(v: DesiredUserValues): Partial<Record<keyof LiveUser, unknown>> {
  const out: Partial<Record<keyof LiveUser, unknown>> = { enabled: v.enabled, accountExpires: v.accountExpires };
  for (const f of USER_FIELDS) out[f.key] = v[f.key];
  return out;
}

function planUserUpdate(u: User, lu: LiveUser, layout: AdLayout, secret: ReturnType<ResolvedState['secrets']['get']>): AdChange | undefined {
  const name = u.metadata.name;
  const v = desiredUserValues(u, layout);
  const adopt = !lu.owned;
  const fields: FieldChange[] = [];
  const mods: LdapModification[] = [];
  // Adopted outside the managed OU, an account keeps this instance's marker but stays adoptable only: not rewritten again.
  const remark = (adopt || lu.legacyMarker) && lu.adminDescription !== layout.marker;
  if (remark) {
    fields.push({ path: 'ownership', before: lu.adminDescription ?? null, after: layout.marker });
    mods.push({ operation: 'replace', attribute: 'adminDescription', values: [layout.marker] });
  }
  for (const f of USER_FIELDS) {
    const want = v[f.key];
    const have = lu[f.key];
    if (want === have) continue;
    fields.push({ path: f.path, before: have ?? null, after: want ?? null });
    mods.push(want === undefined ? { operation: 'delete', attribute: f.attribute, values: [] } : { operation: 'replace', attribute: f.attribute, values: [want] });
  }
  if (v.accountExpires !== lu.accountExpires) {
    fields.push({ path: 'spec.accountExpires', before: formatFiletime(lu.accountExpires), after: u.spec.accountExpires ?? null });
    mods.push({ operation: 'replace', attribute: 'accountExpires', values: [v.accountExpires ?? FILETIME_NEVER] });
  }
  const attributesDiffer = fields.length > (remark ? 1 : 0);
  // Only the disable bit is ours; other userAccountControl bits (set by admins or AD) are kept.
  const disable = !v.enabled && lu.enabled;
  if (v.enabled !== lu.enabled) {
    fields.push({ path: 'spec.enabled', before: lu.enabled, after: v.enabled });
    mods.push({ operation: 'replace', attribute: 'userAccountControl', values: [String(withAccountDisabled(lu.userAccountControl, !v.enabled))] });
  }
  // Write-only: compared by the fingerprint of what infrasec last wrote. Generated passwords are set at creation only.
  let password: AdPayload['password'];
  if (secret && secret.origin !== 'generated' && lu.passwordFingerprint !== secret.fingerprint) {
    password = { secret, fingerprintKey: passwordFingerprintKey(name), fingerprint: secret.fingerprint };
    fields.push({ path: 'spec.password', before: REDACTED, after: REDACTED, sensitive: true });
    if (u.spec.mustChangePassword) {
      fields.push({ path: 'spec.mustChangePassword', before: null, after: true });
      mods.push({ operation: 'replace', attribute: 'pwdLastSet', values: ['0'] });
    }
  }
  if (fields.length === 0) return undefined;

  const reasons: string[] = [];
  if (adopt) reasons.push('adopting an unowned account (policy.adopt)');
  else if (lu.legacyMarker) reasons.push(legacyNote(layout));
  if (disable) reasons.push('spec.enabled is false');
  else if (v.enabled && !lu.enabled) reasons.push('spec.enabled is true but the account is disabled');
  if (password) reasons.push(lu.passwordFingerprint === undefined ? 'password from Git was never written by this controller' : 'password in Git changed');
  if (attributesDiffer) reasons.push('attributes differ from Git');
  return change('User', name, disable ? 'disable' : 'update', RANK.user, fields, reasons.join('; '), {
    dn: lu.dn,
    writes: [{ op: 'modify', dn: lu.dn, changes: mods }],
    password,
    adopt: adopt || undefined,
    expect: { kind: 'User', name, present: true, fields: { adminDescription: layout.marker, ...expectedUserFields(v) } },
    source: sourceOf(u),
  });
}

function planUserRemoval(lu: LiveUser, policy: Policy): AdChange | undefined {
  if (policy.userRemoval === 'delete') {
    return change('User', lu.name, 'delete', RANK.user, [], 'removed from Git (policy.userRemoval=delete)', {
      dn: lu.dn,
      writes: [{ op: 'delete', dn: lu.dn }],
      pruned: true,
      forgetFingerprintKey: passwordFingerprintKey(lu.name),
      expect: { kind: 'User', name: lu.name, present: false },
    });
  }
  if (!lu.enabled) return undefined;
  return change('User', lu.name, 'disable', RANK.user, [{ path: 'spec.enabled', before: true, after: false }], 'removed from Git (policy.userRemoval=disable)', {
    dn: lu.dn,
    writes: [{ op: 'modify', dn: lu.dn, changes: [{ operation: 'replace', attribute: 'userAccountControl', values: [String(withAccountDisabled(lu.userAccountControl, true))] }] }],
    pruned: true,
    expect: { kind: 'User', name: lu.name, present: true, fields: { enabled: false } },
  });
}

// ---------- memberships ----------

function planMemberships(
  desiredGroups: ReadonlyMap<string, Group>,
  desiredUsers: ReadonlyMap<string, User>,
  resolvedUsers: ReadonlyMap<string, Resolved>,
  resolvedGroups: ReadonlyMap<string, Resolved>,
  live: LiveDirectory,
  conflict: (kind: AdChangeKind, name: string, message: string) => void,
): AdChange[] {
  // Labels for every DN we know, to print members as User/x or Group/y. Built on first use: a plan without
  // membership changes should not parse thousands of DNs.
  let labels: Map<string, string> | undefined;
  const label = (dn: string) => {
    if (!labels) {
      labels = new Map();
      for (const lu of live.users.values()) labels.set(normalizeDn(lu.dn), `User/${lu.name}`);
      for (const lg of live.groups.values()) labels.set(normalizeDn(lg.dn), `Group/${lg.name}`);
      for (const r of [...resolvedUsers.values(), ...resolvedGroups.values()]) if (!r.blocked) labels.set(normalizeDn(r.dn), `${r.kind}/${r.name}`);
    }
    return labels.get(normalizeDn(dn)) ?? dn;
  };

  const resolveLive = (kind: 'User' | 'Group', name: string): Resolved | undefined => {
    const l = kind === 'User' ? live.users.get(key(name)) : live.groups.get(key(name));
    return l ? { kind, name: l.name, dn: l.dn, blocked: false } : undefined;
  };
  const resolveRef = (ref: string): Resolved | undefined => {
    const m = /^(User|Group)\/(.+)$/.exec(ref);
    if (m) {
      const kind = m[1] as 'User' | 'Group';
      const name = m[2] as string;
      return (kind === 'User' ? resolvedUsers : resolvedGroups).get(key(name)) ?? resolveLive(kind, name);
    }
    // Bare names are users first, then groups (GroupSpec.members).
    return resolvedUsers.get(key(ref)) ?? resolvedGroups.get(key(ref)) ?? resolveLive('User', ref) ?? resolveLive('Group', ref);
  };

  // Users' spec.groups, merged into each group's member list.
  const fromUsers = new Map<string, string[]>();
  for (const u of desiredUsers.values()) {
    for (const gname of u.spec.groups) {
      if (!desiredGroups.has(key(gname))) {
        conflict('User', u.metadata.name, `spec.groups: group "${gname}" is not managed by infrasec; membership not planned`);
        continue;
      }
      const list = fromUsers.get(key(gname)) ?? [];
      list.push(`User/${u.metadata.name}`);
      fromUsers.set(key(gname), list);
    }
  }

  const out: AdChange[] = [];
  for (const g of sortByName([...desiredGroups.values()])) {
    const gname = g.metadata.name;
    const self = resolvedGroups.get(key(gname));
    if (!self || self.blocked) continue;
    const want = new Map<string, string>(); // normalized DN → DN to write
    const neutral = new Set<string>();
    for (const ref of [...g.spec.members, ...(fromUsers.get(key(gname)) ?? [])]) {
      const r = resolveRef(ref);
      if (!r) {
        conflict('Group', gname, `member "${ref}" is neither in Git nor in Active Directory; skipped`);
        continue;
      }
      const n = normalizeDn(r.dn);
      if (r.blocked) neutral.add(n);
      else want.set(n, r.dn);
    }
    const lg = live.groups.get(key(gname));
    const have = new Map<string, string>();
    for (const dn of lg?.members ?? []) have.set(normalizeDn(dn), dn);

    const adds = [...want].filter(([n]) => !have.has(n)).map(([, dn]) => dn);
    const removes = g.spec.membership === 'authoritative' ? [...have].filter(([n]) => !want.has(n) && !neutral.has(n)).map(([, dn]) => dn) : [];
    const byLabel = (a: string, b: string) => (label(a) < label(b) ? -1 : label(a) > label(b) ? 1 : 0);
    adds.sort(byLabel);
    removes.sort(byLabel);
    if (adds.length + removes.length > 0) {
      const fields: FieldChange[] = [
        ...adds.map((dn) => ({ path: 'spec.members', before: null, after: label(dn) })),
        ...removes.map((dn) => ({ path: 'spec.members', before: label(dn), after: null })),
      ];
      const changes: LdapModification[][] = [];
      for (let i = 0; i < adds.length; i += MEMBER_WRITE_CHUNK) changes.push([{ operation: 'add', attribute: 'member', values: adds.slice(i, i + MEMBER_WRITE_CHUNK) }]);
      for (let i = 0; i < removes.length; i += MEMBER_WRITE_CHUNK) {
        const slice: LdapModification = { operation: 'delete', attribute: 'member', values: removes.slice(i, i + MEMBER_WRITE_CHUNK) };
        // Small changes go out as one modify (add + delete together).
        const last = changes[changes.length - 1];
        if (i === 0 && last && adds.length + removes.length <= MEMBER_WRITE_CHUNK) last.push(slice);
        else changes.push([slice]);
      }
      const reason = removes.length > 0 ? 'members differ from Git (membership: authoritative)' : `members listed in Git are missing (membership: ${g.spec.membership})`;
      out.push(
        change('Membership', gname, 'update', RANK.membership, fields, reason, {
          dn: self.dn,
          writes: changes.map((c) => ({ op: 'modify', dn: self.dn, changes: c })),
          expect: { kind: 'Membership', name: gname, present: adds, absent: removes },
          source: sourceOf(g),
          // The membership list is the group's `spec.members` (and its members' `spec.groups`): shown as the group's.
          serves: `Group/${gname}`,
        }),
      );
    }
  }
  return out;
}

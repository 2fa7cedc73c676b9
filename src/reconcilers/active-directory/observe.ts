// Reads live AD in bulk — one paged search for users, one for groups, one for the managed OUs — and normalizes entries to the desired shape.
import type { FingerprintStore } from '../../state/fingerprints.ts';
import type { AdClient, Entry } from './client.ts';
import { decodeGroupType, normalizeFiletime, UAC_ACCOUNTDISABLE } from './encoding.ts';
import { normalizeDn } from './escape.ts';
import { checkManagedOuParent, isNoSuchObject, missingBaseDnError } from './layout-check.ts';
import type { AdLayout, LiveDirectory, LiveGroup, LiveUser } from './model.ts';
import { ownershipOf } from './ownership.ts';
import { passwordFingerprintKey } from './plan.ts';

export const USER_FILTER = '(&(objectClass=user)(!(objectClass=computer)))';
export const GROUP_FILTER = '(objectClass=group)';
export const USER_ATTRIBUTES = [
  'sAMAccountName', 'givenName', 'sn', 'displayName', 'title', 'department', 'mail', 'telephoneNumber',
  'userPrincipalName', 'userAccountControl', 'accountExpires', 'adminDescription',
] as const;
export const GROUP_ATTRIBUTES = ['sAMAccountName', 'description', 'groupType', 'adminDescription', 'member'] as const;

/** Ranged retrieval (AD's MaxValRange, 1500 by default) can need many follow-ups for a huge group; this is the ceiling. */
const MAX_RANGE_STEPS = 10_000;

/** Attribute values by lower-cased name; ldapts keys entries by the server's spelling. */
function attributesOf(entry: Entry): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, v] of Object.entries(entry)) {
    if (k === 'dn') continue;
    const values = (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
    out.set(k.toLowerCase(), values);
  }
  return out;
}

const single = (attrs: Map<string, string[]>, name: string): string | undefined => {
  const v = attrs.get(name.toLowerCase())?.[0];
  return v === undefined || v === '' ? undefined : v;
};

export function normalizeUser(entry: Entry, scope: Pick<AdLayout, 'managedOU' | 'marker'>, fingerprints?: Pick<FingerprintStore, 'get'>): LiveUser | undefined {
  const a = attributesOf(entry);
  const name = single(a, 'sAMAccountName');
  if (name === undefined) return undefined;
  const uac = Number(single(a, 'userAccountControl') ?? '0');
  const adminDescription = single(a, 'adminDescription');
  const user: LiveUser = {
    dn: entry.dn,
    name,
    ...ownershipOf(adminDescription, entry.dn, scope),
    adminDescription,
    givenName: single(a, 'givenName'),
    surname: single(a, 'sn'),
    displayName: single(a, 'displayName'),
    title: single(a, 'title'),
    department: single(a, 'department'),
    email: single(a, 'mail'),
    telephoneNumber: single(a, 'telephoneNumber'),
    userPrincipalName: single(a, 'userPrincipalName'),
    userAccountControl: uac,
    enabled: (uac & UAC_ACCOUNTDISABLE) === 0,
    accountExpires: normalizeFiletime(single(a, 'accountExpires')),
    passwordFingerprint: fingerprints?.get(passwordFingerprintKey(name)),
  };
  return user;
}

/** A `member;range=lo-hi` attribute (hi `*` when complete), as AD returns for groups above MaxValRange. */
export function memberRange(entry: Entry): { values: string[]; next: number | undefined } | undefined {
  for (const [k, v] of Object.entries(entry)) {
    const m = /^member;range=(\d+)-(\d+|\*)$/i.exec(k);
    if (!m) continue;
    const values = (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
    return { values, next: m[2] === '*' ? undefined : Number(m[2]) + 1 };
  }
  return undefined;
}

export function normalizeGroup(entry: Entry, ownershipScope: Pick<AdLayout, 'managedOU' | 'marker'>, extraMembers: readonly string[] = []): LiveGroup | undefined {
  const a = attributesOf(entry);
  const name = single(a, 'sAMAccountName');
  if (name === undefined) return undefined;
  const groupType = Number(single(a, 'groupType') ?? '0');
  const { scope, type } = decodeGroupType(groupType);
  const adminDescription = single(a, 'adminDescription');
  const ranged = memberRange(entry);
  return {
    dn: entry.dn,
    name,
    ...ownershipOf(adminDescription, entry.dn, ownershipScope),
    adminDescription,
    description: single(a, 'description'),
    groupType,
    scope,
    type,
    members: [...(a.get('member') ?? []), ...(ranged?.values ?? []), ...extraMembers],
  };
}

/** Follows `member;range=` until the server says `*`. Only groups above MaxValRange need it (real AD, not Samba). */
export async function fetchRemainingMembers(client: AdClient, entry: Entry, signal: AbortSignal): Promise<string[]> {
  const extra: string[] = [];
  let next = memberRange(entry)?.next;
  for (let step = 0; next !== undefined; step++) {
    if (step >= MAX_RANGE_STEPS) throw new Error(`ranged retrieval of member on ${entry.dn} did not finish after ${MAX_RANGE_STEPS} steps`);
    signal.throwIfAborted();
    const [page] = await client.search({ base: entry.dn, scope: 'base', filter: '(objectClass=*)', attributes: [`member;range=${next}-*`] }, signal);
    const r = page ? memberRange(page) : undefined;
    if (!r) break;
    extra.push(...r.values);
    next = r.next;
  }
  return extra;
}

export async function observeDirectory(
  client: AdClient,
  layout: AdLayout,
  fingerprints: Pick<FingerprintStore, 'get'>,
  now: Date,
  signal: AbortSignal,
): Promise<LiveDirectory> {
  const [userEntries, groupEntries, ouEntries] = await Promise.all([
    client.search({ base: layout.baseDN, scope: 'sub', filter: USER_FILTER, attributes: USER_ATTRIBUTES }, signal),
    client.search({ base: layout.baseDN, scope: 'sub', filter: GROUP_FILTER, attributes: GROUP_ATTRIBUTES }, signal),
    client.searchIfExists({ base: layout.managedOU, scope: 'sub', filter: '(objectClass=organizationalUnit)', attributes: ['ou'] }, signal),
  ]).catch(async (err: unknown) => {
    throw isNoSuchObject(err) ? await missingBaseDnError(client, layout, err, signal) : err;
  });
  if (ouEntries.length === 0) await checkManagedOuParent(client, layout, signal);
  const users = new Map<string, LiveUser>();
  for (const e of userEntries) {
    const u = normalizeUser(e, layout, fingerprints);
    if (u) users.set(u.name.toLowerCase(), u);
  }
  const groups = new Map<string, LiveGroup>();
  for (const e of groupEntries) {
    const extra = memberRange(e)?.next !== undefined ? await fetchRemainingMembers(client, e, signal) : [];
    const g = normalizeGroup(e, layout, extra);
    if (g) groups.set(g.name.toLowerCase(), g);
  }
  const organizationalUnits = new Set(ouEntries.map((e) => normalizeDn(e.dn)));
  return { users, groups, organizationalUnits, observedAt: now.toISOString() };
}

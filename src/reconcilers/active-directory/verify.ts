// Re-reads what apply touched, in bulk (OR filters of a few hundred names per search), and reports what does not match the plan.
import type { Diagnostic } from '../../desired/diagnostic.ts';
import type { Applied } from '../../engine/types.ts';
import type { AdClient, Entry } from './client.ts';
import { equalityFilter, normalizeDn } from './escape.ts';
import type { AdLayout, AdPayload, Expectation, LiveGroup, LiveUser } from './model.ts';
import { fetchRemainingMembers, GROUP_ATTRIBUTES, GROUP_FILTER, memberRange, normalizeGroup, normalizeUser, USER_ATTRIBUTES, USER_FILTER } from './observe.ts';

/** Names per OR filter: keeps each search request small while 2,000 touched users still take a handful of searches. */
export const VERIFY_CHUNK = 250;

const FIELD_PATHS: Readonly<Record<string, string>> = { owned: 'ownership', adminDescription: 'ownership', userPrincipalName: 'userPrincipalName' };

export async function verifyApplied(client: AdClient, layout: AdLayout, applied: readonly Applied<AdPayload>[], signal: AbortSignal): Promise<Diagnostic[]> {
  const checks: Array<{ expect: Expectation; payload: AdPayload; label: string }> = [];
  for (const a of applied) {
    const payload = a.change.payload;
    if (!a.ok || a.writes === 0 || !payload?.expect) continue;
    checks.push({ expect: payload.expect, payload, label: `${a.change.kind}/${a.change.name}` });
  }
  if (checks.length === 0) return [];

  const userNames = new Set<string>();
  const groupNames = new Set<string>();
  let ous = false;
  for (const { expect } of checks) {
    if (expect.kind === 'User') userNames.add(expect.name.toLowerCase());
    else if (expect.kind === 'Group' || expect.kind === 'Membership') groupNames.add(expect.name.toLowerCase());
    else ous = true;
  }

  const users = new Map<string, LiveUser>();
  for (const e of await readByName(client, layout, USER_FILTER, USER_ATTRIBUTES, [...userNames], signal)) {
    const u = normalizeUser(e, layout);
    if (u) users.set(u.name.toLowerCase(), u);
  }
  const groups = new Map<string, LiveGroup>();
  for (const e of await readByName(client, layout, GROUP_FILTER, GROUP_ATTRIBUTES, [...groupNames], signal)) {
    const extra = memberRange(e)?.next !== undefined ? await fetchRemainingMembers(client, e, signal) : [];
    const g = normalizeGroup(e, layout, extra);
    if (g) groups.set(g.name.toLowerCase(), g);
  }
  const ouSet = ous
    ? new Set((await client.searchIfExists({ base: layout.managedOU, scope: 'sub', filter: '(objectClass=organizationalUnit)', attributes: ['ou'] }, signal)).map((e) => normalizeDn(e.dn)))
    : new Set<string>();

  const out: Diagnostic[] = [];
  for (const { expect, payload, label } of checks) {
    const diag = (path: string, code: string, message: string): Diagnostic => ({
      file: payload.source?.file ?? '',
      line: payload.source?.line ?? 0,
      col: payload.source?.col ?? 0,
      path,
      code,
      message: `${label}: ${message}`,
      severity: 'error',
    });
    switch (expect.kind) {
      case 'OrganizationalUnit': {
        if (expect.present && !ouSet.has(normalizeDn(payload.dn))) out.push(diag('', 'ad-verify-missing', `${payload.dn} is not in AD after apply`));
        break;
      }
      case 'User':
      case 'Group': {
        const live = expect.kind === 'User' ? users.get(expect.name.toLowerCase()) : groups.get(expect.name.toLowerCase());
        if (!expect.present) {
          if (live) out.push(diag('', 'ad-verify-still-present', `still in AD at ${live.dn} after delete`));
          break;
        }
        if (!live) {
          out.push(diag('', 'ad-verify-missing', 'not found in AD after apply'));
          break;
        }
        for (const [k, want] of Object.entries(expect.fields ?? {})) {
          const have = (live as unknown as Record<string, unknown>)[k];
          if (have !== want) {
            out.push(diag(FIELD_PATHS[k] ?? `spec.${k}`, 'ad-verify-mismatch', `${k} reads ${JSON.stringify(have ?? null)} in AD, expected ${JSON.stringify(want ?? null)}`));
          }
        }
        break;
      }
      case 'Membership': {
        const g = groups.get(expect.name.toLowerCase());
        if (!g) {
          out.push(diag('spec.members', 'ad-verify-missing', 'group not found in AD after apply'));
          break;
        }
        const have = new Set(g.members.map(normalizeDn));
        for (const dn of expect.present) if (!have.has(normalizeDn(dn))) out.push(diag('spec.members', 'ad-verify-mismatch', `${dn} is not a member after apply`));
        for (const dn of expect.absent) if (have.has(normalizeDn(dn))) out.push(diag('spec.members', 'ad-verify-mismatch', `${dn} is still a member after apply`));
        break;
      }
    }
  }
  return out;
}

async function readByName(
  client: AdClient,
  layout: AdLayout,
  kindFilter: string,
  attributes: readonly string[],
  names: readonly string[],
  signal: AbortSignal,
): Promise<Entry[]> {
  const out: Entry[] = [];
  for (let i = 0; i < names.length; i += VERIFY_CHUNK) {
    const any = names.slice(i, i + VERIFY_CHUNK).map((n) => equalityFilter('sAMAccountName', n)).join('');
    out.push(...(await client.search({ base: layout.baseDN, scope: 'sub', filter: `(&${kindFilter}(|${any}))`, attributes }, signal)));
  }
  return out;
}

// Unit: wire entries from a paged search normalize into the desired shape (owned, enabled, never-expiring, ranged members).
import { describe, expect, it } from 'vitest';
import { MemoryFingerprintStore } from '../../../src/state/fingerprints.ts';
import { memberRange, normalizeGroup, normalizeUser } from '../../../src/reconcilers/active-directory/observe.ts';
import { passwordFingerprintKey } from '../../../src/reconcilers/active-directory/plan.ts';
import { ownershipMarker } from '../../../src/reconcilers/active-directory/ownership.ts';

const SCOPE = { managedOU: 'OU=infrasec,DC=x', marker: ownershipMarker('cod67') };

describe('normalizeUser', () => {
  it('maps AD attributes to spec names, case-insensitively, with the fingerprint from the store', async () => {
    const store = new MemoryFingerprintStore();
    await store.set(passwordFingerprintKey('jdupont'), 'fp1');
    const u = normalizeUser(
      { dn: 'CN=jdupont,OU=Users,OU=infrasec,DC=x', samaccountname: 'jdupont', givenName: 'Jean', SN: 'Dupont', mail: 'j@x.fr', title: [], userAccountControl: '66050', accountExpires: '9223372036854775807', adminDescription: 'managed-by=infrasec;instance=cod67' },
      SCOPE,
      store,
    );
    expect(u).toEqual({
      dn: 'CN=jdupont,OU=Users,OU=infrasec,DC=x', name: 'jdupont', owned: true, legacyMarker: false, adminDescription: 'managed-by=infrasec;instance=cod67',
      givenName: 'Jean', surname: 'Dupont', displayName: undefined, title: undefined, department: undefined, email: 'j@x.fr',
      telephoneNumber: undefined, userPrincipalName: undefined, userAccountControl: 66050, enabled: false, accountExpires: undefined,
      passwordFingerprint: 'fp1',
    });
  });

  it('does not own what carries another adminDescription, and skips entries without sAMAccountName', () => {
    expect(normalizeUser({ dn: 'CN=a,OU=infrasec,DC=x', sAMAccountName: 'a', adminDescription: 'managed-by=someone-else', userAccountControl: '512' }, SCOPE)?.owned).toBe(false);
    expect(normalizeUser({ dn: 'CN=b' }, SCOPE)).toBeUndefined();
  });

  it('owns only with this instance\'s marker inside the managed OU; an earlier version\'s marker counts there, to be rewritten', () => {
    const user = (dn: string, adminDescription: string) => normalizeUser({ dn, sAMAccountName: 'a', adminDescription, userAccountControl: '512' }, SCOPE)!;
    expect(user('CN=a,OU=Users,OU=infrasec,DC=x', 'managed-by=infrasec;instance=cod67')).toMatchObject({ owned: true, legacyMarker: false });
    // Another instance sharing the domain, even inside this OU.
    expect(user('CN=a,OU=Users,OU=infrasec,DC=x', 'managed-by=infrasec;instance=staging')).toMatchObject({ owned: false, legacyMarker: false });
    // This instance's marker written by hand outside the managed OU.
    expect(user('CN=a,CN=Users,DC=x', 'managed-by=infrasec;instance=cod67')).toMatchObject({ owned: false });
    expect(user('CN=a,OU=infrasec-old,DC=x', 'managed-by=infrasec;instance=cod67')).toMatchObject({ owned: false });
    // The marker without an instance: owned (and flagged) inside the OU only.
    expect(user('CN=a,OU=Users,OU=infrasec,DC=x', 'managed-by=infrasec')).toMatchObject({ owned: true, legacyMarker: true });
    expect(user('CN=a,CN=Users,DC=x', 'managed-by=infrasec')).toMatchObject({ owned: false, legacyMarker: false });
  });
});

describe('normalizeGroup', () => {
  it('decodes groupType and collects members, single or many', () => {
    expect(normalizeGroup({ dn: 'CN=g', sAMAccountName: 'g', groupType: '-2147483640', member: 'CN=a' }, SCOPE)).toMatchObject({ scope: 'universal', type: 'security', members: ['CN=a'], owned: false });
    expect(normalizeGroup({ dn: 'CN=g', sAMAccountName: 'g', groupType: '2', member: ['CN=a', 'CN=b'] }, SCOPE)?.members).toEqual(['CN=a', 'CN=b']);
  });

  it('merges ranged member values (AD above MaxValRange) with the follow-up pages', () => {
    const entry = { dn: 'CN=big', sAMAccountName: 'big', groupType: '2', member: [], 'member;range=0-1': ['CN=a', 'CN=b'] };
    expect(memberRange(entry)).toEqual({ values: ['CN=a', 'CN=b'], next: 2 });
    expect(memberRange({ dn: 'CN=big', 'member;range=2-*': ['CN=c'] })).toEqual({ values: ['CN=c'], next: undefined });
    expect(normalizeGroup(entry, SCOPE, ['CN=c'])?.members).toEqual(['CN=a', 'CN=b', 'CN=c']);
  });
});

// Unit: wire entries from a paged search normalize into the desired shape (owned, enabled, never-expiring, ranged members).
import { describe, expect, it } from 'vitest';
import { MemoryFingerprintStore } from '../../../src/state/fingerprints.ts';
import { memberRange, normalizeGroup, normalizeUser } from '../../../src/reconcilers/active-directory/observe.ts';
import { passwordFingerprintKey } from '../../../src/reconcilers/active-directory/plan.ts';

describe('normalizeUser', () => {
  it('maps AD attributes to spec names, case-insensitively, with the fingerprint from the store', async () => {
    const store = new MemoryFingerprintStore();
    await store.set(passwordFingerprintKey('jdupont'), 'fp1');
    const u = normalizeUser(
      { dn: 'CN=jdupont,OU=Users,DC=x', samaccountname: 'jdupont', givenName: 'Jean', SN: 'Dupont', mail: 'j@x.fr', title: [], userAccountControl: '66050', accountExpires: '9223372036854775807', adminDescription: 'managed-by=infrasec' },
      store,
    );
    expect(u).toEqual({
      dn: 'CN=jdupont,OU=Users,DC=x', name: 'jdupont', owned: true, adminDescription: 'managed-by=infrasec',
      givenName: 'Jean', surname: 'Dupont', displayName: undefined, title: undefined, department: undefined, email: 'j@x.fr',
      telephoneNumber: undefined, userPrincipalName: undefined, userAccountControl: 66050, enabled: false, accountExpires: undefined,
      passwordFingerprint: 'fp1',
    });
  });

  it('does not own what carries another adminDescription, and skips entries without sAMAccountName', () => {
    expect(normalizeUser({ dn: 'CN=a', sAMAccountName: 'a', adminDescription: 'managed-by=someone-else', userAccountControl: '512' })?.owned).toBe(false);
    expect(normalizeUser({ dn: 'CN=b' })).toBeUndefined();
  });
});

describe('normalizeGroup', () => {
  it('decodes groupType and collects members, single or many', () => {
    expect(normalizeGroup({ dn: 'CN=g', sAMAccountName: 'g', groupType: '-2147483640', member: 'CN=a' })).toMatchObject({ scope: 'universal', type: 'security', members: ['CN=a'], owned: false });
    expect(normalizeGroup({ dn: 'CN=g', sAMAccountName: 'g', groupType: '2', member: ['CN=a', 'CN=b'] })?.members).toEqual(['CN=a', 'CN=b']);
  });

  it('merges ranged member values (AD above MaxValRange) with the follow-up pages', () => {
    const entry = { dn: 'CN=big', sAMAccountName: 'big', groupType: '2', member: [], 'member;range=0-1': ['CN=a', 'CN=b'] };
    expect(memberRange(entry)).toEqual({ values: ['CN=a', 'CN=b'], next: 2 });
    expect(memberRange({ dn: 'CN=big', 'member;range=2-*': ['CN=c'] })).toEqual({ values: ['CN=c'], next: undefined });
    expect(normalizeGroup(entry, ['CN=c'])?.members).toEqual(['CN=a', 'CN=b', 'CN=c']);
  });
});

// Unit: AD settings defaults and the layout derived from them; bad settings are ConfigErrors, never a silent fallback.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.ts';
import { resolveAdSettings, type AdSettings } from '../../../src/reconcilers/active-directory/settings.ts';
import { BASE, secret } from './desired-builder.ts';

const base: AdSettings = { url: 'ldaps://dc.cod67.infrasec.test', bindDN: `CN=svc,${BASE}`, bindPassword: secret('x'), baseDN: BASE };

describe('resolveAdSettings', () => {
  it('defaults to OU=infrasec under the base, TLS verified, UPN suffix from the base DN', () => {
    const s = resolveAdSettings(base);
    expect(s.tlsInsecure).toBe(false);
    expect(s.layout).toEqual({
      baseDN: BASE,
      managedOU: `OU=infrasec,${BASE}`,
      usersOU: `OU=Users,OU=infrasec,${BASE}`,
      groupsOU: `OU=Groups,OU=infrasec,${BASE}`,
      upnSuffix: 'cod67.infrasec.test',
      instance: 'default',
      marker: 'managed-by=infrasec;instance=default',
    });
    expect(s.timeoutMs).toBe(15_000);
    expect(s.concurrency).toBe(4);
  });

  it('takes managedOU relative to the base, or absolute when it already ends with it', () => {
    expect(resolveAdSettings({ ...base, managedOU: 'OU=gitops,OU=IT' }).layout.managedOU).toBe(`OU=gitops,OU=IT,${BASE}`);
    expect(resolveAdSettings({ ...base, managedOU: `OU=gitops,${BASE.toUpperCase()}` }).layout.managedOU).toBe(`OU=gitops,${BASE.toUpperCase()}`);
  });

  it.each([
    ['plain ldap://', { url: 'ldap://dc' }],
    ['not a URL', { url: 'dc.cod67' }],
    ['a malformed base DN', { baseDN: 'DC=cod67,' }],
    ['a malformed managed OU', { managedOU: 'infrasec' }],
    ['a silly concurrency', { concurrency: 0 }],
  ])('refuses %s with ConfigError', (_name, over) => {
    expect(() => resolveAdSettings({ ...base, ...over })).toThrow(ConfigError);
  });

  it('never prints the bind password', () => {
    expect(JSON.stringify(resolveAdSettings({ ...base, bindPassword: secret('Sup3r-Secret!') }))).not.toContain('Sup3r-Secret!');
  });
});

// Pure: the Authentication/ldap change planned from systems.modoboa.ldap* against Modoboa's parameters, the bind password compared but never shown.
import { describe, expect, it } from 'vitest';
import { Secret } from '../../../src/desired/secret.ts';
import type { AuthenticationValues, DesiredAuthentication, LiveAuthentication } from '../../../src/reconcilers/modoboa/model.ts';
import { liveLdapUrl, planAuthentication, serverOf } from '../../../src/reconcilers/modoboa/plan-authentication.ts';

const secret = (v: string) => new Secret(v, 'env', `fp-${v.length}`);
const VALUES: AuthenticationValues = {
  authentication_type: 'ldap',
  ldap_server_address: 'dc1.cod67.example.fr',
  ldap_server_port: 636,
  ldap_secured: 'ssl',
  ldap_is_active_directory: true,
  ldap_auth_method: 'searchbind',
  ldap_bind_dn: 'CN=svc-modoboa,OU=Services,DC=cod67,DC=example,DC=fr',
  ldap_search_base: 'OU=infrasec,DC=cod67,DC=example,DC=fr',
  ldap_search_filter: '(&(objectCategory=person)(objectClass=user)(mail=%(user)s))',
};
const desired: DesiredAuthentication = { url: 'ldaps://dc1.cod67.example.fr', values: VALUES, bindPassword: secret('Bind-Passw0rd') };
const live = (over: Partial<Record<keyof AuthenticationValues, unknown>> = {}, password = 'Bind-Passw0rd'): LiveAuthentication => ({ values: { ...VALUES, ...over }, bindPassword: secret(password) });
const STOCK = { authentication_type: 'local', ldap_server_address: 'localhost', ldap_server_port: 389, ldap_secured: 'none', ldap_is_active_directory: false, ldap_bind_dn: '', ldap_search_base: '', ldap_search_filter: '(mail=%(user)s)' };

describe('planAuthentication', () => {
  const URL = 'systems.modoboa.ldapUrl';
  it.each([
    ['nothing when Modoboa already holds the settings', live(), [], []],
    [
      'every LDAP parameter of a stock Modoboa, and the password as (sensitive)', live(STOCK, ''),
      [URL, 'systems.modoboa.ldapBindDN', 'systems.modoboa.ldapSearchBase', 'systems.modoboa.ldapSearchFilter', 'systems.modoboa.ldapBindPassword'], [...Object.keys(STOCK), 'ldap_bind_password'],
    ],
    ['only the password when someone retyped it', live({}, 'typed-by-hand'), ['systems.modoboa.ldapBindPassword'], ['ldap_bind_password']],
    ['authentication switched back to local by hand', live({ authentication_type: 'local' }), [URL], ['authentication_type']],
    ['TLS turned off by hand', live({ ldap_secured: 'none', ldap_server_port: 389 }), [URL], ['ldap_server_port', 'ldap_secured']],
  ])('%s: the infrasec.yaml settings, Modoboa\'s parameters behind them', (_, l, settings, parameters) => {
    const c = planAuthentication(desired, l);
    expect(c?.fields.map((f) => f.path) ?? []).toEqual(settings);
    expect(c?.wire?.map((f) => f.path) ?? []).toEqual(parameters);
    if (c) {
      expect(c).toMatchObject({ system: 'modoboa', kind: 'Authentication', name: 'ldap', key: 'Authentication/ldap', action: 'update', prune: false, adopt: false });
      expect(JSON.stringify(c)).not.toContain('Bind-Passw0rd');
      expect(JSON.stringify(c)).not.toContain('typed-by-hand');
    }
  });

  it('plans nothing when infrasec does not manage authentication (no ldapUrl)', () => {
    expect(planAuthentication(undefined, live(STOCK))).toBeUndefined();
  });

  it('shows before → after for plain values and only (sensitive) for the password, in the settings and the parameters', () => {
    const c = planAuthentication(desired, live({ ldap_secured: 'none' }, 'Other-Passw0rd'))!;
    // No ldapUrl makes Modoboa bind without TLS: the setting differs, the parameter behind it says how.
    expect(c.fields).toEqual([
      { path: 'systems.modoboa.ldapUrl', before: '(differs)', after: 'ldaps://dc1.cod67.example.fr' },
      { path: 'systems.modoboa.ldapBindPassword', before: '(sensitive)', after: '(sensitive)', sensitive: true },
    ]);
    expect(c.wire).toEqual([
      { path: 'ldap_secured', before: 'none', after: 'ssl', from: 'systems.modoboa.ldapUrl' },
      { path: 'ldap_bind_password', before: '(sensitive)', after: '(sensitive)', sensitive: true, from: 'systems.modoboa.ldapBindPassword' },
    ]);
    expect(JSON.stringify(c)).not.toContain('Other-Passw0rd');
    expect(JSON.stringify(c)).not.toContain('Bind-Passw0rd');
  });

  it('reads the ldapUrl Modoboa holds back from its parameters: the server it uses, or none when LDAP login is off', () => {
    expect(planAuthentication(desired, live({ ldap_server_address: 'dc0.cod67.example.fr' }))!.fields).toEqual([{ path: 'systems.modoboa.ldapUrl', before: 'ldaps://dc0.cod67.example.fr', after: 'ldaps://dc1.cod67.example.fr' }]);
    expect(planAuthentication(desired, live({ authentication_type: 'local' }))!.fields).toEqual([{ path: 'systems.modoboa.ldapUrl', before: null, after: 'ldaps://dc1.cod67.example.fr' }]);
    expect(liveLdapUrl({ ...VALUES, ldap_secured: 'starttls', ldap_server_port: 3389 })).toBe('ldap://dc1.cod67.example.fr:3389');
    expect(liveLdapUrl({ ...VALUES, ldap_auth_method: 'directbind' })).toBeUndefined();
  });
});

describe('serverOf', () => {
  it.each([
    ['ldaps://dc1.cod67.example.fr', { ldap_server_address: 'dc1.cod67.example.fr', ldap_server_port: 636, ldap_secured: 'ssl' }],
    ['ldaps://127.0.0.21:10636', { ldap_server_address: '127.0.0.21', ldap_server_port: 10636, ldap_secured: 'ssl' }],
    ['ldap://dc1.cod67.example.fr', { ldap_server_address: 'dc1.cod67.example.fr', ldap_server_port: 389, ldap_secured: 'starttls' }],
  ])('%s → Modoboa’s server parameters (never a plaintext bind)', (url, want) => {
    expect(serverOf(url)).toEqual(want);
  });
});

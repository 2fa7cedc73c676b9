// Pure: the Authentication/ldap change planned from systems.modoboa.ldap* against Modoboa's parameters, the bind password compared but never shown.
import { describe, expect, it } from 'vitest';
import { Secret } from '../../../src/desired/secret.ts';
import type { AuthenticationValues, DesiredAuthentication, LiveAuthentication } from '../../../src/reconcilers/modoboa/model.ts';
import { planAuthentication, serverOf } from '../../../src/reconcilers/modoboa/plan-authentication.ts';

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
const desired: DesiredAuthentication = { values: VALUES, bindPassword: secret('Bind-Passw0rd') };
const live = (over: Partial<Record<keyof AuthenticationValues, unknown>> = {}, password = 'Bind-Passw0rd'): LiveAuthentication => ({ values: { ...VALUES, ...over }, bindPassword: secret(password) });
const STOCK = { authentication_type: 'local', ldap_server_address: 'localhost', ldap_server_port: 389, ldap_secured: 'none', ldap_is_active_directory: false, ldap_bind_dn: '', ldap_search_base: '', ldap_search_filter: '(mail=%(user)s)' };

describe('planAuthentication', () => {
  it.each([
    ['nothing when Modoboa already holds the settings', live(), []],
    ['every LDAP parameter of a stock Modoboa, and the password as (sensitive)', live(STOCK, ''), [...Object.keys(STOCK), 'ldap_bind_password']],
    ['only the password when someone retyped it', live({}, 'typed-by-hand'), ['ldap_bind_password']],
    ['authentication switched back to local by hand', live({ authentication_type: 'local' }), ['authentication_type']],
    ['TLS turned off by hand', live({ ldap_secured: 'none', ldap_server_port: 389 }), ['ldap_server_port', 'ldap_secured']],
  ])('%s', (_, l, paths) => {
    const c = planAuthentication(desired, l);
    expect(c?.fields.map((f) => f.path) ?? []).toEqual(paths);
    if (c) {
      expect(c).toMatchObject({ system: 'modoboa', kind: 'Authentication', name: 'ldap', key: 'Authentication/ldap', action: 'update', prune: false, adopt: false });
      expect(JSON.stringify(c)).not.toContain('Bind-Passw0rd');
      expect(JSON.stringify(c)).not.toContain('typed-by-hand');
    }
  });

  it('plans nothing when infrasec does not manage authentication (no ldapUrl)', () => {
    expect(planAuthentication(undefined, live(STOCK))).toBeUndefined();
  });

  it('shows before → after for plain values and only (sensitive) for the password', () => {
    const c = planAuthentication(desired, live({ ldap_secured: 'none' }, 'other'))!;
    expect(c.fields).toEqual([
      { path: 'ldap_secured', before: 'none', after: 'ssl' },
      { path: 'ldap_bind_password', before: '(sensitive)', after: '(sensitive)', sensitive: true },
    ]);
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

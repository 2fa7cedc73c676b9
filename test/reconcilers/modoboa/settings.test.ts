// Unit: systems.modoboa's LDAP authentication settings are refused at configuration load when they would mean a plaintext bind or are incomplete.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { ConfigError } from '../../../src/errors.ts';

const BASE = { INFRASEC_MODOBOA_URL: 'https://mail.cod67.example.fr', INFRASEC_MODOBOA_TOKEN: 't0ken' };
const LDAP = {
  INFRASEC_MODOBOA_LDAP_URL: 'ldaps://dc1.cod67.example.fr',
  INFRASEC_MODOBOA_LDAP_BIND_DN: 'CN=svc-modoboa,OU=Services,DC=cod67,DC=example,DC=fr',
  INFRASEC_MODOBOA_LDAP_BIND_PASSWORD: 'Bind-Passw0rd',
  INFRASEC_MODOBOA_LDAP_SEARCH_BASE: 'OU=infrasec,DC=cod67,DC=example,DC=fr',
};

async function load(env: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'infrasec-modoboa-settings-'));
  try {
    const file = join(dir, 'infrasec.yaml');
    await writeFile(file, '{}\n');
    return await loadConfig({ file, env: { ...env, INFRASEC_STATE_DIR: dir } });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('systems.modoboa LDAP authentication settings', () => {
  it('leaves them unset by default (Modoboa’s authentication is left alone)', async () => {
    expect((await load(BASE)).systems['modoboa']).not.toHaveProperty('ldapUrl');
  });

  it('takes the URL, bind account, search base and the default Active Directory filter from the environment', async () => {
    expect((await load({ ...BASE, ...LDAP })).systems['modoboa']).toMatchObject({
      ldapUrl: 'ldaps://dc1.cod67.example.fr',
      ldapBindDN: LDAP.INFRASEC_MODOBOA_LDAP_BIND_DN,
      ldapSearchBase: LDAP.INFRASEC_MODOBOA_LDAP_SEARCH_BASE,
      ldapSearchFilter: '(&(objectCategory=person)(objectClass=user)(mail=%(user)s))',
    });
  });

  it('reads the bind password from a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infrasec-modoboa-settings-'));
    try {
      await writeFile(join(dir, 'pw'), 'From-File-Passw0rd\n');
      const { INFRASEC_MODOBOA_LDAP_BIND_PASSWORD: _, ...rest } = LDAP;
      expect((await load({ ...BASE, ...rest, INFRASEC_MODOBOA_LDAP_BIND_PASSWORD_FILE: join(dir, 'pw') })).systems['modoboa']).toMatchObject({ ldapBindPassword: 'From-File-Passw0rd' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['a URL that is not LDAP', { INFRASEC_MODOBOA_LDAP_URL: 'https://dc1.cod67.example.fr' }, /ldapUrl: must start with ldaps:\/\/ \(TLS\) or ldap:\/\/ \(STARTTLS\)/],
    ['a URL with a path or query', { INFRASEC_MODOBOA_LDAP_URL: 'ldaps://dc1.cod67.example.fr/DC=x?sub' }, /ldapUrl: must be ldaps:\/\/HOST\[:PORT\]/],
    ['no bind account', { INFRASEC_MODOBOA_LDAP_BIND_DN: '' , INFRASEC_MODOBOA_LDAP_SEARCH_BASE: '' }, /ldapBindDN: required with ldapUrl[\s\S]*ldapSearchBase: required with ldapUrl/],
  ])('refuses %s, naming the setting', async (_, over, message) => {
    const env = Object.fromEntries(Object.entries({ ...BASE, ...LDAP, ...over }).filter(([, v]) => v !== ''));
    const err = await load(env).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('Bind-Passw0rd');
  });

  it('refuses a URL without a bind password', async () => {
    const { INFRASEC_MODOBOA_LDAP_BIND_PASSWORD: _, ...rest } = LDAP;
    await expect(load({ ...BASE, ...rest })).rejects.toThrow(/ldapBindPassword: required with ldapUrl \(or ldapBindPasswordFile\)/);
  });
});

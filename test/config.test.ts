import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configuredSystems, loadConfig, policyOf } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';

const noFile = join(tmpdir(), 'infrasec-no-such-config.yaml');
const adEnv = {
  INFRASEC_CONFIG: noFile,
  INFRASEC_AD_URL: 'ldaps://127.0.0.5:636',
  INFRASEC_AD_BIND_DN: 'CN=Administrator,CN=Users,DC=cod67,DC=test',
  INFRASEC_AD_BIND_PASSWORD: 'Bind-Secret-42',
  INFRASEC_AD_BASE_DN: 'DC=cod67,DC=test',
  INFRASEC_AD_CA_FILE: '/tmp/ca.pem',
  INFRASEC_AD_TLS_INSECURE: 'false',
};

describe('loadConfig', () => {
  it('configures Active Directory from the environment alone and leaves other systems off', async () => {
    const config = await loadConfig({ env: adEnv });
    expect(configuredSystems(config)).toEqual(['active-directory']);
    expect(config.systems['active-directory']).toMatchObject({ url: 'ldaps://127.0.0.5:636', caFile: '/tmp/ca.pem', tlsInsecure: false, managedOU: 'OU=infrasec' });
    expect(policyOf(config, 'active-directory').prune).toBe(false);
  });

  it('lets environment variables override the file field by field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infrasec-config-'));
    const file = join(dir, 'infrasec.yaml');
    await writeFile(file, [
      'stateDir: /var/lib/infrasec',
      'systems:',
      '  active-directory:',
      '    url: ldaps://dc1.example:636',
      '    bindDN: CN=svc,DC=example',
      '    bindPassword: from-file',
      '    baseDN: DC=example',
      '    policy: { prune: true, deletionThreshold: { count: 3, percent: 5 } }',
      '  asterisk:',
      '    host: 192.168.10.20',
      '    username: infrasec',
      '    secret: ami-secret',
    ].join('\n'));
    const config = await loadConfig({ file, env: { INFRASEC_AD_URL: 'ldaps://dc2.example:636', INFRASEC_STATE_DIR: '/srv/state', INFRASEC_AMI_PORT: '5039' } });
    expect(config.stateDir).toBe('/srv/state');
    expect(config.systems['active-directory']?.url).toBe('ldaps://dc2.example:636');
    expect(config.systems['active-directory']?.bindDN).toBe('CN=svc,DC=example');
    expect(policyOf(config, 'active-directory')).toMatchObject({ prune: true, deletionThreshold: { count: 3, percent: 5 } });
    expect(config.systems.asterisk).toMatchObject({ host: '192.168.10.20', port: 5039, files: { pjsip: 'pjsip_custom.conf' } });
    expect(configuredSystems(config)).toEqual(['active-directory', 'asterisk']);
  });

  it('applies INFRASEC_DRIFT_POLICY per system and per kind', async () => {
    const config = await loadConfig({ env: { ...adEnv, INFRASEC_DRIFT_POLICY: 'report,Group=ignore' } });
    expect(policyOf(config, 'active-directory').drift).toEqual({ '*': 'report', Group: 'ignore' });
  });

  it('rejects an unknown setting and a non-LDAP URL with the field named, without echoing the password', async () => {
    const err = await loadConfig({ env: { ...adEnv, INFRASEC_AD_URL: 'http://dc1' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('systems.active-directory.url');
    expect((err as Error).message).not.toContain('Bind-Secret-42');
  });

  it('requires a bind password from the environment or a file', async () => {
    const { INFRASEC_AD_BIND_PASSWORD: _, ...env } = adEnv;
    await expect(loadConfig({ env })).rejects.toThrow(/INFRASEC_AD_BIND_PASSWORD/);
  });

  it('reads the bind password from a file when asked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infrasec-config-'));
    await writeFile(join(dir, 'bind'), 'from-a-file\n');
    const { INFRASEC_AD_BIND_PASSWORD: _, ...env } = adEnv;
    const config = await loadConfig({ env: { ...env, INFRASEC_AD_BIND_PASSWORD_FILE: join(dir, 'bind') } });
    expect(config.systems['active-directory']?.bindPassword).toBe('from-a-file');
  });

  it('fails clearly when an explicitly named file is missing', async () => {
    await expect(loadConfig({ file: noFile, env: {} })).rejects.toThrow(/cannot read .*no such file/);
  });
});

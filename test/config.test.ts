import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configuredSystems, dependencyGraph, loadConfig, policyOf } from '../src/config.ts';
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

  it('takes dependsOn per system from INFRASEC_DEPENDS_ON, an empty list dropping the module\'s, and refuses unknown names', async () => {
    const modoboaEnv = { INFRASEC_MODOBOA_URL: 'https://mail.example', INFRASEC_MODOBOA_TOKEN: 't0ken' };
    expect(dependencyGraph(await loadConfig({ env: { ...adEnv, ...modoboaEnv } })).get('modoboa')).toEqual(['active-directory']);
    expect(dependencyGraph(await loadConfig({ env: { ...adEnv, ...modoboaEnv, INFRASEC_DEPENDS_ON: 'modoboa=' } })).get('modoboa')).toEqual([]);
    const both = await loadConfig({ env: { ...adEnv, ...modoboaEnv, INFRASEC_DEPENDS_ON: ' active-directory = ; modoboa=active-directory ' } });
    expect(both.systems.modoboa?.['dependsOn']).toEqual(['active-directory']);
    expect(both.systems['active-directory']?.['dependsOn']).toEqual([]);
    // A system this controller does not run stays unconfigured.
    expect(configuredSystems(await loadConfig({ env: { ...adEnv, INFRASEC_DEPENDS_ON: 'pfsense=active-directory' } }))).toEqual(['active-directory']);
    for (const [spec, message] of [['modoboa=activedirectory', 'unknown system "activedirectory"'], ['modoboa', 'needs SYSTEM=DEPENDENCY']] as const) {
      const err = await loadConfig({ env: { ...adEnv, ...modoboaEnv, INFRASEC_DEPENDS_ON: spec } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(`INFRASEC_DEPENDS_ON: `);
      expect((err as Error).message).toContain(message);
    }
    // A cycle made from the environment is refused like one in the file.
    const cycle = await loadConfig({ env: { ...adEnv, ...modoboaEnv, INFRASEC_DEPENDS_ON: 'active-directory=modoboa' } }).catch((e: unknown) => e);
    expect((cycle as Error).message).toContain('cycle');
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

describe('settings from the environment', () => {
  it.each(['enabled', 'y', '2', 'true ', ' true', 'TRUE!', 'oui'])('refuses INFRASEC_GIT_VERIFY_SIGNATURES=%j, naming the variable, the setting and the accepted spellings', async (value) => {
    const err = await loadConfig({ env: { ...adEnv, INFRASEC_GIT_URL: 'https://git.example/r.git', INFRASEC_GIT_VERIFY_SIGNATURES: value } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toContain('INFRASEC_GIT_VERIFY_SIGNATURES');
    expect(message).toContain('controller.git.verifySignatures');
    expect(message).toContain('true, yes, on, 1, false, no, off, 0');
    expect(message).toContain(JSON.stringify(value));
  });

  it.each([['true', true], ['yes', true], ['On', true], ['1', true], ['false', false], ['NO', false], ['off', false], ['0', false]])('reads INFRASEC_GIT_VERIFY_SIGNATURES=%s as %s', async (value, expected) => {
    const config = await loadConfig({ env: { ...adEnv, INFRASEC_GIT_URL: 'https://git.example/r.git', INFRASEC_GIT_VERIFY_SIGNATURES: value } });
    expect(config.controller.git?.verifySignatures).toBe(expected);
  });

  it('refuses every boolean, number and enum variable it does not understand, all at once', async () => {
    const err = await loadConfig({
      env: { ...adEnv, INFRASEC_AD_TLS_INSECURE: 'enabled', INFRASEC_AMI_HOST: '127.0.0.1', INFRASEC_AMI_USERNAME: 'u', INFRASEC_AMI_SECRET: 's', INFRASEC_AMI_PORT: '50x', INFRASEC_AMI_AUTH_TYPE: 'sha1', INFRASEC_LOG_LEVEL: 'verbose' },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toContain('INFRASEC_AD_TLS_INSECURE (systems.active-directory.tlsInsecure)');
    expect(message).toContain('INFRASEC_AMI_PORT (systems.asterisk.port): "50x" is not understood; accepted: a number');
    expect(message).toContain('INFRASEC_AMI_AUTH_TYPE (systems.asterisk.authType): "sha1" is not understood; accepted: one of plain, md5');
    expect(message).toContain('INFRASEC_LOG_LEVEL (logLevel): "verbose" is not understood; accepted: one of fatal, error, warn, info, debug, trace, silent');
    expect(message).not.toContain('Bind-Secret-42');
  });

  it('refuses a boolean written as a string in infrasec.yaml, with the accepted spellings', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infrasec-config-'));
    const file = join(dir, 'infrasec.yaml');
    await writeFile(file, 'controller:\n  git: { url: https://git.example/r.git, verifySignatures: "yes" }\n');
    const err = await loadConfig({ file, env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('controller.git.verifySignatures');
    expect((err as Error).message).toContain('accepted: true or false');
  });

  it('sets every reconciler setting from the environment, nested ones included', async () => {
    const config = await loadConfig({
      env: {
        ...adEnv, INFRASEC_AD_TIMEOUT_MS: '20000', INFRASEC_AD_CONCURRENCY: '2', INFRASEC_AD_PAGE_SIZE: '500', INFRASEC_AD_UPN_SUFFIX: 'cod67.fr',
        INFRASEC_AMI_HOST: '127.0.0.1', INFRASEC_AMI_USERNAME: 'u', INFRASEC_AMI_SECRET: 's', INFRASEC_AMI_AUTH_TYPE: 'md5', INFRASEC_AMI_TRANSPORT_WSS: '0.0.0.0-wss',
        INFRASEC_AMI_WEBRTC_OPTION: 'no', INFRASEC_AMI_RING_SECONDS: '30', INFRASEC_AMI_VOICEMAIL_FILE: 'vm.conf',
      },
    });
    expect(config.systems['active-directory']).toMatchObject({ timeoutMs: 20000, concurrency: 2, pageSize: 500, upnSuffix: 'cod67.fr' });
    expect(config.systems['asterisk']).toMatchObject({ authType: 'md5', transports: { wss: '0.0.0.0-wss' }, webrtcOption: false, ringSeconds: 30, files: { voicemail: 'vm.conf', pjsip: 'pjsip_custom.conf' } });
  });

  it('gives Active Directory one timeout default, the one its settings declare', async () => {
    const { AD_DEFAULTS } = await import('../src/reconcilers/active-directory/settings.ts');
    const config = await loadConfig({ env: adEnv });
    expect(config.systems['active-directory']?.['timeoutMs']).toBe(AD_DEFAULTS.timeoutMs);
  });
});

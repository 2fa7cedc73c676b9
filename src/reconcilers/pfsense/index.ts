// The pfSense system module: its settings, environment variables, secret files and how to build its reconciler.
import { readFile } from 'node:fs/promises';
import { credentialFromConfig, describeSetting, type SystemModule } from '../../engine/module.ts';
import { DEFAULT_INSTANCE } from '../../engine/instance.ts';
import { ConfigError } from '../../errors.ts';
import { pfSenseSettingsSchema } from './settings.ts';

export const pfsense: SystemModule<typeof pfSenseSettingsSchema> = {
  name: 'pfsense',
  settings: pfSenseSettingsSchema,
  env: {
    url: 'INFRASEC_PFSENSE_URL',
    apiKey: 'INFRASEC_PFSENSE_API_KEY',
    apiKeyFile: 'INFRASEC_PFSENSE_API_KEY_FILE',
    username: 'INFRASEC_PFSENSE_USERNAME',
    password: 'INFRASEC_PFSENSE_PASSWORD',
    passwordFile: 'INFRASEC_PFSENSE_PASSWORD_FILE',
    caFile: 'INFRASEC_PFSENSE_CA_FILE',
    timeoutMs: 'INFRASEC_PFSENSE_TIMEOUT_MS',
    instance: 'INFRASEC_PFSENSE_INSTANCE',
    lockRetries: 'INFRASEC_PFSENSE_LOCK_RETRIES',
    lockMaxDelayMs: 'INFRASEC_PFSENSE_LOCK_MAX_DELAY_MS',
    'interfaces.wan': 'INFRASEC_PFSENSE_IF_WAN',
    'interfaces.wan2': 'INFRASEC_PFSENSE_IF_WAN2',
    'interfaces.lan': 'INFRASEC_PFSENSE_IF_LAN',
    'interfaces.dmz': 'INFRASEC_PFSENSE_IF_DMZ',
    'interfaces.openvpn': 'INFRASEC_PFSENSE_IF_OPENVPN',
    certificateKey: 'INFRASEC_PFSENSE_CERTIFICATE_KEY',
  },
  secrets: [
    { value: 'apiKey', file: 'apiKeyFile', required: false },
    { value: 'password', file: 'passwordFile', required: false },
  ],
  // A person's VPN certificate is issued for an AD account: the account must exist first.
  dependsOn: ['active-directory'],
  async build(s, deps) {
    const { PfSenseReconciler } = await import('./reconciler.ts');
    const { apiKey, apiKeyFile: _k, password, passwordFile: _p, username, caFile, ...rest } = s;
    let auth;
    if (apiKey) auth = { kind: 'key' as const, key: credentialFromConfig(apiKey, 'pfsense-api-key') };
    else if (username && password) auth = { kind: 'basic' as const, username, password: credentialFromConfig(password, 'pfsense-password') };
    else throw new ConfigError(`pfsense needs ${describeSetting(pfsense, 'apiKey')} (or apiKeyFile), or username and password`);
    let ca: string | undefined;
    if (caFile) {
      try {
        ca = await readFile(caFile, 'utf8');
      } catch (err) {
        throw new ConfigError(`cannot read ${describeSetting(pfsense, 'caFile')} ${caFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { caFile }, { cause: err });
      }
    }
    return new PfSenseReconciler({ ...rest, instance: rest.instance ?? deps.instance ?? DEFAULT_INSTANCE, auth, ca }, deps);
  },
};

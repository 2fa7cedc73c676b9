// The Active Directory system module: its settings, environment variables, secret file and how to build its reconciler.
import { credentialFromConfig, type SystemModule } from '../../engine/module.ts';
import { adSettingsSchema } from './settings.ts';

export const activeDirectory: SystemModule<typeof adSettingsSchema> = {
  name: 'active-directory',
  settings: adSettingsSchema,
  env: {
    url: 'INFRASEC_AD_URL',
    bindDN: 'INFRASEC_AD_BIND_DN',
    bindPassword: 'INFRASEC_AD_BIND_PASSWORD',
    bindPasswordFile: 'INFRASEC_AD_BIND_PASSWORD_FILE',
    baseDN: 'INFRASEC_AD_BASE_DN',
    managedOU: 'INFRASEC_AD_MANAGED_OU',
    caFile: 'INFRASEC_AD_CA_FILE',
    tlsServerName: 'INFRASEC_AD_TLS_SERVER_NAME',
    tlsInsecure: 'INFRASEC_AD_TLS_INSECURE',
    upnSuffix: 'INFRASEC_AD_UPN_SUFFIX',
    timeoutMs: 'INFRASEC_AD_TIMEOUT_MS',
    concurrency: 'INFRASEC_AD_CONCURRENCY',
    pageSize: 'INFRASEC_AD_PAGE_SIZE',
    instance: 'INFRASEC_AD_INSTANCE',
  },
  secrets: [{ value: 'bindPassword', file: 'bindPasswordFile' }],
  async build(s, deps) {
    const { ActiveDirectoryReconciler } = await import('./reconciler.ts');
    const { bindPassword, bindPasswordFile: _, ...rest } = s;
    return new ActiveDirectoryReconciler({ ...rest, instance: rest.instance ?? deps.instance, bindPassword: credentialFromConfig(bindPassword ?? '', 'ad-bind') }, deps);
  },
};

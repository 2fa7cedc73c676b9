// The Modoboa system module: its settings, environment variables, token file and how to build its reconciler.
import { credentialFromConfig, type SystemModule } from '../../engine/module.ts';
import { modoboaSettingsSchema } from './settings.ts';

export const modoboa: SystemModule<typeof modoboaSettingsSchema> = {
  name: 'modoboa',
  settings: modoboaSettingsSchema,
  env: {
    url: 'INFRASEC_MODOBOA_URL',
    token: 'INFRASEC_MODOBOA_TOKEN',
    tokenFile: 'INFRASEC_MODOBOA_TOKEN_FILE',
    caFile: 'INFRASEC_MODOBOA_CA_FILE',
    timeoutMs: 'INFRASEC_MODOBOA_TIMEOUT_MS',
    pageSize: 'INFRASEC_MODOBOA_PAGE_SIZE',
    maxRetries: 'INFRASEC_MODOBOA_MAX_RETRIES',
    maxRetryAfterMs: 'INFRASEC_MODOBOA_MAX_RETRY_AFTER_MS',
    instance: 'INFRASEC_MODOBOA_INSTANCE',
    mailboxRemoval: 'INFRASEC_MODOBOA_MAILBOX_REMOVAL',
    ldapUrl: 'INFRASEC_MODOBOA_LDAP_URL',
    ldapBindDN: 'INFRASEC_MODOBOA_LDAP_BIND_DN',
    ldapBindPassword: 'INFRASEC_MODOBOA_LDAP_BIND_PASSWORD',
    ldapBindPasswordFile: 'INFRASEC_MODOBOA_LDAP_BIND_PASSWORD_FILE',
    ldapSearchBase: 'INFRASEC_MODOBOA_LDAP_SEARCH_BASE',
    ldapSearchFilter: 'INFRASEC_MODOBOA_LDAP_SEARCH_FILTER',
  },
  secrets: [
    { value: 'token', file: 'tokenFile' },
    { value: 'ldapBindPassword', file: 'ldapBindPasswordFile', required: false },
  ],
  // Mailboxes are made for accounts the Active Directory pass has made first.
  dependsOn: ['active-directory'],
  async build(s, deps) {
    const { ModoboaReconciler } = await import('./reconciler.ts');
    const { token, tokenFile: _, ldapBindPassword, ldapBindPasswordFile: __, ...rest } = s;
    return new ModoboaReconciler(
      {
        ...rest,
        token: credentialFromConfig(token ?? '', 'modoboa-token'),
        ldapBindPassword: ldapBindPassword === undefined ? undefined : credentialFromConfig(ldapBindPassword, 'modoboa-ldap-bind'),
      },
      deps,
    );
  },
};

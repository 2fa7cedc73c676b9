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
  },
  secrets: [{ value: 'token', file: 'tokenFile' }],
  // Mailboxes are made for accounts the Active Directory pass has made first.
  dependsOn: ['active-directory'],
  async build(s, deps) {
    const { ModoboaReconciler } = await import('./reconciler.ts');
    const { token, tokenFile: _, ...rest } = s;
    return new ModoboaReconciler({ ...rest, token: credentialFromConfig(token ?? '', 'modoboa-token') }, deps);
  },
};

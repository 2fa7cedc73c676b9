// The Asterisk system module: its settings, environment variables, secret file and how to build its reconciler.
import { credentialFromConfig, type SystemModule } from '../../engine/module.ts';
import { asteriskSettingsSchema } from './settings.ts';

export const asterisk: SystemModule<typeof asteriskSettingsSchema> = {
  name: 'asterisk',
  settings: asteriskSettingsSchema,
  env: {
    host: 'INFRASEC_AMI_HOST',
    port: 'INFRASEC_AMI_PORT',
    username: 'INFRASEC_AMI_USERNAME',
    secret: 'INFRASEC_AMI_SECRET',
    secretFile: 'INFRASEC_AMI_SECRET_FILE',
    timeoutMs: 'INFRASEC_AMI_TIMEOUT_MS',
    authType: 'INFRASEC_AMI_AUTH_TYPE',
    'files.pjsip': 'INFRASEC_AMI_PJSIP_FILE',
    'files.extensions': 'INFRASEC_AMI_EXTENSIONS_FILE',
    'files.confbridge': 'INFRASEC_AMI_CONFBRIDGE_FILE',
    'files.voicemail': 'INFRASEC_AMI_VOICEMAIL_FILE',
    context: 'INFRASEC_AMI_CONTEXT',
    includeFrom: 'INFRASEC_AMI_INCLUDE_FROM',
    voicemailConf: 'INFRASEC_AMI_VOICEMAIL_CONF',
    endpointContext: 'INFRASEC_AMI_ENDPOINT_CONTEXT',
    messageContext: 'INFRASEC_AMI_MESSAGE_CONTEXT',
    voicemailContext: 'INFRASEC_AMI_VOICEMAIL_CONTEXT',
    'transports.udp': 'INFRASEC_AMI_TRANSPORT_UDP',
    'transports.tcp': 'INFRASEC_AMI_TRANSPORT_TCP',
    'transports.tls': 'INFRASEC_AMI_TRANSPORT_TLS',
    'transports.wss': 'INFRASEC_AMI_TRANSPORT_WSS',
    ringSeconds: 'INFRASEC_AMI_RING_SECONDS',
    webrtcOption: 'INFRASEC_AMI_WEBRTC_OPTION',
    maxHeaderLines: 'INFRASEC_AMI_MAX_HEADER_LINES',
    instance: 'INFRASEC_AMI_INSTANCE',
  },
  secrets: [{ value: 'secret', file: 'secretFile' }],
  async build(s, deps) {
    const { AsteriskReconciler } = await import('./reconciler.ts');
    const { secret, secretFile: _, ...rest } = s;
    return new AsteriskReconciler({ ...rest, instance: rest.instance ?? deps.instance, secret: credentialFromConfig(secret ?? '', 'ami') }, deps);
  },
};

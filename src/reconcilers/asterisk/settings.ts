// The Asterisk reconciler's settings: the infrasec.yaml schema with its defaults (the one place they live), and the layout derived from them.
import { z } from 'zod';
import type { Secret } from '../../desired/secret.ts';
import { ConfigError } from '../../errors.ts';
import { DEFAULT_INSTANCE, instanceNameSchema, isInstanceName } from '../../engine/instance.ts';
import { FILE_ROLES, type FileRole } from './model.ts';
import { ownershipTemplate } from './ownership.ts';

export type SipTransport = 'udp' | 'tcp' | 'tls' | 'wss';

export interface AsteriskSettings {
  readonly host: string;
  /** Default 5038. */
  readonly port?: number;
  readonly username: string;
  readonly secret: Secret;
  /** Connect, login and per-action timeout. Default 10 s. */
  readonly timeoutMs?: number;
  /** `md5` logs in through Challenge; default `plain` (AMI belongs on loopback). */
  readonly authType?: 'plain' | 'md5';
  /** The files infrasec writes, relative to the Asterisk config dir; the admin #includes them from the roots. */
  readonly files?: Partial<Record<FileRole, string>>;
  /** The dialplan context infrasec owns outright in the extensions file (default infrasec-internal). */
  readonly context?: string;
  /**
   * The admin's context through which the PBX's internal calls reach `context` (default from-internal-custom, which
   * FreePBX and Issabel include in from-internal): infrasec adds one `include => <context>` line to it and leaves the
   * rest of it alone. '' adds none (the admin includes `context` where it should be reached).
   */
  readonly includeFrom?: string;
  /**
   * The file app_voicemail loads (default voicemail.conf): read, never written, to check that it #includes
   * files.voicemail and to see the GUI's own mailboxes.
   */
  readonly voicemailConf?: string;
  /** `context=` of the endpoints: where their calls start (default from-internal). */
  readonly endpointContext?: string;
  /** The context SIP MESSAGEs from messaging-enabled endpoints enter (default textmessage, as in the seed). */
  readonly messageContext?: string;
  /**
   * The voicemail context the mailboxes go to (default `default`, where FreePBX/Issabel mailboxes and their *97/*98
   * feature codes look); infrasec owns a section of that name in files.voicemail. Mailboxes are `<number>@<context>`.
   */
  readonly voicemailContext?: string;
  /** Transport section per protocol (FreePBX names them `0.0.0.0-udp`...); unset means no `transport=` line. */
  readonly transports?: Partial<Record<SipTransport, string>>;
  /** Seconds an extension rings before voicemail. Default 25. */
  readonly ringSeconds?: number;
  /** WebRTC endpoints get `webrtc=yes` (Asterisk 16+, default) or the explicit DTLS/ICE/AVPF/rtcp_mux set. */
  readonly webrtcOption?: boolean;
  /** Header lines per UpdateConfig (Asterisk refuses more than 128). Lower only to test batching. */
  readonly maxHeaderLines?: number;
  /**
   * This controller's name in the ownership template (`[200](infrasec-managed-NAME)`): instances sharing a PBX never
   * touch each other's sections. Default `default` (the controller-wide `instance` when built from infrasec.yaml).
   */
  readonly instance?: string;
}

/** Everything plan and observe need to know about where things live. Plain data. */
export interface AsteriskLayout {
  readonly instance: string;
  /** The ownership template of this instance (ownership.ts). */
  readonly template: string;
  readonly files: Readonly<Record<FileRole, string>>;
  readonly context: string;
  /** '' when infrasec adds no include line. */
  readonly includeFrom: string;
  readonly voicemailConf: string;
  readonly endpointContext: string;
  readonly messageContext: string;
  readonly voicemailContext: string;
  readonly transports: Readonly<Partial<Record<SipTransport, string>>>;
  readonly ringSeconds: number;
  readonly webrtcOption: boolean;
}

export interface ResolvedAsteriskSettings {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly secret: Secret;
  readonly timeoutMs: number;
  readonly authType: 'plain' | 'md5';
  readonly maxHeaderLines: number;
  readonly layout: AsteriskLayout;
}

export const ASTERISK_DEFAULTS = {
  port: 5038,
  timeoutMs: 10_000,
  files: { pjsip: 'pjsip_custom.conf', confbridge: 'confbridge_custom.conf', voicemail: 'voicemail_custom.conf', extensions: 'extensions_custom.conf' },
  context: 'infrasec-internal',
  includeFrom: 'from-internal-custom',
  voicemailConf: 'voicemail.conf',
  endpointContext: 'from-internal',
  messageContext: 'textmessage',
  voicemailContext: 'default',
  ringSeconds: 25,
  webrtcOption: true,
  authType: 'plain',
  maxHeaderLines: 128,
} as const satisfies Record<string, unknown>;

const contextName = z.string().regex(/^[A-Za-z0-9_-]+$/);

/** `systems.asterisk` in infrasec.yaml. The AMI secret is a plain string here; build() wraps it. */
export const asteriskSettingsSchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(ASTERISK_DEFAULTS.port),
    username: z.string().min(1),
    secret: z.string().min(1).optional(),
    secretFile: z.string().optional(),
    timeoutMs: z.number().int().positive().default(ASTERISK_DEFAULTS.timeoutMs),
    authType: z.enum(['plain', 'md5']).default(ASTERISK_DEFAULTS.authType),
    files: z
      .object({
        pjsip: z.string().default(ASTERISK_DEFAULTS.files.pjsip),
        extensions: z.string().default(ASTERISK_DEFAULTS.files.extensions),
        confbridge: z.string().default(ASTERISK_DEFAULTS.files.confbridge),
        voicemail: z.string().default(ASTERISK_DEFAULTS.files.voicemail),
      })
      .strict()
      .default({ ...ASTERISK_DEFAULTS.files }),
    context: contextName.default(ASTERISK_DEFAULTS.context),
    includeFrom: z.union([contextName, z.literal('')]).default(ASTERISK_DEFAULTS.includeFrom),
    voicemailConf: z.string().default(ASTERISK_DEFAULTS.voicemailConf),
    endpointContext: contextName.default(ASTERISK_DEFAULTS.endpointContext),
    messageContext: contextName.default(ASTERISK_DEFAULTS.messageContext),
    voicemailContext: contextName.default(ASTERISK_DEFAULTS.voicemailContext),
    /** Transport section per protocol (FreePBX: 0.0.0.0-udp, 0.0.0.0-wss...); no transport= line when unset. */
    transports: z.object({ udp: z.string(), tcp: z.string(), tls: z.string(), wss: z.string() }).partial().strict().optional(),
    ringSeconds: z.number().int().min(1).max(600).default(ASTERISK_DEFAULTS.ringSeconds),
    webrtcOption: z.boolean().default(ASTERISK_DEFAULTS.webrtcOption),
    maxHeaderLines: z.number().int().min(16).max(128).default(ASTERISK_DEFAULTS.maxHeaderLines),
    /** Unset: the controller-wide `instance`. */
    instance: instanceNameSchema.optional(),
  })
  .strict();

export type AsteriskConfigSection = z.output<typeof asteriskSettingsSchema>;

const FILE_NAME = /^[A-Za-z0-9_.-]+\.conf$/;
const CONTEXT_NAME = /^[A-Za-z0-9_-]+$/;
const TRANSPORT_NAME = /^[A-Za-z0-9_.:-]+$/;

export function resolveAsteriskSettings(s: AsteriskSettings): ResolvedAsteriskSettings {
  const files = { ...ASTERISK_DEFAULTS.files, ...(s.files ?? {}) };
  for (const role of FILE_ROLES) {
    // Relative names only: UpdateConfig rewrites whatever it is pointed at.
    if (!FILE_NAME.test(files[role]) || files[role].startsWith('.')) throw new ConfigError(`asterisk files.${role} "${files[role]}" must be a plain file name ending in .conf`, { role });
  }
  const names = new Set(FILE_ROLES.map((r) => files[r]));
  if (names.size !== FILE_ROLES.length) throw new ConfigError('asterisk files must name four different files');
  const instance = s.instance ?? DEFAULT_INSTANCE;
  if (!isInstanceName(instance)) throw new ConfigError(`asterisk instance "${instance}" may hold only letters, digits, _ . - (1 to 40)`, { field: 'instance' });
  const layout: AsteriskLayout = {
    instance,
    template: ownershipTemplate(instance),
    files,
    context: s.context ?? ASTERISK_DEFAULTS.context,
    includeFrom: s.includeFrom ?? ASTERISK_DEFAULTS.includeFrom,
    voicemailConf: s.voicemailConf ?? ASTERISK_DEFAULTS.voicemailConf,
    endpointContext: s.endpointContext ?? ASTERISK_DEFAULTS.endpointContext,
    messageContext: s.messageContext ?? ASTERISK_DEFAULTS.messageContext,
    voicemailContext: s.voicemailContext ?? ASTERISK_DEFAULTS.voicemailContext,
    transports: { ...(s.transports ?? {}) },
    ringSeconds: s.ringSeconds ?? ASTERISK_DEFAULTS.ringSeconds,
    webrtcOption: s.webrtcOption ?? ASTERISK_DEFAULTS.webrtcOption,
  };
  for (const field of ['context', 'endpointContext', 'messageContext', 'voicemailContext'] as const) {
    if (!CONTEXT_NAME.test(layout[field]) || /^(general|globals|zonemessages)$/i.test(layout[field])) {
      throw new ConfigError(`asterisk ${field} "${layout[field]}" must be [A-Za-z0-9_-]+ and not a reserved category`, { field });
    }
  }
  if (layout.context.toLowerCase() === layout.messageContext.toLowerCase()) throw new ConfigError('asterisk context and messageContext must differ');
  if (layout.includeFrom !== '') {
    if (!CONTEXT_NAME.test(layout.includeFrom) || /^(general|globals)$/i.test(layout.includeFrom)) throw new ConfigError(`asterisk includeFrom "${layout.includeFrom}" must be [A-Za-z0-9_-]+ and not a reserved category`, { field: 'includeFrom' });
    for (const other of [layout.context, layout.messageContext]) {
      if (layout.includeFrom.toLowerCase() === other.toLowerCase()) throw new ConfigError(`asterisk includeFrom must name the admin's context, not one infrasec owns (${other})`, { field: 'includeFrom' });
    }
  }
  // Read only; it may be files.voicemail itself on a PBX without a GUI (then UpdateConfig rewrites it and its #includes).
  if (!FILE_NAME.test(layout.voicemailConf) || layout.voicemailConf.startsWith('.')) throw new ConfigError(`asterisk voicemailConf "${layout.voicemailConf}" must be a plain file name ending in .conf`, { field: 'voicemailConf' });
  for (const [proto, name] of Object.entries(layout.transports)) {
    if (name !== undefined && !TRANSPORT_NAME.test(name)) throw new ConfigError(`asterisk transports.${proto} "${name}" is not a valid section name`, { proto });
  }
  if (!Number.isInteger(layout.ringSeconds) || layout.ringSeconds < 1 || layout.ringSeconds > 600) throw new ConfigError('asterisk ringSeconds must be 1-600');
  const maxHeaderLines = s.maxHeaderLines ?? ASTERISK_DEFAULTS.maxHeaderLines;
  if (!Number.isInteger(maxHeaderLines) || maxHeaderLines < 16 || maxHeaderLines > 128) throw new ConfigError('asterisk maxHeaderLines must be 16-128');
  if (!s.host) throw new ConfigError('asterisk host is required');
  return {
    host: s.host,
    port: s.port ?? ASTERISK_DEFAULTS.port,
    username: s.username,
    secret: s.secret,
    timeoutMs: s.timeoutMs ?? ASTERISK_DEFAULTS.timeoutMs,
    authType: s.authType ?? ASTERISK_DEFAULTS.authType,
    maxHeaderLines,
    layout,
  };
}

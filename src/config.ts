// The controller's own configuration: infrasec.yaml merged with INFRASEC_* environment variables, validated with zod.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { DEFAULT_POLICY, SYSTEMS, type Policy, type SystemName } from './engine/types.ts';

const driftMode = z.enum(['correct', 'report', 'ignore']);

const policySchema = z
  .object({
    prune: z.boolean().default(DEFAULT_POLICY.prune),
    userRemoval: z.enum(['disable', 'delete']).default(DEFAULT_POLICY.userRemoval),
    deletionThreshold: z
      .object({ count: z.number().int().min(0).default(DEFAULT_POLICY.deletionThreshold.count), percent: z.number().min(0).max(100).default(DEFAULT_POLICY.deletionThreshold.percent) })
      .strict()
      .default({ ...DEFAULT_POLICY.deletionThreshold }),
    protected: z.array(z.string()).default([]),
    adopt: z.array(z.string()).default([]),
    suspended: z.boolean().default(false),
    additiveOnly: z.boolean().default(false),
    drift: z.record(z.string(), driftMode).default({ '*': 'correct' }),
  })
  .strict();

const activeDirectorySchema = z
  .object({
    url: z.string().regex(/^ldaps?:\/\/[^\s/]+(:\d+)?\/?$/, 'must be ldaps://host[:port] (or ldap:// for tests)'),
    bindDN: z.string().min(1),
    bindPassword: z.string().min(1).optional(),
    bindPasswordFile: z.string().optional(),
    baseDN: z.string().min(1),
    managedOU: z.string().default('OU=infrasec'),
    caFile: z.string().optional(),
    tlsServerName: z.string().optional(),
    tlsInsecure: z.boolean().default(false),
    upnSuffix: z.string().optional(),
    timeoutMs: z.number().int().positive().default(10_000),
    policy: policySchema.default(policySchema.parse({})),
  })
  .strict();

const asteriskSchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(5038),
    username: z.string().min(1),
    secret: z.string().min(1).optional(),
    secretFile: z.string().optional(),
    timeoutMs: z.number().int().positive().default(10_000),
    files: z
      .object({
        pjsip: z.string().default('pjsip_custom.conf'),
        extensions: z.string().default('extensions_custom.conf'),
        confbridge: z.string().default('confbridge_custom.conf'),
        voicemail: z.string().default('voicemail.conf'),
      })
      .strict()
      .default({ pjsip: 'pjsip_custom.conf', extensions: 'extensions_custom.conf', confbridge: 'confbridge_custom.conf', voicemail: 'voicemail.conf' }),
    context: z.string().regex(/^[A-Za-z0-9_-]+$/).default('from-internal-custom'),
    /** Where endpoint calls start (context=), the SIP MESSAGE context and the owned voicemail context; defaults in the reconciler's settings. */
    endpointContext: z.string().regex(/^[A-Za-z0-9_-]+$/).optional(),
    messageContext: z.string().regex(/^[A-Za-z0-9_-]+$/).optional(),
    voicemailContext: z.string().regex(/^[A-Za-z0-9_-]+$/).optional(),
    /** Transport section per protocol (FreePBX: 0.0.0.0-udp, 0.0.0.0-wss...); no transport= line when unset. */
    transports: z.object({ udp: z.string(), tcp: z.string(), tls: z.string(), wss: z.string() }).partial().strict().optional(),
    authType: z.enum(['plain', 'md5']).optional(),
    policy: policySchema.default(policySchema.parse({})),
  })
  .strict();

const controllerSchema = z
  .object({
    git: z
      .object({
        url: z.string().min(1),
        /** Branch (`main`), tag (`refs/tags/v1` or `tags/v1`) or a full 40-hex commit. */
        ref: z.string().default('main'),
        path: z.string().default('.'),
        /** HTTPS token; prefer tokenFile or INFRASEC_GIT_TOKEN over writing it here. */
        token: z.string().optional(),
        tokenFile: z.string().optional(),
        /** Basic-auth user paired with the token: `oauth2` (GitLab), `x-access-token` (GitHub). */
        tokenUsername: z.string().default('oauth2'),
        sshKeyFile: z.string().optional(),
        /** known_hosts for SSH; without it the first host key seen is pinned (accept-new). */
        knownHostsFile: z.string().optional(),
        verifySignatures: z.boolean().default(false),
        /** SSH signatures: git's gpg.ssh.allowedSignersFile format. */
        allowedSignersFile: z.string().optional(),
        /** OpenPGP signatures: armored public keys of the allowed signers. */
        trustedKeysFile: z.string().optional(),
        timeoutSeconds: z.number().positive().default(120),
      })
      .strict()
      .optional(),
    directory: z.string().optional(),
    pollIntervalSeconds: z.number().positive().default(60),
    listen: z.string().default('127.0.0.1:9400'),
    bearerTokenFile: z.string().optional(),
    webhookSecret: z.string().optional(),
    webhookSecretFile: z.string().optional(),
    notifyUrl: z.string().url().optional(),
    driftIntervalSeconds: z.number().positive().default(300),
    /** Ceiling of one pass (observe to verify) per system; a hung system is cut off, the others carry on. */
    passTimeoutSeconds: z.number().positive().default(600),
    /** Retry delays after a failed pass or fetch: capped exponential with jitter. */
    retry: z
      .object({ initialSeconds: z.number().positive().default(2), maxSeconds: z.number().positive().default(300) })
      .strict()
      .default({ initialSeconds: 2, maxSeconds: 300 }),
  })
  .strict();

export const configSchema = z
  .object({
    stateDir: z.string().default('.infrasec-state'),
    secrets: z.object({ ageIdentityFiles: z.array(z.string()).default([]) }).strict().default({ ageIdentityFiles: [] }),
    systems: z
      .object({
        'active-directory': activeDirectorySchema.optional(),
        asterisk: asteriskSchema.optional(),
      })
      .strict()
      .default({}),
    controller: controllerSchema.default(controllerSchema.parse({})),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ActiveDirectoryConfig = z.infer<typeof activeDirectorySchema>;
export type AsteriskConfig = z.infer<typeof asteriskSchema>;

type Env = Readonly<Record<string, string | undefined>>;

const bool = (v: string | undefined) => (v === undefined ? undefined : /^(1|true|yes|on)$/i.test(v));
const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));

function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
}

/** Raw settings from the environment, shaped like infrasec.yaml, so both merge field by field (environment wins). */
export function configFromEnv(env: Env): Record<string, unknown> {
  const ad = defined({
    url: env['INFRASEC_AD_URL'],
    bindDN: env['INFRASEC_AD_BIND_DN'],
    bindPassword: env['INFRASEC_AD_BIND_PASSWORD'],
    bindPasswordFile: env['INFRASEC_AD_BIND_PASSWORD_FILE'],
    baseDN: env['INFRASEC_AD_BASE_DN'],
    managedOU: env['INFRASEC_AD_MANAGED_OU'],
    caFile: env['INFRASEC_AD_CA_FILE'],
    tlsServerName: env['INFRASEC_AD_TLS_SERVER_NAME'],
    tlsInsecure: bool(env['INFRASEC_AD_TLS_INSECURE']),
  });
  const ami = defined({
    host: env['INFRASEC_AMI_HOST'],
    port: num(env['INFRASEC_AMI_PORT']),
    username: env['INFRASEC_AMI_USERNAME'],
    secret: env['INFRASEC_AMI_SECRET'],
    secretFile: env['INFRASEC_AMI_SECRET_FILE'],
  });
  const files = defined({
    pjsip: env['INFRASEC_AMI_PJSIP_FILE'],
    extensions: env['INFRASEC_AMI_EXTENSIONS_FILE'],
    confbridge: env['INFRASEC_AMI_CONFBRIDGE_FILE'],
    voicemail: env['INFRASEC_AMI_VOICEMAIL_FILE'],
  });
  if (Object.keys(files).length > 0) (ami as Record<string, unknown>)['files'] = files;
  const git = defined({
    url: env['INFRASEC_GIT_URL'],
    ref: env['INFRASEC_GIT_REF'],
    path: env['INFRASEC_GIT_PATH'],
    token: env['INFRASEC_GIT_TOKEN'],
    tokenFile: env['INFRASEC_GIT_TOKEN_FILE'],
    tokenUsername: env['INFRASEC_GIT_TOKEN_USERNAME'],
    sshKeyFile: env['INFRASEC_GIT_SSH_KEY_FILE'],
    knownHostsFile: env['INFRASEC_GIT_KNOWN_HOSTS_FILE'],
    verifySignatures: bool(env['INFRASEC_GIT_VERIFY_SIGNATURES']),
    allowedSignersFile: env['INFRASEC_GIT_ALLOWED_SIGNERS_FILE'],
    trustedKeysFile: env['INFRASEC_GIT_TRUSTED_KEYS_FILE'],
  });
  const controller = defined({
    pollIntervalSeconds: num(env['INFRASEC_POLL_INTERVAL']),
    driftIntervalSeconds: num(env['INFRASEC_DRIFT_INTERVAL']),
    passTimeoutSeconds: num(env['INFRASEC_PASS_TIMEOUT']),
    listen: env['INFRASEC_LISTEN'],
    webhookSecret: env['INFRASEC_WEBHOOK_SECRET'],
    webhookSecretFile: env['INFRASEC_WEBHOOK_SECRET_FILE'],
    bearerTokenFile: env['INFRASEC_BEARER_TOKEN_FILE'],
    notifyUrl: env['INFRASEC_NOTIFY_URL'],
    directory: env['INFRASEC_DIRECTORY'],
  });
  if (Object.keys(git).length > 0) (controller as Record<string, unknown>)['git'] = git;
  const out: Record<string, unknown> = defined({ stateDir: env['INFRASEC_STATE_DIR'], logLevel: env['INFRASEC_LOG_LEVEL'] });
  if (env['INFRASEC_AGE_IDENTITY_FILE']) out['secrets'] = { ageIdentityFiles: env['INFRASEC_AGE_IDENTITY_FILE'].split(':') };
  const systems: Record<string, unknown> = {};
  if (Object.keys(ad).length > 0) systems['active-directory'] = ad;
  if (Object.keys(ami).length > 0) systems['asterisk'] = ami;
  if (Object.keys(systems).length > 0) out['systems'] = systems;
  if (Object.keys(controller).length > 0) out['controller'] = controller;
  const drift = env['INFRASEC_DRIFT_POLICY'];
  if (drift) out['driftPolicy'] = drift;
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

/** INFRASEC_DRIFT_POLICY: `correct`, or per system/kind `asterisk=report,User=ignore`. */
function applyDriftPolicy(raw: Record<string, unknown>, spec: string): void {
  const systems = (raw['systems'] ?? {}) as Record<string, Record<string, unknown>>;
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [lhs, rhs] = part.includes('=') ? (part.split('=') as [string, string]) : ['*', part];
    for (const [name, sys] of Object.entries(systems)) {
      const target = (SYSTEMS as readonly string[]).includes(lhs) ? (lhs === name ? '*' : undefined) : lhs;
      if (!target) continue;
      const policy = (sys['policy'] ?? {}) as Record<string, unknown>;
      policy['drift'] = { ...((policy['drift'] as object) ?? {}), [target]: rhs };
      sys['policy'] = policy;
    }
  }
}

function describeZodIssues(error: z.ZodError, source: string): string {
  return error.issues.map((i) => `${source}: ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
}

/** Loads infrasec.yaml (when present) and the environment. Secrets given as files are read here; their values never reach messages. */
export async function loadConfig(opts: { file?: string; env?: Env } = {}): Promise<Config> {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env['INFRASEC_CONFIG'] ?? 'infrasec.yaml';
  let fromFile: unknown = {};
  try {
    fromFile = parseYaml(await readFile(file, 'utf8'), { uniqueKeys: true }) ?? {};
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' || opts.file) throw new ConfigError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message.split('\n')[0]}`, { file }, { cause: err });
  }
  const raw = deepMerge(fromFile, configFromEnv(env)) as Record<string, unknown>;
  const drift = raw['driftPolicy'];
  delete raw['driftPolicy'];
  if (typeof drift === 'string') applyDriftPolicy(raw, drift);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid configuration:\n${describeZodIssues(parsed.error, file)}`, { file });
  const config = parsed.data;
  const ad = config.systems['active-directory'];
  if (ad && !ad.bindPassword) {
    if (!ad.bindPasswordFile) throw new ConfigError('active-directory: set INFRASEC_AD_BIND_PASSWORD or systems.active-directory.bindPasswordFile');
    ad.bindPassword = (await readFile(ad.bindPasswordFile, 'utf8')).trim();
  }
  const ami = config.systems.asterisk;
  if (ami && !ami.secret) {
    if (!ami.secretFile) throw new ConfigError('asterisk: set INFRASEC_AMI_SECRET or systems.asterisk.secretFile');
    ami.secret = (await readFile(ami.secretFile, 'utf8')).trim();
  }
  return config;
}

export function policyOf(config: Config, system: SystemName): Policy {
  const sys = config.systems[system as keyof Config['systems']] as { policy?: Policy } | undefined;
  return sys?.policy ?? DEFAULT_POLICY;
}

/** Systems with connection settings; the others are off and reported as skipped. */
export function configuredSystems(config: Config): SystemName[] {
  return SYSTEMS.filter((s) => config.systems[s as keyof Config['systems']] !== undefined);
}

// The controller's own configuration: infrasec.yaml merged with INFRASEC_* environment variables, validated with zod.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { SystemModule } from './engine/module.ts';
import { DEFAULT_INSTANCE, instanceNameSchema } from './engine/instance.ts';
import { DEFAULT_POLICY, type Policy, type SystemName } from './engine/types.ts';
import { settingsFromEnv } from './environment.ts';
import { DEFAULT_TOTAL_LIMITS } from './desired/limits.ts';
import { ConfigError } from './errors.ts';
import { SYSTEM_MODULES } from './reconcilers/registry.ts';
import { findCycle, restrictGraph, type DependencyGraph } from './engine/dependencies.ts';
import { WEBHOOK_FORMATS } from './notify/formats.ts';

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
    resetPasswords: z.array(z.string().regex(/^(\*|User\/.+)$/, 'User/NAME or *')).default([]),
    /** Apply a plan that changes every generated secret of the system at once (refused by default: a different generator key does that). */
    rotateGeneratedSecrets: z.boolean().default(false),
    suspended: z.boolean().default(false),
    additiveOnly: z.boolean().default(false),
    drift: z.record(z.string(), driftMode).default({ '*': 'correct' }),
  })
  .strict();

/** An e-mail address as a header takes it: no spaces, angle brackets, commas or line breaks. */
const emailAddress = z.string().regex(/^[^\s@<>,;"]+@[^\s@<>,;"]+$/, 'must be a plain address, name@domain');

/** A webhook notification target: where, in which receiver's format, and the HMAC secret that signs each body. */
const notifyWebhookSchema = z
  .object({
    url: z.string().url().optional(),
    /** The URL read from a file: chat webhook URLs carry their token in the path. */
    urlFile: z.string().optional(),
    format: z.enum(WEBHOOK_FORMATS).default('generic'),
    secret: z.string().optional(),
    secretFile: z.string().optional(),
  })
  .strict()
  .refine((w) => (w.url === undefined) !== (w.urlFile === undefined), 'set url or urlFile (one of them)');

/** E-mail through an SMTP relay. */
const notifyEmailSchema = z
  .object({
    /** smtp://host[:port] (STARTTLS, required with credentials) or smtps://host[:port] (TLS from the start). */
    url: z.string().regex(/^smtps?:\/\/[^/@\s]+\/?$/, 'must be smtp://host[:port] or smtps://host[:port], with no credentials in it'),
    from: emailAddress,
    /** Recipients: a list, or one comma-separated string (as INFRASEC_NOTIFY_EMAIL_TO gives them). */
    to: z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter(Boolean) : v), z.array(emailAddress).min(1)),
    username: z.string().optional(),
    password: z.string().optional(),
    passwordFile: z.string().optional(),
    caFile: z.string().optional(),
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
        /** Accept heads that do not descend from the applied commit (rewinds, other branches); each one is still audited. */
        allowNonFastForward: z.boolean().default(false),
        /** Accept one exact non-fast-forward move, `<applied commit>..<new head>` (full hashes, as the refusal prints it). */
        acceptNonFastForward: z.string().regex(/^[0-9a-f]{40}\.\.[0-9a-f]{40}$/, 'must be <applied commit>..<new head>, two full 40-hex commit hashes').optional(),
      })
      .strict()
      .optional(),
    directory: z.string().optional(),
    pollIntervalSeconds: z.number().positive().default(60),
    listen: z.string().default('127.0.0.1:9400'),
    bearerTokenFile: z.string().optional(),
    /** A listener off loopback without a bearer token, or a Git token over http://: logged as a warning, or refused at start. */
    insecure: z.enum(['warn', 'refuse']).default('warn'),
    webhookSecret: z.string().optional(),
    webhookSecretFile: z.string().optional(),
    /** One webhook (the generic JSON unless notifyFormat says otherwise); notifyWebhooks adds more. */
    notifyUrl: z.string().url().optional(),
    notifyFormat: z.enum(WEBHOOK_FORMATS).default('generic'),
    /** HMAC-SHA256 secret signing the notifyUrl posts. */
    notifySecret: z.string().optional(),
    notifySecretFile: z.string().optional(),
    notifyWebhooks: z.array(notifyWebhookSchema).default([]),
    notifyEmail: notifyEmailSchema.optional(),
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

const systemNameSchema = z.enum(SYSTEM_MODULES.map((m) => m.name) as [SystemName, ...SystemName[]]);

/** A system's section: the module's own settings plus what every system shares (policy, dependsOn). */
function systemSectionSchema(module: SystemModule) {
  return module.settings.extend({
    policy: policySchema.default(policySchema.parse({})),
    /** Systems whose pass must converge on a commit before this one runs on it; default: what the module declares. */
    dependsOn: z.array(systemNameSchema).optional(),
  });
}

const systemsSchema = z
  .object(Object.fromEntries(SYSTEM_MODULES.map((m) => [m.name, systemSectionSchema(m).optional()])))
  .strict()
  .superRefine((systems, ctx) => {
    const cycle = findCycle(graphOf(systems as Record<string, { dependsOn?: SystemName[] } | undefined>));
    if (cycle) ctx.addIssue({ code: 'custom', path: [cycle[0]!, 'dependsOn'], message: `systems depend on each other in a cycle (${cycle.join(' → ')}); no pass could ever run. Remove one dependsOn` });
  })
  .default({});

/** Dependencies among the configured systems: each section's dependsOn, else its module's; unconfigured systems are not waited for. */
function graphOf(systems: Readonly<Record<string, { dependsOn?: readonly SystemName[] } | undefined>>): DependencyGraph {
  const graph = new Map(SYSTEM_MODULES.filter((m) => systems[m.name] !== undefined).map((m) => [m.name, systems[m.name]?.dependsOn ?? m.dependsOn ?? []] as const));
  return restrictGraph(graph, new Set(graph.keys()));
}

const desiredStateSchema = z
  .object({
    maxTotalBytes: z.number().int().positive().default(DEFAULT_TOTAL_LIMITS.maxTotalBytes),
    maxDocuments: z.number().int().positive().default(DEFAULT_TOTAL_LIMITS.maxDocuments),
    maxObjects: z.number().int().positive().default(DEFAULT_TOTAL_LIMITS.maxObjects),
    loadTimeoutSeconds: z.number().positive().default(DEFAULT_TOTAL_LIMITS.loadTimeoutSeconds),
  })
  .strict();

export const configSchema = z
  .object({
    stateDir: z.string().default('.infrasec-state'),
    /** This controller's name in every system's ownership marker, unless a system's own `instance` overrides it. */
    instance: instanceNameSchema.default(DEFAULT_INSTANCE),
    /** Ceilings on the whole desired state; a commit over one is refused and the last good one stays enforced. */
    desiredState: desiredStateSchema.default({ ...DEFAULT_TOTAL_LIMITS }),
    secrets: z.object({ ageIdentityFiles: z.array(z.string()).default([]) }).strict().default({ ageIdentityFiles: [] }),
    systems: systemsSchema,
    controller: controllerSchema.default(controllerSchema.parse({})),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
/** One system's validated section; only its module knows the rest of its shape. */
export type SystemConfig = Readonly<Record<string, unknown>> & { readonly policy: Policy };

type Env = Readonly<Record<string, string | undefined>>;

/** Controller-wide settings and their variables (setting path in infrasec.yaml → variable). */
const CONTROLLER_ENV: Readonly<Record<string, string>> = {
  stateDir: 'INFRASEC_STATE_DIR',
  instance: 'INFRASEC_INSTANCE',
  logLevel: 'INFRASEC_LOG_LEVEL',
  'desiredState.maxTotalBytes': 'INFRASEC_DESIRED_MAX_BYTES',
  'desiredState.maxDocuments': 'INFRASEC_DESIRED_MAX_DOCUMENTS',
  'desiredState.maxObjects': 'INFRASEC_DESIRED_MAX_OBJECTS',
  'desiredState.loadTimeoutSeconds': 'INFRASEC_DESIRED_LOAD_TIMEOUT',
  'controller.pollIntervalSeconds': 'INFRASEC_POLL_INTERVAL',
  'controller.driftIntervalSeconds': 'INFRASEC_DRIFT_INTERVAL',
  'controller.passTimeoutSeconds': 'INFRASEC_PASS_TIMEOUT',
  'controller.retry.initialSeconds': 'INFRASEC_RETRY_INITIAL_SECONDS',
  'controller.retry.maxSeconds': 'INFRASEC_RETRY_MAX_SECONDS',
  'controller.listen': 'INFRASEC_LISTEN',
  'controller.webhookSecret': 'INFRASEC_WEBHOOK_SECRET',
  'controller.webhookSecretFile': 'INFRASEC_WEBHOOK_SECRET_FILE',
  'controller.bearerTokenFile': 'INFRASEC_BEARER_TOKEN_FILE',
  'controller.insecure': 'INFRASEC_INSECURE',
  'controller.notifyUrl': 'INFRASEC_NOTIFY_URL',
  'controller.notifyFormat': 'INFRASEC_NOTIFY_FORMAT',
  'controller.notifySecret': 'INFRASEC_NOTIFY_SECRET',
  'controller.notifySecretFile': 'INFRASEC_NOTIFY_SECRET_FILE',
  'controller.notifyEmail.url': 'INFRASEC_NOTIFY_SMTP_URL',
  'controller.notifyEmail.from': 'INFRASEC_NOTIFY_EMAIL_FROM',
  'controller.notifyEmail.to': 'INFRASEC_NOTIFY_EMAIL_TO',
  'controller.notifyEmail.username': 'INFRASEC_NOTIFY_SMTP_USERNAME',
  'controller.notifyEmail.password': 'INFRASEC_NOTIFY_SMTP_PASSWORD',
  'controller.notifyEmail.passwordFile': 'INFRASEC_NOTIFY_SMTP_PASSWORD_FILE',
  'controller.notifyEmail.caFile': 'INFRASEC_NOTIFY_SMTP_CA_FILE',
  'controller.directory': 'INFRASEC_DIRECTORY',
  'controller.git.url': 'INFRASEC_GIT_URL',
  'controller.git.ref': 'INFRASEC_GIT_REF',
  'controller.git.path': 'INFRASEC_GIT_PATH',
  'controller.git.token': 'INFRASEC_GIT_TOKEN',
  'controller.git.tokenFile': 'INFRASEC_GIT_TOKEN_FILE',
  'controller.git.tokenUsername': 'INFRASEC_GIT_TOKEN_USERNAME',
  'controller.git.sshKeyFile': 'INFRASEC_GIT_SSH_KEY_FILE',
  'controller.git.knownHostsFile': 'INFRASEC_GIT_KNOWN_HOSTS_FILE',
  'controller.git.verifySignatures': 'INFRASEC_GIT_VERIFY_SIGNATURES',
  'controller.git.allowedSignersFile': 'INFRASEC_GIT_ALLOWED_SIGNERS_FILE',
  'controller.git.trustedKeysFile': 'INFRASEC_GIT_TRUSTED_KEYS_FILE',
  'controller.git.timeoutSeconds': 'INFRASEC_GIT_TIMEOUT',
  'controller.git.allowNonFastForward': 'INFRASEC_GIT_ALLOW_NON_FAST_FORWARD',
  'controller.git.acceptNonFastForward': 'INFRASEC_GIT_ACCEPT_NON_FAST_FORWARD',
};

/** Every variable a setting can come from, controller's and systems', as `[variable, setting path]`. */
export function environmentVariables(): Array<[string, string]> {
  const out: Array<[string, string]> = Object.entries(CONTROLLER_ENV).map(([path, name]) => [name, path]);
  for (const m of SYSTEM_MODULES) for (const [path, name] of Object.entries(m.env)) out.push([name, `systems.${m.name}.${path}`]);
  return out;
}

/**
 * Raw settings from the environment, shaped like infrasec.yaml, so both merge field by field (environment wins).
 * A boolean, number or enum variable that is not spelled as its setting accepts is refused, naming both.
 */
export function configFromEnv(env: Env): Record<string, unknown> {
  const problems: string[] = [];
  const controller = settingsFromEnv(configSchema, CONTROLLER_ENV, env);
  problems.push(...controller.problems);
  const out: Record<string, unknown> = controller.value;
  if (env['INFRASEC_AGE_IDENTITY_FILE']) out['secrets'] = { ageIdentityFiles: env['INFRASEC_AGE_IDENTITY_FILE'].split(':') };
  const systems: Record<string, unknown> = {};
  for (const m of SYSTEM_MODULES) {
    const section = settingsFromEnv(m.settings, m.env, env, `systems.${m.name}`);
    problems.push(...section.problems);
    if (Object.keys(section.value).length > 0) systems[m.name] = section.value;
  }
  if (Object.keys(systems).length > 0) out['systems'] = systems;
  const drift = env['INFRASEC_DRIFT_POLICY'];
  if (drift) out['driftPolicy'] = drift;
  const dependsOn = env['INFRASEC_DEPENDS_ON'];
  if (dependsOn) out['dependsOnSpec'] = dependsOn;
  if (problems.length > 0) throw new ConfigError(`invalid environment:\n${problems.join('\n')}`, { variables: problems.length });
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

/** INFRASEC_DRIFT_POLICY: `correct`, or per system/kind `SYSTEM=report,User=ignore`. */
function applyDriftPolicy(raw: Record<string, unknown>, spec: string): void {
  const systems = (raw['systems'] ?? {}) as Record<string, Record<string, unknown>>;
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [lhs, rhs] = part.includes('=') ? (part.split('=') as [string, string]) : ['*', part];
    for (const [name, sys] of Object.entries(systems)) {
      const target = SYSTEM_MODULES.some((m) => m.name === lhs) ? (lhs === name ? '*' : undefined) : lhs;
      if (!target) continue;
      const policy = (sys['policy'] ?? {}) as Record<string, unknown>;
      policy['drift'] = { ...((policy['drift'] as object) ?? {}), [target]: rhs };
      sys['policy'] = policy;
    }
  }
}

/**
 * INFRASEC_DEPENDS_ON: `SYSTEM=DEP[,DEP…]` per system, `;` between systems, an empty list to drop the module's
 * (`modoboa=active-directory;pfsense=`). Sets `systems.SYSTEM.dependsOn` of the systems configured; a name that is no
 * system is refused, naming the variable.
 */
function applyDependsOn(raw: Record<string, unknown>, spec: string): void {
  const known = new Set(SYSTEM_MODULES.map((m) => m.name));
  const systems = (raw['systems'] ?? {}) as Record<string, Record<string, unknown> | undefined>;
  for (const part of spec.split(';').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim();
    const deps = eq < 0 ? [] : part.slice(eq + 1).split(',').map((d) => d.trim()).filter(Boolean);
    if (eq < 0) throw new ConfigError(`INFRASEC_DEPENDS_ON: "${part}" needs SYSTEM=DEPENDENCY[,DEPENDENCY…] (empty after = for none)`);
    for (const n of [name, ...deps]) {
      if (!known.has(n)) throw new ConfigError(`INFRASEC_DEPENDS_ON: unknown system "${n}" (systems: ${[...known].join(', ')})`);
    }
    const section = systems[name];
    if (section) section['dependsOn'] = deps;
  }
}

function describeZodIssues(error: z.ZodError, source: string): string {
  const accepted = (i: z.core.$ZodIssue) => (i.code === 'invalid_type' && i.expected === 'boolean' ? ' (accepted: true or false, unquoted)' : '');
  return error.issues.map((i) => `${source}: ${i.path.join('.') || '(root)'}: ${i.message}${accepted(i)}`).join('\n');
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
  const dependsOn = raw['dependsOnSpec'];
  delete raw['dependsOnSpec'];
  if (typeof dependsOn === 'string') applyDependsOn(raw, dependsOn);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`invalid configuration:\n${describeZodIssues(parsed.error, file)}`, { file });
  const config = parsed.data;
  for (const m of SYSTEM_MODULES) {
    const section = config.systems[m.name] as Record<string, unknown> | undefined;
    if (section) await readSecretFiles(m, section);
  }
  return config;
}

/** Fills each unset secret of a system from its file setting; the file's content never reaches a message. */
async function readSecretFiles(m: SystemModule, section: Record<string, unknown>): Promise<void> {
  for (const secret of m.secrets ?? []) {
    if (section[secret.value]) continue;
    const file = section[secret.file];
    if (typeof file !== 'string' || file === '') {
      if (secret.required === false) continue;
      const variable = m.env[secret.value];
      throw new ConfigError(`${m.name}: set ${variable ?? `systems.${m.name}.${secret.value}`} or systems.${m.name}.${secret.file}`, { system: m.name });
    }
    let value: string;
    try {
      value = (await readFile(file, 'utf8')).trim();
    } catch (err) {
      throw new ConfigError(`${m.name}: cannot read ${secret.file} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { system: m.name, file }, { cause: err });
    }
    if (!value) throw new ConfigError(`${m.name}: ${secret.file} ${file} is empty`, { system: m.name, file });
    section[secret.value] = value;
  }
}

export function policyOf(config: Config, system: SystemName): Policy {
  return (config.systems[system] as SystemConfig | undefined)?.policy ?? DEFAULT_POLICY;
}

/** Which configured system waits for which on a new commit (see `dependsOn`). */
export function dependencyGraph(config: Config): DependencyGraph {
  return graphOf(config.systems as Record<string, { dependsOn?: SystemName[] } | undefined>);
}

/** Systems with connection settings, in registry order; the others are off and reported as skipped. */
export function configuredSystems(config: Config): SystemName[] {
  return SYSTEM_MODULES.map((m) => m.name).filter((s) => config.systems[s] !== undefined);
}

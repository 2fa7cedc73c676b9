// The pfSense reconciler's settings: the infrasec.yaml schema with its defaults (the one place they live).
import { z } from 'zod';
import { instanceNameSchema } from '../../engine/instance.ts';
import type { Secret } from '../../desired/secret.ts';
import type { FirewallInterface } from '../../desired/model.ts';

export const PFSENSE_DEFAULTS = {
  timeoutMs: 15_000,
  lockRetries: 6,
  lockMaxDelayMs: 10_000,
  interfaces: { wan: 'wan', wan2: 'opt2', lan: 'lan', dmz: 'opt1', openvpn: 'openvpn' },
  certificateKey: 'ECDSA',
} as const satisfies Record<string, unknown>;

const ifaceId = z.string().regex(/^[a-z][a-z0-9_]{0,15}$/);

/** `systems.pfsense` in infrasec.yaml. Secrets are plain strings here; build() wraps them. */
export const pfSenseSettingsSchema = z
  .object({
    /** Base URL of the webConfigurator, e.g. https://fw.cod.example (the API is under /api/v2). */
    url: z.url({ protocol: /^https?$/ }),
    /** X-API-Key (KeyAuth enabled in the REST API settings); or username/password for Basic. */
    apiKey: z.string().min(1).optional(),
    apiKeyFile: z.string().optional(),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    passwordFile: z.string().optional(),
    /** PEM file of the CA that signed the webConfigurator certificate. */
    caFile: z.string().optional(),
    timeoutMs: z.number().int().positive().default(PFSENSE_DEFAULTS.timeoutMs),
    /** Written in every ownership marker: two controllers with different instances never touch each other's objects. Unset: the controller-wide `instance`. */
    instance: instanceNameSchema.optional(),
    /** 503 MODEL_WRITE_CONFIG_LOCKED: retries per write, and the longest wait between two. */
    lockRetries: z.number().int().min(0).max(20).default(PFSENSE_DEFAULTS.lockRetries),
    lockMaxDelayMs: z.number().int().min(10).max(120_000).default(PFSENSE_DEFAULTS.lockMaxDelayMs),
    /** The YAML's interface names → pfSense interface ids. */
    interfaces: z
      .object({ wan: ifaceId, wan2: ifaceId, lan: ifaceId, dmz: ifaceId, openvpn: ifaceId })
      .strict()
      .default({ ...PFSENSE_DEFAULTS.interfaces }),
    /** Key type of the user certificates the reconciler asks pfSense to generate. */
    certificateKey: z.enum(['ECDSA', 'RSA']).default(PFSENSE_DEFAULTS.certificateKey),
  })
  .strict();

export type PfSenseConfigSection = z.output<typeof pfSenseSettingsSchema>;

export type PfSenseAuth = { readonly kind: 'key'; readonly key: Secret } | { readonly kind: 'basic'; readonly username: string; readonly password: Secret };

export interface PfSenseSettings {
  readonly url: string;
  readonly auth: PfSenseAuth;
  /** PEM text of the CA to trust (read from caFile by the module). */
  readonly ca?: string;
  readonly timeoutMs: number;
  readonly instance: string;
  readonly lockRetries: number;
  readonly lockMaxDelayMs: number;
  readonly interfaces: Readonly<Record<FirewallInterface, string>>;
  readonly certificateKey: 'ECDSA' | 'RSA';
}

// The AD reconciler's settings: the infrasec.yaml schema with its defaults (the one place they live), and the layout derived from them.
import { z } from 'zod';
import { ConfigError } from '../../errors.ts';
import { DEFAULT_INSTANCE, instanceNameSchema, isInstanceName } from '../../engine/instance.ts';
import type { Secret } from '../../desired/secret.ts';
import { escapeDnValue, isDnWithin, parseDn } from './escape.ts';
import type { AdLayout } from './model.ts';
import { ownershipMarker } from './ownership.ts';

export interface AdSettings {
  /** `ldaps://host[:port]`. Plain ldap:// is refused: AD only accepts unicodePwd over an encrypted connection. */
  readonly url: string;
  readonly bindDN: string;
  readonly bindPassword: Secret;
  /** The domain's naming context, e.g. `DC=cod67,DC=infrasec,DC=test`. Conflicts are searched for under it. */
  readonly baseDN: string;
  /** Managed OU, relative to baseDN (or absolute under it). Default `OU=infrasec`; created if missing. */
  readonly managedOU?: string;
  /** PEM bundle of the CA(s) that signed the DC's certificate; the system store when absent. */
  readonly caFile?: string;
  /**
   * The name the DC's certificate is checked against when the URL names the host differently (an IP, an alias):
   * sent as SNI and used by the hostname check. Samba's self-made certificate carries CN=<NETBIOS>.<realm> only.
   */
  readonly tlsServerName?: string;
  /** Skip certificate verification. Only by explicit setting; logged as a warning on every connect. */
  readonly tlsInsecure?: boolean;
  /** Suffix of userPrincipalName; default: the DNS name of baseDN (DC=a,DC=b → a.b). */
  readonly upnSuffix?: string;
  /** Per operation and connect timeout. Default 15 s. */
  readonly timeoutMs?: number;
  /** LDAP writes kept in flight at once within one dependency rank. Default 4. */
  readonly concurrency?: number;
  /** Paged search page size. Default 1000 (AD's MaxPageSize). */
  readonly pageSize?: number;
  /**
   * This controller's name in the ownership marker (adminDescription `managed-by=infrasec;instance=NAME`): controllers
   * with different instances sharing a domain never touch each other's objects. Default: the controller-wide `instance`
   * (itself `default` unless set).
   */
  readonly instance?: string;
}

export const AD_DEFAULTS = {
  managedOU: 'OU=infrasec',
  tlsInsecure: false,
  timeoutMs: 15_000,
  concurrency: 4,
  pageSize: 1000,
} as const;

/** `systems.active-directory` in infrasec.yaml. The bind password is a plain string here; build() wraps it. */
export const adSettingsSchema = z
  .object({
    url: z.string().regex(/^ldaps?:\/\/[^\s/]+(:\d+)?\/?$/, 'must be ldaps://host[:port] (or ldap:// for tests)'),
    bindDN: z.string().min(1),
    bindPassword: z.string().min(1).optional(),
    bindPasswordFile: z.string().optional(),
    baseDN: z.string().min(1),
    managedOU: z.string().default(AD_DEFAULTS.managedOU),
    caFile: z.string().optional(),
    tlsServerName: z.string().optional(),
    tlsInsecure: z.boolean().default(AD_DEFAULTS.tlsInsecure),
    upnSuffix: z.string().optional(),
    timeoutMs: z.number().int().positive().default(AD_DEFAULTS.timeoutMs),
    concurrency: z.number().int().min(1).max(64).default(AD_DEFAULTS.concurrency),
    pageSize: z.number().int().min(1).max(100_000).default(AD_DEFAULTS.pageSize),
    /** Unset: the controller-wide `instance` (engine/instance.ts). */
    instance: instanceNameSchema.optional(),
  })
  .strict();

export type AdConfigSection = z.output<typeof adSettingsSchema>;

export interface ResolvedAdSettings extends Required<Omit<AdSettings, 'caFile' | 'tlsServerName'>> {
  readonly caFile: string | undefined;
  readonly tlsServerName: string | undefined;
  readonly layout: AdLayout;
}

export function resolveAdSettings(s: AdSettings): ResolvedAdSettings {
  let url: URL;
  try {
    url = new URL(s.url);
  } catch (err) {
    throw new ConfigError(`active-directory url "${s.url}" is not a URL`, { url: s.url }, { cause: err });
  }
  if (url.protocol !== 'ldaps:') {
    throw new ConfigError(`active-directory url must use ldaps:// (passwords cannot be set over plain LDAP), got ${url.protocol}//`, { url: s.url });
  }
  const baseRdns = parseDnOrThrow(s.baseDN, 'baseDN');
  const managedRel = s.managedOU ?? AD_DEFAULTS.managedOU;
  parseDnOrThrow(managedRel, 'managedOU');
  const managedOU = isDnWithin(managedRel, s.baseDN) ? managedRel : `${managedRel},${s.baseDN}`;
  const upnSuffix =
    s.upnSuffix ??
    baseRdns
      .filter((rdn) => rdn[0]?.type.toLowerCase() === 'dc')
      .map((rdn) => rdn[0]?.value ?? '')
      .join('.');
  const instance = s.instance ?? DEFAULT_INSTANCE;
  if (!isInstanceName(instance)) throw new ConfigError(`active-directory instance "${instance}" may hold only letters, digits, _ . - (1 to 40)`);
  const concurrency = s.concurrency ?? AD_DEFAULTS.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new ConfigError(`active-directory concurrency must be an integer from 1 to 64, got ${concurrency}`);
  }
  return {
    url: s.url,
    bindDN: s.bindDN,
    bindPassword: s.bindPassword,
    baseDN: s.baseDN,
    managedOU,
    caFile: s.caFile,
    tlsServerName: s.tlsServerName,
    tlsInsecure: s.tlsInsecure ?? AD_DEFAULTS.tlsInsecure,
    upnSuffix,
    timeoutMs: s.timeoutMs ?? AD_DEFAULTS.timeoutMs,
    concurrency,
    pageSize: s.pageSize ?? AD_DEFAULTS.pageSize,
    instance,
    layout: {
      baseDN: s.baseDN,
      managedOU,
      usersOU: `OU=${escapeDnValue('Users')},${managedOU}`,
      groupsOU: `OU=${escapeDnValue('Groups')},${managedOU}`,
      upnSuffix,
      instance,
      marker: ownershipMarker(instance),
    },
  };
}

function parseDnOrThrow(dn: string, field: string) {
  try {
    const rdns = parseDn(dn);
    if (rdns.length === 0) throw new SyntaxError('empty DN');
    return rdns;
  } catch (err) {
    throw new ConfigError(`active-directory ${field} "${dn}" is not a valid DN: ${(err as Error).message}`, { field }, { cause: err });
  }
}

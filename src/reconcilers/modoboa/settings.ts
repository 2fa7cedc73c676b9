// The Modoboa reconciler's settings: the infrasec.yaml schema with its defaults (the one place they live).
import { z } from 'zod';
import { instanceNameSchema } from '../../engine/instance.ts';

export const MODOBOA_DEFAULTS = {
  timeoutMs: 30_000,
  pageSize: 200,
  maxRetries: 5,
  maxRetryAfterMs: 30_000,
  mailboxRemoval: 'keep',
  // Active Directory users by their e-mail address (what people type at Modoboa's login); contacts have no password.
  ldapSearchFilter: '(&(objectCategory=person)(objectClass=user)(mail=%(user)s))',
} as const satisfies Record<string, unknown>;

/** ldaps://host[:port] (LDAP over TLS) or ldap://host[:port] (STARTTLS): never a plaintext bind. */
function ldapUrlProblem(u: string): string | undefined {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    return 'must be ldaps://HOST[:PORT] or ldap://HOST[:PORT]';
  }
  if (url.protocol !== 'ldaps:' && url.protocol !== 'ldap:') return 'must start with ldaps:// (TLS) or ldap:// (STARTTLS)';
  if (!url.hostname || url.username || url.password || url.search || url.hash || (url.pathname !== '' && url.pathname !== '/')) return 'must be ldaps://HOST[:PORT] or ldap://HOST[:PORT], nothing else';
  return undefined;
}

/** `systems.modoboa` in infrasec.yaml. The API token is a plain string here; build() wraps it. */
export const modoboaSettingsSchema = z
  .object({
    /** Base URL of Modoboa, e.g. https://mail.cod67.example.fr (the API is under /api/v2/). */
    url: z.string().url().refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL'),
    /** A super administrator's DRF API token (Settings > API in Modoboa). */
    token: z.string().min(1).optional(),
    tokenFile: z.string().min(1).optional(),
    /** PEM file of the CA that signed Modoboa's certificate, when it is not a public one. */
    caFile: z.string().min(1).optional(),
    /** Deadline of one HTTP call (connect, headers and body). */
    timeoutMs: z.number().int().min(100).max(600_000).default(MODOBOA_DEFAULTS.timeoutMs),
    /** page_size of the list calls. */
    pageSize: z.number().int().min(1).max(1000).default(MODOBOA_DEFAULTS.pageSize),
    /** 429 answers retried per call before giving up. */
    maxRetries: z.number().int().min(0).max(20).default(MODOBOA_DEFAULTS.maxRetries),
    /** Longest Retry-After honoured; a longer one is capped to this. */
    maxRetryAfterMs: z.number().int().min(0).max(600_000).default(MODOBOA_DEFAULTS.maxRetryAfterMs),
    /**
     * Written in the description of the aliases infrasec owns and in its inventory keys; two controllers on one Modoboa
     * need two names. Unset: the controller-wide `instance`, and what an earlier version owned under its default name
     * `infrasec` is taken over (model.ts EARLIER_DEFAULT_INSTANCE).
     */
    instance: instanceNameSchema.optional(),
    /** What happens to the mailbox of a user that leaves Git: kept (account disabled) or deleted with its mail. */
    mailboxRemoval: z.enum(['keep', 'delete']).default(MODOBOA_DEFAULTS.mailboxRemoval),
    /**
     * Modoboa's LDAP authentication against Active Directory, so people log in with their AD password. ldaps:// is
     * LDAP over TLS (port 636 by default), ldap:// is STARTTLS (389): Modoboa is never told to bind in plaintext. The
     * Modoboa host must trust the AD's CA (see the README). Unset: Modoboa's authentication parameters are left alone.
     */
    ldapUrl: z.string().refine((u) => ldapUrlProblem(u) === undefined, { error: (i) => ldapUrlProblem(String(i.input)) ?? 'invalid' }).optional(),
    /** The account Modoboa binds as to find a person's entry (a read-only service account is enough). */
    ldapBindDN: z.string().min(1).optional(),
    ldapBindPassword: z.string().min(1).optional(),
    ldapBindPasswordFile: z.string().min(1).optional(),
    /** Where Modoboa searches for people, e.g. the OU infrasec manages. */
    ldapSearchBase: z.string().min(1).optional(),
    /** How Modoboa finds the entry of whoever logs in; %(user)s is the login (an e-mail address), escaped by Modoboa. */
    ldapSearchFilter: z.string().min(1).default(MODOBOA_DEFAULTS.ldapSearchFilter),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.ldapUrl === undefined) return;
    if (!s.ldapBindDN) ctx.addIssue({ code: 'custom', path: ['ldapBindDN'], message: 'required with ldapUrl' });
    if (!s.ldapSearchBase) ctx.addIssue({ code: 'custom', path: ['ldapSearchBase'], message: 'required with ldapUrl' });
    if (!s.ldapBindPassword && !s.ldapBindPasswordFile) ctx.addIssue({ code: 'custom', path: ['ldapBindPassword'], message: 'required with ldapUrl (or ldapBindPasswordFile)' });
  });

export type ModoboaSettings = z.output<typeof modoboaSettingsSchema>;

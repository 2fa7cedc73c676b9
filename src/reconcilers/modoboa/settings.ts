// The Modoboa reconciler's settings: the infrasec.yaml schema with its defaults (the one place they live).
import { z } from 'zod';

export const MODOBOA_DEFAULTS = {
  timeoutMs: 30_000,
  pageSize: 200,
  maxRetries: 5,
  maxRetryAfterMs: 30_000,
  instance: 'infrasec',
  mailboxRemoval: 'keep',
} as const satisfies Record<string, unknown>;

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
    /** Written in the description of the aliases infrasec owns; two controllers on one Modoboa need two names. */
    instance: z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/).default(MODOBOA_DEFAULTS.instance),
    /** What happens to the mailbox of a user that leaves Git: kept (account disabled) or deleted with its mail. */
    mailboxRemoval: z.enum(['keep', 'delete']).default(MODOBOA_DEFAULTS.mailboxRemoval),
  })
  .strict();

export type ModoboaSettings = z.output<typeof modoboaSettingsSchema>;

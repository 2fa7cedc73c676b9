// Pure: the audit records of a hand-over: who revealed or exported which secrets (object and field names), never a value.
import type { Actor, AuditRecord } from '../report/audit.ts';

/** The `system` of hand-over entries in the secrets trail. */
export const HANDOVER_SYSTEM = 'handover';

export interface HandOverContext {
  readonly time: string;
  readonly commit: string;
  readonly author: string | null;
  readonly actor: Actor;
  /** reveal: shown on a terminal; export: encrypted for recipients. */
  readonly action: 'reveal' | 'export';
  /** Where it went, e.g. `shown on a terminal` or `encrypted to age1…, written to jmeyer.age`. */
  readonly reason: string;
}

/** One record per object: `fields` lists the paths handed over (e.g. `spec.voicemail.pin`). */
export function handOverRecords(fields: ReadonlyMap<string, readonly string[]>, ctx: HandOverContext, result: 'ok' | 'failed' = 'ok', error?: string): AuditRecord[] {
  return [...fields].map(([object, paths]) => ({
    time: ctx.time, commit: ctx.commit, author: ctx.author, signature: 'not-checked', system: HANDOVER_SYSTEM, object, action: ctx.action,
    fields: paths.map((path) => ({ path, sensitive: true })), result, drift: false, reason: ctx.reason, actor: ctx.actor,
    ...(error ? { error } : {}),
  }));
}

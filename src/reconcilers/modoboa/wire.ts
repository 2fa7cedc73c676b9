// Modoboa's API bodies for domains, accounts and aliases (what apply sends), and the YAML field each of their fields comes from.
import type { FieldChange, WireFieldChange } from '../../engine/types.ts';
import { type AliasValues, aliasMarker, type DomainValues, type MailboxValues } from './model.ts';

export function domainBody(v: DomainValues) {
  return { quota: String(v.quotaMB), default_mailbox_quota: String(v.defaultMailboxQuotaMB), enabled: v.enabled };
}

export function mailboxBody(v: MailboxValues) {
  return {
    first_name: v.firstName,
    last_name: v.lastName,
    is_active: v.enabled,
    mailbox: v.quotaMB === undefined ? { use_domain_quota: true } : { use_domain_quota: false, quota: String(v.quotaMB) },
  };
}

export function aliasBody(v: AliasValues, instance: string) {
  return { recipients: [...v.recipients], enabled: v.enabled, description: aliasMarker(instance) };
}

/** MailDomain fields behind the domain body's. */
export const DOMAIN_FROM = { quota: 'spec.quotaMB', default_mailbox_quota: 'spec.defaultMailboxQuotaMB', enabled: 'spec.enabled' } as const;
/** User fields behind the account body's (`mailbox.*` is the quota: the domain's or its own). */
export const MAILBOX_FROM = {
  first_name: 'spec.givenName', last_name: 'spec.surname', is_active: 'spec.enabled', 'mailbox.use_domain_quota': 'spec.mailbox.quotaMB', 'mailbox.quota': 'spec.mailbox.quotaMB',
} as const;

/** `{ mailbox: { quota } }` → `{ 'mailbox.quota' }`: one wire field per value the API takes. */
function flatten(body: Readonly<Record<string, unknown>>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flatten(v as Record<string, unknown>, `${prefix}${k}.`));
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

/**
 * The API fields that differ between two bodies (before undefined: a create), each with the YAML field it comes from.
 * Fields `from` does not name are left out (the alias marker, compared apart).
 */
export function wireDiff(before: Readonly<Record<string, unknown>> | undefined, after: Readonly<Record<string, unknown>>, from: Readonly<Record<string, string>>): WireFieldChange[] {
  const b = before === undefined ? {} : flatten(before);
  const a = flatten(after);
  const out: WireFieldChange[] = [];
  for (const k of new Set([...Object.keys(b), ...Object.keys(a)])) {
    if (!(k in from) || JSON.stringify(b[k]) === JSON.stringify(a[k])) continue;
    out.push({ path: k, before: b[k] ?? null, after: a[k] ?? null, from: from[k] });
  }
  return out;
}

/** Only the `wire` a change needs: none when it has no API fields to show. */
export function wireOf(fields: readonly FieldChange[]): { wire?: readonly WireFieldChange[] } {
  return fields.length > 0 ? { wire: fields } : {};
}

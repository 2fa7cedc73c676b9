// Reads Modoboa in bulk: one paged list call per collection (domains, accounts, aliases), normalised to plain live data.
import { InfrasecError } from '../../errors.ts';
import type { ModoboaClient } from './client.ts';
import { aliasMarker, type LiveAccount, type LiveAlias, type LiveDomain, type LiveModoboa } from './model.ts';

/** Who owns what, beyond what Modoboa can hold: the controller's local inventory. */
export interface Inventory {
  ownsDomain(name: string): boolean;
  ownsAccount(username: string): boolean;
}

/** "1000", 1000, "1000M" → 1000; Modoboa answers strings in MB. */
export function quotaOf(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const m = /^(\d+)/.exec(v.trim());
    if (m) return Number(m[1]);
  }
  return 0;
}

function must<T>(ok: boolean, what: string, item: unknown): T {
  if (!ok) throw new InfrasecError('modoboa-api', `Modoboa returned a ${what} this client does not understand: ${JSON.stringify(item).slice(0, 200)}`);
  return item as T;
}

export function normalizeDomain(raw: unknown, inv: Inventory): LiveDomain {
  const d = must<Record<string, unknown>>(!!raw && typeof raw === 'object' && typeof (raw as { pk?: unknown }).pk === 'number' && typeof (raw as { name?: unknown }).name === 'string', 'domain', raw);
  const name = String(d['name']).toLowerCase();
  return {
    pk: d['pk'] as number,
    name,
    quotaMB: quotaOf(d['quota']),
    defaultMailboxQuotaMB: quotaOf(d['default_mailbox_quota']),
    enabled: d['enabled'] !== false,
    owned: inv.ownsDomain(name),
  };
}

export function normalizeAccount(raw: unknown, inv: Inventory): LiveAccount {
  const a = must<Record<string, unknown>>(!!raw && typeof raw === 'object' && typeof (raw as { pk?: unknown }).pk === 'number' && typeof (raw as { username?: unknown }).username === 'string', 'account', raw);
  const username = String(a['username']).toLowerCase();
  const mb = a['mailbox'] as Record<string, unknown> | null | undefined;
  return {
    pk: a['pk'] as number,
    username,
    firstName: typeof a['first_name'] === 'string' ? a['first_name'] : '',
    lastName: typeof a['last_name'] === 'string' ? a['last_name'] : '',
    enabled: a['is_active'] !== false,
    role: typeof a['role'] === 'string' ? a['role'] : '',
    mailbox:
      mb && typeof mb === 'object' && typeof mb['pk'] === 'number'
        ? { pk: mb['pk'], address: String(mb['full_address'] ?? username).toLowerCase(), useDomainQuota: mb['use_domain_quota'] === true, quotaMB: quotaOf(mb['quota']) }
        : null,
    owned: inv.ownsAccount(username),
  };
}

export function normalizeAlias(raw: unknown, instance: string): LiveAlias {
  const a = must<Record<string, unknown>>(!!raw && typeof raw === 'object' && typeof (raw as { pk?: unknown }).pk === 'number' && typeof (raw as { address?: unknown }).address === 'string', 'alias', raw);
  const description = typeof a['description'] === 'string' ? a['description'] : '';
  const recipients = Array.isArray(a['recipients']) ? a['recipients'].map((r) => String(r).toLowerCase()).sort() : [];
  return { pk: a['pk'] as number, address: String(a['address']).toLowerCase(), recipients, enabled: a['enabled'] !== false, description, owned: description === aliasMarker(instance) };
}

export async function observeModoboa(client: ModoboaClient, inv: Inventory, instance: string, signal: AbortSignal): Promise<LiveModoboa> {
  const [domains, accounts, aliases] = await Promise.all([
    client.list<unknown>('api/v2/domains/', signal),
    client.list<unknown>('api/v2/accounts/', signal),
    client.list<unknown>('api/v2/aliases/', signal),
  ]);
  return {
    domains: new Map(domains.map((d) => normalizeDomain(d, inv)).map((d) => [d.name, d])),
    accounts: new Map(accounts.map((a) => normalizeAccount(a, inv)).map((a) => [a.username, a])),
    aliases: new Map(aliases.map((a) => normalizeAlias(a, instance)).map((a) => [a.address, a])),
  };
}

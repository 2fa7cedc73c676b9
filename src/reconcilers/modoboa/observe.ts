// Reads Modoboa in bulk: one paged list call per collection (domains, accounts, aliases), plus its global core parameters when infrasec manages authentication; normalised to plain live data.
import { Secret } from '../../desired/secret.ts';
import { AuthenticationError, InfrasecError, TargetUnavailableError } from '../../errors.ts';
import { TOKEN_SETTINGS, type ModoboaClient } from './client.ts';
import { aliasMarker, type LiveAccount, type LiveAlias, type LiveAuthentication, type LiveDomain, type LiveModoboa, type ModoboaLayout } from './model.ts';
import { AUTHENTICATION_KEYS } from './plan-authentication.ts';

/** Modoboa's global parameters of its `core` application (authentication, LDAP, passwords, theme...): GET and PUT all at once. */
export const CORE_PARAMETERS = 'api/v2/parameters/global/core/';

/** Who owns what, beyond what Modoboa can hold: the controller's local inventory. */
export interface Inventory {
  ownsDomain(name: string): boolean;
  ownsAccount(username: string): boolean;
  /** Recorded by the earlier default instance this one takes over (model.ts EARLIER_DEFAULT_INSTANCE). */
  inheritsDomain?(name: string): boolean;
  inheritsAccount?(username: string): boolean;
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
    ...ownership(inv.ownsDomain(name), inv.inheritsDomain?.(name) ?? false),
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
    ...ownership(inv.ownsAccount(username), inv.inheritsAccount?.(username) ?? false),
  };
}

function ownership(mine: boolean, inherited: boolean): { owned: boolean; legacyMarker?: true } {
  return mine ? { owned: true } : inherited ? { owned: true, legacyMarker: true } : { owned: false };
}

/** An alias: owned with this instance's marker; with the earlier default instance's (`earlier`) only inside a domain this instance owns. */
export function normalizeAlias(raw: unknown, instance: string, earlier?: { instance: string; ownsDomain: (name: string) => boolean }): LiveAlias {
  const a = must<Record<string, unknown>>(!!raw && typeof raw === 'object' && typeof (raw as { pk?: unknown }).pk === 'number' && typeof (raw as { address?: unknown }).address === 'string', 'alias', raw);
  const description = typeof a['description'] === 'string' ? a['description'] : '';
  const recipients = Array.isArray(a['recipients']) ? a['recipients'].map((r) => String(r).toLowerCase()).sort() : [];
  const address = String(a['address']).toLowerCase();
  const inherited = earlier !== undefined && description === aliasMarker(earlier.instance) && earlier.ownsDomain(address.slice(address.lastIndexOf('@') + 1));
  return { pk: a['pk'] as number, address, recipients, enabled: a['enabled'] !== false, description, ...ownership(description === aliasMarker(instance), inherited) };
}

/** The `params` object of a GET of the core parameters (every parameter, as Modoboa holds it). */
export function coreParameters(raw: unknown): Record<string, unknown> {
  const params = (raw as { params?: unknown } | null)?.params;
  // Not quoted in the error, unlike other odd answers: it holds secrets.
  if (!params || typeof params !== 'object' || Array.isArray(params)) throw new InfrasecError('modoboa-api', `Modoboa answered ${CORE_PARAMETERS} with something that is not a parameter set`);
  return params as Record<string, unknown>;
}

/**
 * Reads the core parameters until two answers in a row agree (at most four reads). Modoboa 2.12 builds this answer
 * in a dict shared by all its threads, which any request arriving meanwhile resets to the defaults
 * (parameters/tools.py: every Manager() reloads the registry's defaults in place, and get_values_dict returns that
 * same dict): seen here as 7 answers in 30 read beside two list calls. One odd read would plan a needless write,
 * or worse, send the defaults back in the PUT that saves every parameter.
 */
export async function readCoreParameters(client: ModoboaClient, signal: AbortSignal): Promise<Record<string, unknown>> {
  let previous: string | undefined;
  for (let read = 0; read < 4; read++) {
    const params = coreParameters(await client.call('GET', CORE_PARAMETERS, undefined, signal));
    const text = JSON.stringify(params);
    if (text === previous) return params;
    previous = text;
  }
  throw new TargetUnavailableError(`Modoboa answered ${CORE_PARAMETERS} differently on each of four reads (requests running beside it reset what it shows); nothing written, the next pass tries again`);
}

export function normalizeAuthentication(params: Record<string, unknown>): LiveAuthentication {
  // Modoboa hides secret parameters from anyone but a super administrator: without it every pass would rewrite it.
  if (!('ldap_bind_password' in params)) {
    throw new InfrasecError('modoboa-api', "Modoboa did not show its LDAP bind password: the API token must be a super administrator's to manage authentication");
  }
  const values = Object.fromEntries(AUTHENTICATION_KEYS.map((k) => [k, params[k] ?? null])) as LiveAuthentication['values'];
  const password = params['ldap_bind_password'];
  return { values, bindPassword: new Secret(typeof password === 'string' ? password : '', 'env', 'modoboa-live-ldap-bind') };
}

/**
 * The API token must be a super administrator's: any other account's token reads lists filtered to what that account
 * administers (for a role-less account, nothing at all, so a plan would want to create everything) and may write
 * nothing. Checked on every read, before anything is planned from such lists.
 */
export async function checkTokenAccount(client: ModoboaClient, signal: AbortSignal): Promise<void> {
  const me = await client.call<{ username?: unknown; role?: unknown }>('GET', 'api/v2/account/me/', undefined, signal);
  if (me.role === 'SuperAdmins') return;
  const role = typeof me.role === 'string' && me.role !== '---' ? `its role is ${me.role}` : 'it has no role';
  throw new AuthenticationError(
    `Modoboa at ${client.origin}: the API token is the account ${JSON.stringify(String(me.username ?? '?'))}'s and ${role}, so Modoboa shows it only part of its objects and refuses its writes; nothing was planned from them. Set ${TOKEN_SETTINGS} to a super administrator's token`,
  );
}

export async function observeModoboa(client: ModoboaClient, inv: Inventory, layout: Pick<ModoboaLayout, 'instance' | 'earlierInstance'>, signal: AbortSignal, withAuthentication = false): Promise<LiveModoboa> {
  const [, domains, accounts, aliases] = await Promise.all([
    checkTokenAccount(client, signal),
    client.list<unknown>('api/v2/domains/', signal),
    client.list<unknown>('api/v2/accounts/', signal),
    client.list<unknown>('api/v2/aliases/', signal),
  ]);
  // After the lists, not beside them: see readCoreParameters.
  const parameters = withAuthentication ? await readCoreParameters(client, signal) : undefined;
  const liveDomains = new Map(domains.map((d) => normalizeDomain(d, inv)).map((d) => [d.name, d]));
  const earlier = layout.earlierInstance === undefined ? undefined : { instance: layout.earlierInstance, ownsDomain: (name: string) => liveDomains.get(name)?.owned === true };
  return {
    domains: liveDomains,
    accounts: new Map(accounts.map((a) => normalizeAccount(a, inv)).map((a) => [a.username, a])),
    aliases: new Map(aliases.map((a) => normalizeAlias(a, layout.instance, earlier)).map((a) => [a.address, a])),
    ...(parameters === undefined ? {} : { authentication: normalizeAuthentication(parameters) }),
  };
}

// Test builders for Modoboa: desired MailDomains, MailAliases and Users with e-mail, a ResolvedState, and live Modoboa objects.
import type { DesiredState, MailAlias, MailAliasSpec, MailDomain, MailDomainSpec, ResolvedState, SourceRef, User, UserSpec } from '../../../src/desired/model.ts';
import { API_VERSION } from '../../../src/desired/model.ts';
import { DEFAULT_POLICY, type Policy } from '../../../src/engine/types.ts';
import { aliasMarker, type LiveAccount, type LiveAlias, type LiveDomain, type LiveModoboa } from '../../../src/reconcilers/modoboa/model.ts';

export const DOMAIN = 'cod67.example.fr';
export const INSTANCE = 'infrasec';

/** Field positions are deterministic: line 10 + the depth of the path, so a test can tell which field was named. */
export function source(file: string): SourceRef {
  return { file, line: 3, col: 1, at: (p) => ({ line: 10 + p.length, col: 5 }) };
}

export function user(name: string, spec: Partial<UserSpec> = {}): User {
  return {
    apiVersion: API_VERSION,
    kind: 'User',
    metadata: { name },
    spec: { givenName: 'Jean', surname: name.toUpperCase(), groups: [], enabled: true, mustChangePassword: false, email: `${name}@${DOMAIN}`, ...spec },
    source: source(`users/${name}.yaml`),
  };
}

export function mailDomain(name = DOMAIN, spec: Partial<MailDomainSpec> = {}): MailDomain {
  return { apiVersion: API_VERSION, kind: 'MailDomain', metadata: { name }, spec: { quotaMB: 10_000, defaultMailboxQuotaMB: 1000, enabled: true, ...spec }, source: source('mail/domain.yaml') };
}

export function mailAlias(name: string, recipients: string[], spec: Partial<MailAliasSpec> = {}): MailAlias {
  return { apiVersion: API_VERSION, kind: 'MailAlias', metadata: { name }, spec: { address: `${name}@${DOMAIN}`, recipients, enabled: true, ...spec }, source: source('mail/aliases.yaml') };
}

export function state(input: { users?: User[]; domains?: MailDomain[]; aliases?: MailAlias[] }): ResolvedState {
  const empty = new Map();
  const resources: DesiredState = {
    users: new Map((input.users ?? []).map((u) => [u.metadata.name, u])),
    groups: empty, extensions: empty, conferences: empty, vpnProfiles: empty, firewallAliases: empty, firewallRules: empty, portForwards: empty,
    mailDomains: new Map((input.domains ?? []).map((d) => [d.metadata.name, d])),
    mailAliases: new Map((input.aliases ?? []).map((a) => [a.metadata.name, a])),
  };
  return { resources, secrets: { get: () => undefined }, revision: 'test' };
}

let nextPk = 100;
export function liveDomain(name = DOMAIN, over: Partial<LiveDomain> = {}): LiveDomain {
  return { pk: nextPk++, name, quotaMB: 10_000, defaultMailboxQuotaMB: 1000, enabled: true, owned: true, ...over };
}
export function liveAccount(local: string, over: Partial<LiveAccount> & { quotaMB?: number | undefined } = {}): LiveAccount {
  const address = `${local}@${DOMAIN}`;
  const { quotaMB, ...rest } = over;
  return {
    pk: nextPk++, username: address, firstName: 'Jean', lastName: local.toUpperCase(), enabled: true, role: 'SimpleUsers', owned: true,
    mailbox: { pk: nextPk++, address, useDomainQuota: quotaMB === undefined, quotaMB: quotaMB ?? 1000 },
    ...rest,
  };
}
export function liveAlias(local: string, recipients: string[], over: Partial<LiveAlias> = {}): LiveAlias {
  return { pk: nextPk++, address: `${local}@${DOMAIN}`, recipients: [...recipients].sort(), enabled: true, description: aliasMarker(INSTANCE), owned: true, ...over };
}
export function live(input: { domains?: LiveDomain[]; accounts?: LiveAccount[]; aliases?: LiveAlias[] } = {}): LiveModoboa {
  return {
    domains: new Map((input.domains ?? []).map((d) => [d.name, d])),
    accounts: new Map((input.accounts ?? []).map((a) => [a.username, a])),
    aliases: new Map((input.aliases ?? []).map((a) => [a.address, a])),
  };
}

export function policy(over: Partial<Policy> = {}): Policy {
  return { ...DEFAULT_POLICY, ...over };
}

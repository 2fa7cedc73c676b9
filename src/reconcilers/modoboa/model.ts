// Plain data of the Modoboa reconciler: the live objects as observed, the change payloads apply executes, ranks and markers.
import type { Secret } from '../../desired/secret.ts';

/**
 * Dependency ranks: domains before mailboxes before the aliases that point at them (removals run in reverse). The
 * authentication parameters go first, so the mailboxes made in the same pass take AD passwords from the start.
 */
export const RANK = { authentication: 5, domain: 10, mailbox: 20, alias: 30 } as const;

export type ModoboaKind = 'Authentication' | 'MailDomain' | 'Mailbox' | 'MailAlias';

/** The one Authentication object: Modoboa's global LDAP authentication parameters. */
export const AUTHENTICATION_NAME = 'ldap';

/**
 * Modoboa's global `core` parameters that make it authenticate people against Active Directory (searchbind), by
 * their API names. The bind password is apart: it is a Secret on both sides.
 */
export interface AuthenticationValues {
  readonly authentication_type: 'ldap';
  readonly ldap_server_address: string;
  readonly ldap_server_port: number;
  readonly ldap_secured: 'ssl' | 'starttls';
  readonly ldap_is_active_directory: true;
  readonly ldap_auth_method: 'searchbind';
  readonly ldap_bind_dn: string;
  readonly ldap_search_base: string;
  readonly ldap_search_filter: string;
}
export interface DesiredAuthentication {
  /** systems.modoboa.ldapUrl as written in infrasec.yaml (the values hold what Modoboa makes of it). */
  readonly url: string;
  readonly values: AuthenticationValues;
  readonly bindPassword: Secret;
}
/** The same parameters as Modoboa holds them (any value, as read). */
export interface LiveAuthentication {
  readonly values: Readonly<Record<keyof AuthenticationValues, unknown>>;
  /** Modoboa shows it to super administrators; held as a Secret so it never prints. */
  readonly bindPassword: Secret;
}

/** Alias descriptions start with this, then the instance name: `managed by infrasec (infrasec)`. */
export const ALIAS_MARKER_PREFIX = 'managed by infrasec';
export function aliasMarker(instance: string): string {
  return `${ALIAS_MARKER_PREFIX} (${instance})`;
}

/**
 * The instance name earlier versions used when none was configured. When systems.modoboa.instance is unset, what
 * that name owns is taken over by this instance (aliases only inside the domains it owns), with a note in the plan.
 */
export const EARLIER_DEFAULT_INSTANCE = 'infrasec';

/** The plan field of a change that moves an object from the earlier default instance to this one. */
export const OWNERSHIP_FIELD = 'ownership';

export interface LiveDomain {
  readonly pk: number;
  readonly name: string;
  readonly quotaMB: number;
  readonly defaultMailboxQuotaMB: number;
  readonly enabled: boolean;
  /** In infrasec's inventory (created or adopted by it). */
  readonly owned: boolean;
  /** Owned only through the inventory of the earlier default instance: recorded under this one with the next apply. */
  readonly legacyMarker?: boolean;
}

export interface LiveAccount {
  readonly pk: number;
  readonly username: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly enabled: boolean;
  readonly role: string;
  readonly mailbox: { readonly pk: number; readonly address: string; readonly useDomainQuota: boolean; readonly quotaMB: number } | null;
  readonly owned: boolean;
  /** Owned only through the inventory of the earlier default instance: recorded under this one with the next apply. */
  readonly legacyMarker?: boolean;
}

export interface LiveAlias {
  readonly pk: number;
  readonly address: string;
  /** Sorted, lower-case. */
  readonly recipients: readonly string[];
  readonly enabled: boolean;
  readonly description: string;
  /** Its description carries this instance's marker, or the earlier default instance's inside a domain this instance owns. */
  readonly owned: boolean;
  /** Owned through the earlier default instance's marker: rewritten with this instance's. */
  readonly legacyMarker?: boolean;
}

export interface LiveModoboa {
  readonly domains: ReadonlyMap<string, LiveDomain>;
  /** By username (= mailbox address for mailbox users), lower-case. */
  readonly accounts: ReadonlyMap<string, LiveAccount>;
  /** By address, lower-case. */
  readonly aliases: ReadonlyMap<string, LiveAlias>;
  /** Read only when infrasec manages the authentication parameters (ldapUrl set). */
  readonly authentication?: LiveAuthentication;
}

/** What a mailbox account should look like; `quotaMB` undefined means the domain's default (use_domain_quota). */
export interface MailboxValues {
  readonly firstName: string;
  readonly lastName: string;
  readonly enabled: boolean;
  readonly quotaMB: number | undefined;
}
export interface DomainValues {
  readonly quotaMB: number;
  readonly defaultMailboxQuotaMB: number;
  readonly enabled: boolean;
}
export interface AliasValues {
  readonly recipients: readonly string[];
  readonly enabled: boolean;
}

/** The one HTTP write a change makes, and what a read-back must find afterwards. */
export type ModoboaPayload =
  | { readonly op: 'authentication.update'; readonly values: AuthenticationValues; readonly bindPassword: Secret }
  | { readonly op: 'domain.create'; readonly name: string; readonly values: DomainValues; readonly source?: SourcePos }
  | { readonly op: 'domain.update'; readonly pk: number; readonly name: string; readonly values: DomainValues; readonly adopt: boolean; readonly takeOver?: boolean; readonly source?: SourcePos }
  | { readonly op: 'domain.delete'; readonly pk: number; readonly name: string; readonly pruned: true }
  | { readonly op: 'mailbox.create'; readonly address: string; readonly values: MailboxValues; readonly source?: SourcePos }
  | { readonly op: 'mailbox.update'; readonly pk: number; readonly address: string; readonly values: MailboxValues; readonly adopt: boolean; readonly takeOver?: boolean; readonly pruned?: boolean; readonly source?: SourcePos }
  | { readonly op: 'mailbox.delete'; readonly pk: number; readonly address: string; readonly pruned: true }
  | { readonly op: 'alias.create'; readonly address: string; readonly values: AliasValues; readonly source?: SourcePos }
  | { readonly op: 'alias.update'; readonly pk: number; readonly address: string; readonly values: AliasValues; readonly adopt: boolean; readonly source?: SourcePos }
  | { readonly op: 'alias.delete'; readonly pk: number; readonly address: string; readonly pruned: true };

export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/** How plan sees the world beyond the live state: plain data. */
export interface ModoboaLayout {
  readonly instance: string;
  /** The earlier default instance whose objects this one takes over (systems.modoboa.instance unset), else undefined. */
  readonly earlierInstance?: string;
  readonly mailboxRemoval: 'keep' | 'delete';
  /** Set when infrasec manages Modoboa's LDAP authentication (systems.modoboa.ldapUrl). */
  readonly authentication?: DesiredAuthentication;
}

// Shapes of the Active Directory reconciler: live objects normalized to the desired shape, the layout, change payloads.
import type { Secret } from '../../desired/secret.ts';
import type { GroupScope, GroupType } from './encoding.ts';

/** Where infrasec keeps things, computed once from the settings. Plain DNs, already escaped. */
export interface AdLayout {
  readonly baseDN: string;
  /** The managed OU (created if missing) and its children for users and groups. */
  readonly managedOU: string;
  readonly usersOU: string;
  readonly groupsOU: string;
  readonly upnSuffix: string;
  /** This controller's instance name, and the adminDescription marking what it owns (ownership.ts). */
  readonly instance: string;
  readonly marker: string;
}

/** A user account as read from AD, in UserSpec terms. Absent attributes are undefined. */
export interface LiveUser {
  readonly dn: string;
  readonly name: string;
  /** adminDescription carries this instance's marker and the account lies in the managed OU (ownership.ts). */
  readonly owned: boolean;
  /** Owned through the marker of an earlier version without an instance: rewritten with the next write. */
  readonly legacyMarker: boolean;
  readonly adminDescription?: string;
  readonly givenName?: string;
  readonly surname?: string;
  readonly displayName?: string;
  readonly title?: string;
  readonly department?: string;
  readonly email?: string;
  readonly telephoneNumber?: string;
  readonly userPrincipalName?: string;
  readonly userAccountControl: number;
  readonly enabled: boolean;
  /** FILETIME ticks, undefined for "never". */
  readonly accountExpires?: string;
  /** The fingerprint of the last password infrasec wrote, from the controller's FingerprintStore. */
  readonly passwordFingerprint?: string;
}

export interface LiveGroup {
  readonly dn: string;
  readonly name: string;
  readonly owned: boolean;
  readonly legacyMarker: boolean;
  readonly adminDescription?: string;
  readonly description?: string;
  readonly groupType: number;
  readonly scope: GroupScope | undefined;
  readonly type: GroupType;
  /** Member DNs exactly as AD returned them. */
  readonly members: readonly string[];
}

/** Everything observe read in one pass. Maps are keyed by lower-cased sAMAccountName. */
export interface LiveDirectory {
  readonly users: ReadonlyMap<string, LiveUser>;
  readonly groups: ReadonlyMap<string, LiveGroup>;
  /** Normalized DNs (escape.normalizeDn) of the OUs that exist at and below the managed OU. */
  readonly organizationalUnits: ReadonlySet<string>;
  readonly observedAt: string;
}

/** One LDAP write. A change's payload lists the writes apply sends, in order; each counts as one write. */
export type LdapWrite =
  | { readonly op: 'add'; readonly dn: string; readonly attributes: Readonly<Record<string, readonly string[]>> }
  | { readonly op: 'modify'; readonly dn: string; readonly changes: readonly LdapModification[] }
  | { readonly op: 'delete'; readonly dn: string };

export interface LdapModification {
  readonly operation: 'add' | 'delete' | 'replace';
  readonly attribute: string;
  /** Empty with `delete` removes the attribute. */
  readonly values: readonly string[];
}

/** What verify expects to read back after a change; fields are in the normalized (LiveUser / LiveGroup) shape. */
export type Expectation =
  | { readonly kind: 'OrganizationalUnit'; readonly present: boolean }
  | { readonly kind: 'User'; readonly name: string; readonly present: boolean; readonly fields?: Readonly<Partial<Record<keyof LiveUser, unknown>>> }
  | { readonly kind: 'Group'; readonly name: string; readonly present: boolean; readonly fields?: Readonly<Partial<Record<keyof LiveGroup, unknown>>> }
  | { readonly kind: 'Membership'; readonly name: string; readonly present: readonly string[]; readonly absent: readonly string[] };

/** change.payload of every active-directory change. */
export interface AdPayload {
  readonly dn: string;
  readonly writes: readonly LdapWrite[];
  /**
   * A password to send with the first write (as unicodePwd in the add, or a replace in the modify). The Secret
   * serializes as "(sensitive)"; apply stores `fingerprint` under `fingerprintKey` only after the write succeeded.
   */
  readonly password?: { readonly secret: Secret; readonly fingerprintKey: string; readonly fingerprint: string };
  /** Fingerprint key to forget once the object is deleted. */
  readonly forgetFingerprintKey?: string;
  readonly expect: Expectation;
  /** Where the desired object was declared, for verify diagnostics. */
  readonly source?: { readonly file: string; readonly line: number; readonly col: number };
}

export const CHANGE_KINDS = ['OrganizationalUnit', 'Group', 'User', 'Membership'] as const;
export type AdChangeKind = (typeof CHANGE_KINDS)[number];

/** Dependency order: OUs (parent first), groups, users, then memberships, which need both ends to exist. */
export const RANK: Readonly<Record<'managedOU' | 'childOU' | 'group' | 'user' | 'membership', number>> = {
  managedOU: 0,
  childOU: 1,
  group: 2,
  user: 3,
  membership: 4,
};

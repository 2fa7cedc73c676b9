// The typed desired state: what the loader hands to reconcilers once every document has been validated.
import type { Secret } from './secret.ts';

export const API_VERSION = 'infrasec/v1';
export const KINDS = [
  'User', 'Group', 'Extension', 'Conference', 'VpnProfile',
  'FirewallAlias', 'FirewallRule', 'PortForward', 'MailDomain', 'MailAlias',
] as const;
export type Kind = (typeof KINDS)[number];

/** Where a document came from, for diagnostics that point back at the YAML. */
export interface SourceRef {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Resolves a field path (`spec.groups[1]`) to its own position, falling back to the document's. */
  readonly at: (path: ReadonlyArray<string | number>) => { line: number; col: number };
}

export interface Resource<K extends Kind, S> {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: K;
  readonly metadata: { readonly name: string; readonly labels?: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>> };
  readonly spec: S;
  readonly source: SourceRef;
}

/** A secret field as written in Git, before decryption. */
export type SecretSource =
  | { readonly encrypted: string }
  | { readonly generate: true; readonly length?: number; readonly charset?: 'alnum' | 'digits' };

export interface UserSpec {
  readonly givenName: string;
  readonly surname: string;
  readonly displayName?: string;
  readonly title?: string;
  readonly department?: string;
  readonly email?: string;
  readonly telephoneNumber?: string;
  readonly groups: readonly string[];
  readonly enabled: boolean;
  /** ISO date (YYYY-MM-DD) or date-time; the account stops working after it. */
  readonly accountExpires?: string;
  readonly password?: SecretSource;
  /** Sets "must change password at next logon" when the password is (re)set. */
  readonly mustChangePassword: boolean;
  readonly mailbox?: { readonly quotaMB?: number; readonly aliases?: readonly string[] };
}

export interface GroupSpec {
  readonly description?: string;
  readonly scope: 'global' | 'domainLocal' | 'universal';
  readonly type: 'security' | 'distribution';
  /** `User/name` or `Group/name`, or bare names resolved as users first. */
  readonly members: readonly string[];
  /** authoritative: members not listed are removed; additive: only adds. */
  readonly membership: 'authoritative' | 'additive';
}

export type Codec = 'ulaw' | 'alaw' | 'g722' | 'g729' | 'gsm' | 'opus' | 'vp8' | 'vp9' | 'h264';

export interface ExtensionSpec {
  readonly number: string;
  readonly owner?: string;
  readonly callerIdName: string;
  readonly secret: SecretSource;
  readonly transport: 'udp' | 'tcp' | 'tls' | 'wss';
  readonly webrtc: boolean;
  readonly codecs: { readonly audio: readonly Codec[]; readonly video: readonly Codec[] };
  readonly dtmfMode: 'rfc4733' | 'inband' | 'info' | 'auto';
  readonly nat: boolean;
  readonly maxContacts: number;
  readonly voicemail: { readonly enabled: boolean; readonly pin?: SecretSource; readonly email?: string; readonly attach?: boolean };
  readonly messaging: boolean;
}

export interface ConferenceSpec {
  readonly number: string;
  readonly title: string;
  readonly userPin?: SecretSource;
  readonly leaderPin?: SecretSource;
  readonly waitForLeader: boolean;
  readonly talkerOptimization: boolean;
  readonly announceJoinLeave: boolean;
  readonly maxMembers: number;
  readonly videoMode: 'none' | 'follow_talker' | 'last_marked' | 'first_marked' | 'sfu';
}

export interface VpnProfileSpec {
  readonly user: string;
  readonly server: string;
  readonly tunnelNetwork: string;
  readonly staticAddress?: string;
  readonly routes: readonly string[];
  readonly certificateLifetimeDays: number;
  readonly requireAdCredentials: boolean;
  readonly secondFactor: 'none' | 'totp';
}

export type FirewallInterface = 'wan' | 'wan2' | 'lan' | 'dmz' | 'openvpn';
export interface FirewallAliasSpec {
  readonly type: 'host' | 'network' | 'port';
  readonly description?: string;
  readonly entries: readonly string[];
}
export interface Endpoint {
  readonly any?: boolean;
  readonly alias?: string;
  readonly address?: string;
  readonly network?: FirewallInterface;
}
export interface FirewallRuleSpec {
  readonly interface: FirewallInterface;
  readonly action: 'pass' | 'block' | 'reject';
  readonly protocol: 'any' | 'tcp' | 'udp' | 'tcp/udp' | 'icmp';
  readonly source: Endpoint;
  readonly destination: Endpoint;
  readonly ports?: readonly string[];
  readonly portAlias?: string;
  readonly order: number;
  readonly log: boolean;
  readonly gateway?: string;
  readonly description?: string;
  readonly disabled: boolean;
}
export interface PortForwardSpec {
  readonly interface: FirewallInterface;
  readonly protocol: 'tcp' | 'udp' | 'tcp/udp';
  readonly externalPort: string;
  readonly target: string;
  readonly targetPort: string;
  readonly source?: Endpoint;
  readonly description?: string;
}

export interface MailDomainSpec {
  readonly quotaMB: number;
  readonly defaultMailboxQuotaMB: number;
  readonly enabled: boolean;
}
export interface MailAliasSpec {
  readonly address: string;
  readonly recipients: readonly string[];
  readonly enabled: boolean;
}

export type User = Resource<'User', UserSpec>;
export type Group = Resource<'Group', GroupSpec>;
export type Extension = Resource<'Extension', ExtensionSpec>;
export type Conference = Resource<'Conference', ConferenceSpec>;
export type VpnProfile = Resource<'VpnProfile', VpnProfileSpec>;
export type FirewallAlias = Resource<'FirewallAlias', FirewallAliasSpec>;
export type FirewallRule = Resource<'FirewallRule', FirewallRuleSpec>;
export type PortForward = Resource<'PortForward', PortForwardSpec>;
export type MailDomain = Resource<'MailDomain', MailDomainSpec>;
export type MailAlias = Resource<'MailAlias', MailAliasSpec>;
export type AnyResource = User | Group | Extension | Conference | VpnProfile | FirewallAlias | FirewallRule | PortForward | MailDomain | MailAlias;

/** The whole desired state of one commit, by kind then name. */
export interface DesiredState {
  readonly users: ReadonlyMap<string, User>;
  readonly groups: ReadonlyMap<string, Group>;
  readonly extensions: ReadonlyMap<string, Extension>;
  readonly conferences: ReadonlyMap<string, Conference>;
  readonly vpnProfiles: ReadonlyMap<string, VpnProfile>;
  readonly firewallAliases: ReadonlyMap<string, FirewallAlias>;
  readonly firewallRules: ReadonlyMap<string, FirewallRule>;
  readonly portForwards: ReadonlyMap<string, PortForward>;
  readonly mailDomains: ReadonlyMap<string, MailDomain>;
  readonly mailAliases: ReadonlyMap<string, MailAlias>;
}

/** Resolves the secret fields of the desired state to in-memory `Secret`s, keyed `Kind/name#field`. */
export interface SecretStore {
  get(kind: Kind, name: string, field: string): Secret | undefined;
}

/** What reconcilers plan from: the validated resources and their decrypted secrets. */
export interface ResolvedState {
  readonly resources: DesiredState;
  readonly secrets: SecretStore;
  /** The commit (or directory digest) this state was loaded from. */
  readonly revision: string;
}

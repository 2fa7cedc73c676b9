// Test builders: desired Users/Groups, Secrets, ResolvedState and live AD objects, with defaults the loader would fill.
import type { DesiredState, Group, GroupSpec, ResolvedState, SecretStore, SourceRef, User, UserSpec } from '../../../src/desired/model.ts';
import { API_VERSION } from '../../../src/desired/model.ts';
import { Secret, sha256Hex } from '../../../src/desired/secret.ts';
import type { LiveDirectory, LiveGroup, LiveUser } from '../../../src/reconcilers/active-directory/model.ts';
import { ownershipMarker } from '../../../src/reconcilers/active-directory/ownership.ts';

/** The marker of the layout the plan tests use (instance `default`). */
export const OWNERSHIP_MARKER = ownershipMarker('default');
import { normalizeDn } from '../../../src/reconcilers/active-directory/escape.ts';

export const BASE = 'DC=cod67,DC=infrasec,DC=test';
export const USERS_OU = `OU=Users,OU=infrasec,${BASE}`;
export const GROUPS_OU = `OU=Groups,OU=infrasec,${BASE}`;

export function source(file: string): SourceRef {
  return { file, line: 1, col: 1, at: () => ({ line: 1, col: 1 }) };
}

/** An "encrypted" secret as the loader makes it: the fingerprint is the sha256 of its (fake) ciphertext. */
export function secret(value: string, origin: Secret['origin'] = 'encrypted'): Secret {
  return new Secret(value, origin, sha256Hex(`age-ciphertext-of:${value}`));
}

export function user(name: string, spec: Partial<UserSpec> = {}): User {
  const givenName = spec.givenName ?? 'Jean';
  const surname = spec.surname ?? name.toUpperCase();
  return {
    apiVersion: API_VERSION,
    kind: 'User',
    metadata: { name },
    spec: { givenName, surname, displayName: `${givenName} ${surname}`, groups: [], enabled: true, mustChangePassword: false, ...spec },
    source: source(`users/${name}.yaml`),
  };
}

export function group(name: string, spec: Partial<GroupSpec> = {}): Group {
  return {
    apiVersion: API_VERSION,
    kind: 'Group',
    metadata: { name },
    spec: { scope: 'global', type: 'security', members: [], membership: 'authoritative', ...spec },
    source: source(`groups/${name}.yaml`),
  };
}

export interface StateInput {
  readonly users?: readonly User[];
  readonly groups?: readonly Group[];
  /** Passwords by user name. */
  readonly passwords?: Readonly<Record<string, Secret>>;
}

export function state(input: StateInput): ResolvedState {
  const empty = new Map();
  const resources: DesiredState = {
    // A user with a password in the store has spec.password set, as the loader guarantees.
    users: new Map(
      (input.users ?? []).map((u) => {
        const withPassword = input.passwords?.[u.metadata.name] && !u.spec.password ? { ...u, spec: { ...u.spec, password: { encrypted: '-----BEGIN AGE ENCRYPTED FILE-----' } } } : u;
        return [u.metadata.name, withPassword];
      }),
    ),
    groups: new Map((input.groups ?? []).map((g) => [g.metadata.name, g])),
    extensions: empty, conferences: empty, vpnProfiles: empty, firewallAliases: empty,
    firewallRules: empty, portForwards: empty, mailDomains: empty, mailAliases: empty,
  };
  const secrets: SecretStore = {
    get: (kind, name, field) => (kind === 'User' && field === 'password' ? input.passwords?.[name] : undefined),
  };
  return { resources, secrets, revision: 'test' };
}

export function liveUser(name: string, over: Partial<LiveUser> = {}): LiveUser {
  const uac = over.userAccountControl ?? 512;
  return {
    dn: `CN=${name},${USERS_OU}`,
    name,
    owned: true,
    legacyMarker: false,
    adminDescription: OWNERSHIP_MARKER,
    givenName: 'Jean',
    surname: name.toUpperCase(),
    displayName: `Jean ${name.toUpperCase()}`,
    userPrincipalName: `${name}@cod67.infrasec.test`,
    userAccountControl: uac,
    enabled: (uac & 2) === 0,
    ...over,
  };
}

export function liveGroup(name: string, over: Partial<LiveGroup> = {}): LiveGroup {
  return {
    dn: `CN=${name},${GROUPS_OU}`,
    name,
    owned: true,
    legacyMarker: false,
    adminDescription: OWNERSHIP_MARKER,
    groupType: -2147483646,
    scope: 'global',
    type: 'security',
    members: [],
    ...over,
  };
}

export function live(input: { users?: LiveUser[]; groups?: LiveGroup[]; ous?: string[] } = {}): LiveDirectory {
  return {
    users: new Map((input.users ?? []).map((u) => [u.name.toLowerCase(), u])),
    groups: new Map((input.groups ?? []).map((g) => [g.name.toLowerCase(), g])),
    organizationalUnits: new Set((input.ous ?? []).map(normalizeDn)),
    observedAt: '2026-01-01T00:00:00.000Z',
  };
}

/** The managed OUs already exist. */
export const ALL_OUS = [`OU=infrasec,${BASE}`, USERS_OU, GROUPS_OU];

// Test builders: desired firewall, port forward, VPN and user resources as the loader hands them over, and a ResolvedState.
import type {
  DesiredState, FirewallAlias, FirewallAliasSpec, FirewallRule, FirewallRuleSpec, PortForward, PortForwardSpec, ResolvedState, SourceRef, User,
  UserSpec, VpnProfile, VpnProfileSpec,
} from '../../../src/desired/model.ts';
import { API_VERSION } from '../../../src/desired/model.ts';

export function source(file: string): SourceRef {
  return { file, line: 3, col: 1, at: () => ({ line: 3, col: 1 }) };
}

export function alias(name: string, spec: Partial<FirewallAliasSpec> = {}): FirewallAlias {
  return { apiVersion: API_VERSION, kind: 'FirewallAlias', metadata: { name }, spec: { type: 'host', entries: ['192.168.10.20'], ...spec }, source: source(`firewall/${name}.yaml`) };
}

export function rule(name: string, spec: Partial<FirewallRuleSpec> = {}): FirewallRule {
  return {
    apiVersion: API_VERSION, kind: 'FirewallRule', metadata: { name },
    spec: { interface: 'lan', action: 'pass', protocol: 'any', source: { network: 'lan' }, destination: { any: true }, order: 100, log: false, disabled: false, ...spec },
    source: source(`firewall/${name}.yaml`),
  };
}

export function portForward(name: string, spec: Partial<PortForwardSpec> = {}): PortForward {
  return {
    apiVersion: API_VERSION, kind: 'PortForward', metadata: { name },
    spec: { interface: 'wan', protocol: 'tcp', externalPort: '443', target: '172.16.50.10', targetPort: '443', ...spec },
    source: source(`firewall/${name}.yaml`),
  };
}

export function user(name: string, spec: Partial<UserSpec> = {}): User {
  return {
    apiVersion: API_VERSION, kind: 'User', metadata: { name },
    spec: { givenName: 'Jean', surname: name, groups: [], enabled: true, mustChangePassword: false, ...spec },
    source: source(`users/${name}.yaml`),
  };
}

export function vpn(name: string, userName: string, spec: Partial<VpnProfileSpec> = {}): VpnProfile {
  return {
    apiVersion: API_VERSION, kind: 'VpnProfile', metadata: { name },
    spec: {
      user: userName, server: 'rw-agents', tunnelNetwork: '10.8.0.0/24', routes: ['192.168.10.0/24'], certificateLifetimeDays: 365,
      requireAdCredentials: true, secondFactor: 'none', ...spec,
    },
    source: source(`vpn/${name}.yaml`),
  };
}

export interface StateInput {
  readonly aliases?: readonly FirewallAlias[];
  readonly rules?: readonly FirewallRule[];
  readonly portForwards?: readonly PortForward[];
  readonly vpnProfiles?: readonly VpnProfile[];
  readonly users?: readonly User[];
}

const byName = <T extends { metadata: { name: string } }>(xs: readonly T[] | undefined) => new Map((xs ?? []).map((x) => [x.metadata.name, x]));

export function state(input: StateInput): ResolvedState {
  const empty = new Map();
  const resources: DesiredState = {
    users: byName(input.users),
    groups: empty,
    extensions: empty,
    conferences: empty,
    vpnProfiles: byName(input.vpnProfiles),
    firewallAliases: byName(input.aliases),
    firewallRules: byName(input.rules),
    portForwards: byName(input.portForwards),
    mailDomains: empty,
    mailAliases: empty,
  };
  return { resources, secrets: { get: () => undefined }, revision: 'test' };
}

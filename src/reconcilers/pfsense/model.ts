// Shapes of the pfSense reconciler: live objects as observed, the ownership marker, wire names, change payloads.

/** Change kinds in dependency order: aliases before the rules that name them, certificates before overrides. */
export const RANK = {
  FirewallAlias: 10,
  FirewallRule: 20,
  PortForward: 30,
  VpnCertificate: 40,
  VpnOverride: 41,
  /** A filter reload owed by an earlier pass, or asked by pending changes saved but not applied. */
  FirewallApply: 90,
} as const;
export type PfSenseChangeKind = keyof typeof RANK;

/**
 * Ownership marker appended to every description infrasec writes: `[infrasec:<instance>:<name>]`.
 * `:` and `[` `]` are allowed in every pfSense description (certificate descriptions refuse `/ \ " ' < > & ?`).
 */
export function marker(instance: string, name: string): string {
  return `[infrasec:${instance}:${name}]`;
}

const MARKER = /\s?\[infrasec:([A-Za-z0-9_.-]{1,32}):([A-Za-z0-9_.-]{1,128})\]$/;

/** The owner of a description: the instance and object name in its trailing marker, if any. */
export function parseMarker(descr: string): { instance: string; name: string; text: string } | undefined {
  const m = MARKER.exec(descr);
  return m ? { instance: m[1]!, name: m[2]!, text: descr.slice(0, m.index) } : undefined;
}

export function describe(text: string | undefined, instance: string, name: string): string {
  return text ? `${text} ${marker(instance, name)}` : marker(instance, name);
}

/** pfSense alias names allow letters, digits and `_` only (≤31): `net-lan` becomes `net_lan`. */
export function pfAliasName(name: string): string {
  return name.replace(/[-.]/g, '_');
}

export interface LiveAlias {
  readonly id: number;
  readonly name: string;
  readonly type: string;
  readonly descr: string;
  readonly address: readonly string[];
}

/** The fields of a filter rule infrasec manages, as the API spells them. */
export interface RuleFields {
  readonly type: string;
  readonly interface: readonly string[];
  readonly ipprotocol: string;
  readonly protocol: string | null;
  readonly source: string;
  readonly destination: string;
  readonly destination_port: string | null;
  readonly descr: string;
  readonly disabled: boolean;
  readonly log: boolean;
  readonly gateway: string | null;
}
export const RULE_FIELDS = ['type', 'interface', 'ipprotocol', 'protocol', 'source', 'destination', 'destination_port', 'descr', 'disabled', 'log', 'gateway'] as const;

export interface LiveRule extends RuleFields {
  readonly id: number;
  readonly tracker: number | null;
  readonly associated_rule_id: string | null;
}

export interface PortForwardFields {
  readonly interface: string;
  readonly protocol: string;
  readonly source: string;
  readonly destination: string;
  readonly destination_port: string | null;
  readonly target: string;
  readonly local_port: string | null;
  readonly descr: string;
  readonly disabled: boolean;
}
export const PORT_FORWARD_FIELDS = ['interface', 'protocol', 'source', 'destination', 'destination_port', 'target', 'local_port', 'descr', 'disabled'] as const;

export interface LivePortForward extends PortForwardFields {
  readonly id: number;
  readonly associated_rule_id: string;
}

export interface LiveOpenVpnServer {
  readonly id: number;
  readonly vpnid: number;
  readonly vpnif: string;
  readonly description: string;
  readonly mode: string;
  readonly authmode: readonly string[];
  readonly caref: string;
  readonly crlref: string;
  readonly tunnel_network: string;
}

export interface LiveCertificate {
  readonly id: number;
  readonly refid: string;
  readonly descr: string;
  readonly caref: string;
  readonly commonName: string;
  /** Upper-case hex, as openssl prints it. */
  readonly serial: string;
  readonly validFrom: string;
  readonly validTo: string;
}

export interface LiveCrl {
  readonly id: number;
  readonly refid: string;
  readonly caref: string;
  readonly descr: string;
  readonly revokedSerials: ReadonlySet<string>;
  readonly revokedCertrefs: ReadonlySet<string>;
}

export interface OverrideFields {
  readonly common_name: string;
  readonly description: string;
  readonly disable: boolean;
  readonly server_list: readonly string[];
  readonly tunnel_network: string;
  readonly local_network: readonly string[];
}
export const OVERRIDE_FIELDS = ['common_name', 'description', 'disable', 'server_list', 'tunnel_network', 'local_network'] as const;

export interface LiveOverride extends OverrideFields {
  readonly id: number;
}

export interface LiveAuthServer {
  readonly name: string;
  readonly type: string;
}

export interface LivePfSense {
  readonly aliases: readonly LiveAlias[];
  /** The global rule list, in pfSense's order (all interfaces). */
  readonly rules: readonly LiveRule[];
  readonly portForwards: readonly LivePortForward[];
  /** Names of gateways and gateway groups. */
  readonly gateways: ReadonlySet<string>;
  readonly servers: readonly LiveOpenVpnServer[];
  readonly certificates: readonly LiveCertificate[];
  readonly crls: readonly LiveCrl[];
  readonly overrides: readonly LiveOverride[];
  readonly authServers: readonly LiveAuthServer[];
  /** GET /firewall/apply's pending subsystems. */
  readonly pending: readonly string[];
  /** Pending flags seen right after infrasec's last apply: pfRest's apply cannot clear them (errata 13), so they are not news. */
  readonly stalePending: readonly string[];
  /** An earlier pass wrote firewall objects and its /firewall/apply did not go through. */
  readonly applyOwed: boolean;
  readonly observedAt: string;
}

/** What apply needs for one change, beyond its kind/name/action. Plain data. */
export type PfSensePayload =
  | { readonly type: 'alias'; readonly wireName: string; readonly body: Readonly<Record<string, unknown>>; readonly adopt?: boolean; readonly pruned?: boolean }
  | {
      readonly type: 'rule';
      readonly body: RuleFields;
      /** Marker name of the owned rule this one must follow on its interface; null = first owned rule there. */
      readonly after: string | null;
      readonly iface: string;
      readonly move: boolean;
      readonly writeFields: boolean;
      readonly pruned?: boolean;
    }
  | { readonly type: 'portForward'; readonly body: PortForwardFields; readonly pruned?: boolean }
  | {
      readonly type: 'certificate';
      readonly commonName: string;
      readonly lifetimeDays: number;
      readonly caref: string;
      readonly crlref: string;
      readonly descr: string;
      /** Issue a new certificate. */
      readonly issue: boolean;
      /** Owned certificates of this profile to revoke (refids), e.g. the old one on re-issue, all of them for a leaver. */
      readonly revoke: readonly string[];
      readonly pruned?: boolean;
    }
  | { readonly type: 'override'; readonly body: OverrideFields | null; readonly pruned?: boolean }
  | { readonly type: 'apply' };

// Pure: pfSense changes in the YAML's terms: the YAML field each pfRest field comes from, and live pfRest values read back as YAML values.
import type { Endpoint } from '../../desired/model.ts';
import type { ChangeAction, FieldChange, WireFieldChange } from '../../engine/types.ts';
import { yamlFields } from '../../engine/yaml-fields.ts';
import { type LiveAlias, type OverrideFields, parseMarker, pfAliasName, type PortForwardFields, type RuleFields } from './model.ts';

/** The YAML field of a FirewallRule each pfRest rule field comes from (`position` is the planner's move). */
export function ruleFrom(usesPortAlias: boolean): Readonly<Record<keyof RuleFields | 'position', string | undefined>> {
  return {
    type: 'spec.action',
    interface: 'spec.interface',
    ipprotocol: undefined,
    protocol: 'spec.protocol',
    source: 'spec.source',
    destination: 'spec.destination',
    destination_port: usesPortAlias ? 'spec.portAlias' : 'spec.ports',
    descr: 'spec.description',
    disabled: 'spec.disabled',
    log: 'spec.log',
    gateway: 'spec.gateway',
    position: 'spec.order',
  };
}

/** pfRest alias fields → FirewallAlias fields (the pfSense name is the object's own name, shown on the line itself). */
export const ALIAS_FROM: Readonly<Record<string, string | undefined>> = { name: undefined, type: 'spec.type', descr: 'spec.description', address: 'spec.entries' };

/** pfRest port forward fields → PortForward fields (`destination` is `<interface>:ip`). */
export const PORT_FORWARD_FROM: Readonly<Record<keyof PortForwardFields, string | undefined>> = {
  interface: 'spec.interface',
  protocol: 'spec.protocol',
  source: 'spec.source',
  destination: 'spec.interface',
  destination_port: 'spec.externalPort',
  target: 'spec.target',
  local_port: 'spec.targetPort',
  descr: 'spec.description',
  disabled: undefined,
};

/** pfRest client-specific override fields → the VpnProfile fields they come from (the description names the user). */
export const OVERRIDE_FROM: Readonly<Record<keyof OverrideFields, string | undefined>> = {
  common_name: 'spec.user',
  description: 'spec.user',
  disable: undefined,
  server_list: 'spec.server',
  tunnel_network: 'spec.staticAddress',
  local_network: 'spec.routes',
};

/** Tags each wire field with the YAML field it comes from. */
export function withFrom(fields: readonly FieldChange[], from: Readonly<Record<string, string | undefined>>): WireFieldChange[] {
  return fields.map((f) => (from[f.path] ? { ...f, from: from[f.path] } : f));
}

/**
 * The YAML lines of a change: one per YAML field (engine/yaml-fields.ts). A create lists the YAML fields it sets,
 * without pfSense's own plumbing (ipprotocol, the marker-only description); a delete has no YAML fields left to show.
 */
export function yamlView(resource: unknown, action: ChangeAction, wire: readonly WireFieldChange[], liveValue?: (path: string) => unknown): FieldChange[] {
  if (action === 'delete') return [];
  if (action !== 'create') return yamlFields(resource, action, wire, { liveValue });
  return yamlFields(resource, action, wire).filter((f) => f.after !== null);
}

/** What the planner knows to read pfRest values back as YAML: the interface map and the aliases by pfSense name. */
export interface ReadBack {
  readonly interfaces: Readonly<Record<string, string>>;
  /** pfSense alias name → the YAML alias name it comes from (or the pfSense name for an alias made elsewhere). */
  readonly aliasNames: ReadonlyMap<string, string>;
}

export function readBack(interfaces: Readonly<Record<string, string>>, yamlAliasNames: Iterable<string>, live: readonly LiveAlias[]): ReadBack {
  const aliasNames = new Map<string, string>();
  for (const name of yamlAliasNames) aliasNames.set(pfAliasName(name), name);
  for (const a of live) if (!aliasNames.has(a.name)) aliasNames.set(a.name, a.name);
  return { interfaces, aliasNames };
}

/** The YAML interface (`dmz`) of a pfSense interface id (`opt1`), if the settings map one to it. */
export function yamlInterface(rb: ReadBack, wire: string): string | undefined {
  return Object.entries(rb.interfaces).find(([, id]) => id === wire)?.[0];
}

const ADDRESS = /^(\d{1,3}\.){3}\d{1,3}(\/\d{1,2})?$/;

/** A rule's source or destination as the YAML writes it; undefined when pfSense holds something the YAML cannot say. */
export function yamlEndpoint(rb: ReadBack, wire: string): Endpoint | undefined {
  if (wire === 'any') return { any: true };
  const network = yamlInterface(rb, wire);
  if (network) return { network: network as Endpoint['network'] };
  if (ADDRESS.test(wire)) return { address: wire };
  const alias = rb.aliasNames.get(wire);
  return alias ? { alias } : undefined;
}

const PORT = /^\d{1,5}(:\d{1,5})?$/;

/** A pfSense port (`10000:20000`) spelled as the YAML spells it when the YAML has it, else as pfSense does (both are valid YAML). */
export function yamlPort(wire: string, spelled: readonly string[] = []): string {
  return spelled.find((p) => p.replace('-', ':') === wire) ?? wire;
}

/** The description text before the ownership marker (null when there is none), as `spec.description` holds it. */
export function yamlDescription(descr: string): string | null {
  const text = parseMarker(descr)?.text ?? descr;
  return text === '' ? null : text;
}

/**
 * A rule's `spec.ports` as the live rule holds it: one port, or the entries of the port alias infrasec made for it;
 * null when it has no port; undefined when it names another alias.
 */
export function yamlRulePorts(destinationPort: string | null, portsAlias: LiveAlias | undefined, spelled: readonly string[] = []): readonly string[] | null | undefined {
  if (destinationPort === null) return null;
  if (PORT.test(destinationPort)) return [yamlPort(destinationPort, spelled)];
  if (portsAlias && portsAlias.name === destinationPort) return portsAlias.address.map((p) => yamlPort(p, spelled));
  return undefined;
}

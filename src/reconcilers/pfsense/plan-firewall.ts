// Pure: diff desired aliases, filter rules (with their order per interface) and port forwards against live pfSense. No I/O.
import type { Endpoint, FirewallRule, ResolvedState } from '../../desired/model.ts';
import { adoptable } from '../../engine/adoption.ts';
import type { Change, ChangeAction, Conflict, FieldChange, Policy } from '../../engine/types.ts';
import {
  describe, type LiveAlias, type LivePfSense, type LiveRule, parseMarker, pfAliasName, type PfSenseChangeKind, type PfSensePayload,
  PORT_FORWARD_FIELDS, type PortForwardFields, RANK, RULE_FIELDS, type RuleFields,
} from './model.ts';
import {
  ALIAS_FROM, PORT_FORWARD_FROM, readBack, ruleFrom, withFrom, yamlDescription, yamlEndpoint, yamlInterface, yamlPort, yamlRulePorts, yamlView,
} from './yaml-view.ts';

export interface PlanContext {
  readonly instance: string;
  readonly interfaces: Readonly<Record<string, string>>;
}

export interface PlanOutput {
  readonly changes: Change[];
  readonly conflicts: Conflict[];
  owned: number;
}

const SYSTEM = 'pfsense';
const ALIAS_NAME = /^(?!\d+$)(?!pkg_)[A-Za-z0-9_]{1,31}$/;

/** How a change reads in the YAML's terms: pfRest's own fields (`wire`), the YAML object it serves, or plumbing. */
export type ChangeView = Partial<Pick<Change, 'wire' | 'serves' | 'supporting'>>;

/** `fields` are the YAML view; `view.wire` what pfRest is sent, for `--detail`. */
export function change(kind: PfSenseChangeKind, name: string, action: ChangeAction, fields: FieldChange[], reason: string, payload: PfSensePayload, view: ChangeView = {}): Change {
  // The engine reads prune and adopt as first-class flags (the payload keeps them for apply for now).
  const prune = 'pruned' in payload && payload.pruned === true;
  const adopt = 'adopt' in payload && payload.adopt === true;
  return {
    system: SYSTEM, kind, name, key: `${kind}/${name}`, action, prune, adopt, fields, ...view, reason, rank: RANK[kind], payload: payload as unknown as Readonly<Record<string, unknown>>,
  };
}

/** Adoption is decided in one place for every system (re-exported for plan-vpn.ts). */
export { adoptable };

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const sameSet = (a: readonly string[], b: readonly string[]) => same([...a].sort(), [...b].sort());

/** Field-by-field differences over `keys` (created objects: every field from undefined). */
export function diffFields<T extends object>(keys: readonly (keyof T & string)[], before: T | undefined, after: T, setKeys: readonly string[] = []): FieldChange[] {
  const out: FieldChange[] = [];
  for (const k of keys) {
    const b = before?.[k];
    const a = after[k];
    if (before === undefined && a === null) continue;
    const equal = setKeys.includes(k) && Array.isArray(a) && Array.isArray(b) ? sameSet(a as string[], b as string[]) : same(a, b);
    if (!equal) out.push({ path: k, before: b, after: a });
  }
  return out;
}

const wirePort = (p: string) => p.replace('-', ':');

export function endpointToWire(e: Endpoint | undefined, ctx: PlanContext): string {
  if (!e || e.any) return 'any';
  if (e.alias) return pfAliasName(e.alias);
  if (e.address) return e.address;
  if (e.network) return ctx.interfaces[e.network] ?? e.network;
  return 'any';
}

/** Name of the alias infrasec makes for a rule that lists several ports (pfSense rules hold one port or range). */
export function rulePortsAliasName(rule: string): string {
  return `${rule}.ports`;
}

interface WantedAlias {
  readonly name: string;
  readonly wireName: string;
  readonly type: string;
  readonly description?: string;
  readonly entries: readonly string[];
  /** The rule whose several ports this alias holds (infrasec's own alias, not a YAML one). */
  readonly forRule?: FirewallRule;
}

/** The text infrasec writes in the description of a rule's ports alias. */
const portsAliasText = (rule: string) => `Ports of rule ${rule}`;

export function planFirewall(desired: ResolvedState, live: LivePfSense, policy: Policy, ctx: PlanContext, out: PlanOutput): void {
  const conflict = (kind: string, name: string, message: string) => out.conflicts.push({ system: SYSTEM, kind, name, message });
  const mine = (descr: string) => {
    const m = parseMarker(descr);
    return m && m.instance === ctx.instance ? m : undefined;
  };

  // ---- aliases (the YAML's, and one per rule listing several ports) ----
  const wanted: WantedAlias[] = [];
  for (const [name, a] of desired.resources.firewallAliases) {
    wanted.push({ name, wireName: pfAliasName(name), type: a.spec.type, description: a.spec.description, entries: a.spec.entries });
  }
  const protoWithPorts = (p: string) => p === 'tcp' || p === 'udp' || p === 'tcp/udp';
  for (const [name, r] of desired.resources.firewallRules) {
    if ((r.spec.ports?.length ?? 0) > 1 && !r.spec.portAlias && protoWithPorts(r.spec.protocol)) {
      const aliasName = rulePortsAliasName(name);
      wanted.push({ name: aliasName, wireName: pfAliasName(aliasName), type: 'port', description: portsAliasText(name), entries: r.spec.ports!.map(wirePort), forRule: r });
    }
  }
  const byWire = new Map<string, WantedAlias[]>();
  for (const w of wanted) byWire.set(w.wireName, [...(byWire.get(w.wireName) ?? []), w]);
  const refusedAliases = new Set<string>();
  for (const [wire, ws] of byWire) {
    if (ws.length > 1) for (const w of ws) { refusedAliases.add(w.name); conflict('FirewallAlias', w.name, `${ws.map((x) => x.name).join(' and ')} both become pfSense alias "${wire}" (pfSense allows only letters, digits and _); rename one`); }
    if (!ALIAS_NAME.test(wire)) for (const w of ws) { refusedAliases.add(w.name); conflict('FirewallAlias', w.name, `pfSense alias name "${wire}" is not valid (at most 31 letters, digits or _, not all digits)`); }
  }
  const liveByName = new Map(live.aliases.map((a) => [a.name, a] as const));
  const desiredAliasNames = new Set(wanted.map((w) => w.name));
  const rb = readBack(ctx.interfaces, desired.resources.firewallAliases.keys(), live.aliases);
  /**
   * An alias change in the YAML's terms: a YAML alias is its own object; a rule's ports alias serves the rule, its
   * entries being the rule's `spec.ports` (a create comes wholly from them).
   */
  const aliasView = (w: WantedAlias, action: ChangeAction, wire: FieldChange[], l?: LiveAlias): { fields: FieldChange[]; view: ChangeView } => {
    if (!w.forRule) {
      const tagged = withFrom(wire, ALIAS_FROM);
      const liveValue = (p: string) => (!l ? undefined : p === 'spec.type' ? l.type : p === 'spec.description' ? yamlDescription(l.descr) : p === 'spec.entries' ? l.address : undefined);
      return { fields: yamlView(desired.resources.firewallAliases.get(w.name), action, tagged, liveValue), view: { wire: tagged } };
    }
    const tagged = withFrom(wire, action === 'create' ? { name: 'spec.ports', type: 'spec.ports', descr: 'spec.ports', address: 'spec.ports' } : { address: 'spec.ports' });
    const liveValue = (p: string) => (l && p === 'spec.ports' ? l.address.map((x) => yamlPort(x, w.forRule!.spec.ports)) : undefined);
    return { fields: yamlView(w.forRule, action, tagged, liveValue), view: { wire: tagged, serves: `FirewallRule/${w.forRule.metadata.name}` } };
  };
  for (const w of wanted) {
    if (refusedAliases.has(w.name)) continue;
    const body = { name: w.wireName, type: w.type, descr: describe(w.description, ctx.instance, w.name), address: [...w.entries], detail: [] as string[] };
    const l = liveByName.get(w.wireName);
    if (!l) {
      const { fields, view } = aliasView(w, 'create', diffFields(['name', 'type', 'descr', 'address'], undefined, body));
      out.changes.push(change('FirewallAlias', w.name, 'create', fields, 'not on pfSense', { type: 'alias', wireName: w.wireName, body }, view));
      continue;
    }
    const m = mine(l.descr);
    const owned = m?.name === w.name;
    if (!owned && !adoptable(policy, 'FirewallAlias', w.name)) {
      conflict('FirewallAlias', w.name, `pfSense alias "${w.wireName}" exists and is not managed by infrasec (no ${ctx.instance} marker in its description); add FirewallAlias/${w.name} to policy.adopt to take it over`);
      continue;
    }
    if (owned) out.owned++;
    const wire = diffFields(['type', 'descr', 'address'], l as unknown as typeof body, body, ['address']);
    if (wire.length > 0) {
      const { fields, view } = aliasView(w, 'update', wire, l);
      out.changes.push(change('FirewallAlias', w.name, 'update', fields, owned ? 'differs from Git' : 'adopted by policy', { type: 'alias', wireName: w.wireName, body, ...(owned ? {} : { adopt: true }) }, view));
    }
  }
  for (const l of live.aliases) {
    const m = mine(l.descr);
    if (!m || desiredAliasNames.has(m.name)) continue;
    out.owned++;
    // A rule's ports alias goes when the rule no longer lists several ports, or goes itself: part of that rule's change.
    const rule = m.name.endsWith('.ports') && m.text === portsAliasText(m.name.slice(0, -'.ports'.length)) ? m.name.slice(0, -'.ports'.length) : undefined;
    out.changes.push(change('FirewallAlias', m.name, 'delete', [], 'removed from Git', { type: 'alias', wireName: l.name, body: {}, pruned: true }, {
      wire: [{ path: 'name', before: l.name, after: undefined }],
      ...(rule ? { serves: `FirewallRule/${rule}` } : {}),
    }));
  }

  // ---- filter rules, per interface in YAML order ----
  const aliasKnown = (wire: string) => wanted.some((w) => w.wireName === wire && !refusedAliases.has(w.name)) || liveByName.has(wire);
  const byIface = new Map<string, { name: string; rule: FirewallRule; body: RuleFields }[]>();
  for (const [name, r] of desired.resources.firewallRules) {
    const s = r.spec;
    const iface = ctx.interfaces[s.interface] ?? s.interface;
    const problems: string[] = [];
    if (s.gateway && !live.gateways.has(s.gateway)) problems.push(`gateway "${s.gateway}" does not exist on pfSense (no gateway or gateway group of that name under System > Routing)`);
    for (const e of [s.source, s.destination]) if (e.alias && !aliasKnown(pfAliasName(e.alias))) problems.push(`alias "${e.alias}" is neither in Git nor on pfSense`);
    if (s.portAlias && !aliasKnown(pfAliasName(s.portAlias))) problems.push(`port alias "${s.portAlias}" is neither in Git nor on pfSense`);
    if ((s.ports?.length || s.portAlias) && !protoWithPorts(s.protocol)) problems.push(`ports need protocol tcp, udp or tcp/udp, not ${s.protocol}`);
    if ((s.ports?.length ?? 0) > 1 && !s.portAlias && refusedAliases.has(rulePortsAliasName(name))) problems.push('its ports alias cannot be made');
    if (problems.length > 0) {
      conflict('FirewallRule', name, problems.join('; '));
      continue;
    }
    const ports = s.portAlias ? pfAliasName(s.portAlias) : s.ports?.length === 1 ? wirePort(s.ports[0]!) : (s.ports?.length ?? 0) > 1 ? wanted.find((w) => w.name === rulePortsAliasName(name))!.wireName : null;
    const body: RuleFields = {
      type: s.action,
      interface: [iface],
      ipprotocol: 'inet',
      protocol: s.protocol === 'any' ? null : s.protocol,
      source: endpointToWire(s.source, ctx),
      destination: endpointToWire(s.destination, ctx),
      destination_port: protoWithPorts(s.protocol) ? ports : null,
      descr: describe(s.description, ctx.instance, name),
      disabled: s.disabled,
      log: s.log,
      gateway: s.gateway ?? null,
    };
    byIface.set(iface, [...(byIface.get(iface) ?? []), { name, rule: r, body }]);
  }
  // The first owned copy of each name is the rule; later copies (a GUI duplicate of an owned rule) are extra and go.
  const ownedRules = new Map<string, LiveRule>();
  const extras: LiveRule[] = [];
  for (const r of live.rules) {
    const m = mine(r.descr);
    if (!m) continue;
    if (ownedRules.has(m.name)) extras.push(r);
    else ownedRules.set(m.name, r);
  }
  // Simulated global order: owned rules by name, others by id; moves and creates are replayed on it.
  const sim: { key: string; iface: string }[] = live.rules.map((r) => ({ key: mine(r.descr)?.name ?? `#${r.id}`, iface: r.interface[0] ?? '' }));
  const indexOf = (key: string) => sim.findIndex((e) => e.key === key);
  /** A live rule's fields read back as the YAML writes them (undefined: the YAML cannot say what pfSense holds). */
  const ruleLiveValue = (r: FirewallRule, l: LiveRule) => (path: string): unknown => {
    switch (path) {
      case 'spec.action': return l.type;
      case 'spec.interface': return l.interface.length === 1 ? yamlInterface(rb, l.interface[0]!) : undefined;
      case 'spec.protocol': return l.protocol ?? 'any';
      case 'spec.source': return yamlEndpoint(rb, l.source);
      case 'spec.destination': return yamlEndpoint(rb, l.destination);
      case 'spec.ports': return yamlRulePorts(l.destination_port, liveByName.get(pfAliasName(rulePortsAliasName(r.metadata.name))), r.spec.ports);
      case 'spec.portAlias': return l.destination_port === null ? null : rb.aliasNames.get(l.destination_port);
      case 'spec.description': return yamlDescription(l.descr);
      case 'spec.disabled': return l.disabled;
      case 'spec.log': return l.log;
      case 'spec.gateway': return l.gateway;
      default: return undefined;
    }
  };
  for (const [iface, list] of byIface) {
    list.sort((a, b) => a.rule.spec.order - b.rule.spec.order || a.name.localeCompare(b.name));
    let prev: string | null = null;
    for (const { name, rule: r, body } of list) {
      const l = ownedRules.get(name);
      if (l) out.owned++;
      const fields = diffFields(RULE_FIELDS, l as RuleFields | undefined, body);
      const from = ruleFrom(r.spec.portAlias !== undefined);
      const at = indexOf(name);
      let move = false;
      if (at >= 0) sim[at]!.iface = iface;
      if (prev !== null && (at < 0 || at < indexOf(prev))) {
        move = at >= 0;
        if (at >= 0) sim.splice(at, 1);
        sim.splice(indexOf(prev) + 1, 0, { key: name, iface });
      } else if (at < 0) {
        // First owned rule of the interface: before the interface's first owned rule, else before its first rule.
        const firstOwned = sim.findIndex((e) => e.iface === iface && !e.key.startsWith('#'));
        const first = firstOwned >= 0 ? firstOwned : sim.findIndex((e) => e.iface === iface);
        sim.splice(first >= 0 ? first : sim.length, 0, { key: name, iface });
      }
      if (!l) {
        const wire = withFrom(fields, from);
        out.changes.push(change('FirewallRule', name, 'create', yamlView(r, 'create', wire), 'not on pfSense', { type: 'rule', body, after: prev, iface, move: false, writeFields: true }, { wire }));
      } else if (fields.length > 0 || move) {
        const position = move ? [{ path: 'position', before: `not after ${prev}`, after: `after ${prev}` }] : [];
        const reason = [fields.length > 0 ? 'differs from Git' : '', move ? `out of order on ${iface}` : ''].filter(Boolean).join('; ');
        const wire = withFrom([...fields, ...position], from);
        out.changes.push(change('FirewallRule', name, 'update', yamlView(r, 'update', wire, ruleLiveValue(r, l)), reason, { type: 'rule', body, after: prev, iface, move, writeFields: fields.length > 0 }, { wire }));
      }
      prev = name;
    }
  }
  const desiredRules = new Set(desired.resources.firewallRules.keys());
  for (const [name, l] of ownedRules) {
    if (desiredRules.has(name)) continue;
    out.owned++;
    out.changes.push(change('FirewallRule', name, 'delete', [], 'removed from Git', { type: 'rule', body: l, after: null, iface: l.interface[0] ?? '', move: false, writeFields: false, pruned: true }, {
      wire: [{ path: 'descr', before: l.descr, after: undefined }],
    }));
  }
  // A copy of an owned rule (duplicated in the GUI): not a YAML object, it goes as part of the rule it copies.
  for (const l of extras) {
    const owner = parseMarker(l.descr)!.name;
    out.changes.push(change('FirewallRule', `${owner}#${l.tracker ?? l.id}`, 'delete', [{ path: 'second copy', before: 'on pfSense', after: 'removed' }], 'a second copy of an owned rule', { type: 'rule', body: l, after: null, iface: l.interface[0] ?? '', move: false, writeFields: false }, {
      wire: [{ path: 'descr', before: l.descr, after: undefined }],
      serves: `FirewallRule/${owner}`,
    }));
  }

  // ---- port forwards ----
  const ownedPf = new Map<string, (typeof live.portForwards)[number]>();
  for (const p of live.portForwards) {
    const m = mine(p.descr);
    if (m && !ownedPf.has(m.name)) ownedPf.set(m.name, p);
  }
  for (const [name, pf] of desired.resources.portForwards) {
    const s = pf.spec;
    const iface = ctx.interfaces[s.interface] ?? s.interface;
    const body: PortForwardFields = {
      interface: iface,
      protocol: s.protocol,
      source: endpointToWire(s.source, ctx),
      destination: `${iface}:ip`,
      destination_port: wirePort(s.externalPort),
      target: s.target,
      local_port: wirePort(s.targetPort),
      descr: describe(s.description, ctx.instance, name),
      disabled: false,
    };
    if (body.local_port!.includes(':')) {
      conflict('PortForward', name, `targetPort "${s.targetPort}" is a range; pfSense forwards to one port`);
      continue;
    }
    const l = ownedPf.get(name);
    if (l) out.owned++;
    const wire = withFrom(diffFields(PORT_FORWARD_FIELDS, l as PortForwardFields | undefined, body), PORT_FORWARD_FROM);
    if (!l) out.changes.push(change('PortForward', name, 'create', yamlView(pf, 'create', wire), 'not on pfSense', { type: 'portForward', body }, { wire }));
    else if (wire.length > 0) {
      const liveValue = (path: string): unknown => {
        switch (path) {
          // `destination` is `<interface>:ip`; anything else there is not what the YAML's interface makes.
          case 'spec.interface': return l.destination === `${l.interface}:ip` ? yamlInterface(rb, l.interface) : undefined;
          case 'spec.protocol': return l.protocol;
          case 'spec.source': return yamlEndpoint(rb, l.source);
          case 'spec.externalPort': return l.destination_port === null ? null : yamlPort(l.destination_port, [s.externalPort]);
          case 'spec.target': return l.target;
          case 'spec.targetPort': return l.local_port === null ? null : yamlPort(l.local_port, [s.targetPort]);
          case 'spec.description': return yamlDescription(l.descr);
          default: return undefined;
        }
      };
      out.changes.push(change('PortForward', name, 'update', yamlView(pf, 'update', wire, liveValue), 'differs from Git', { type: 'portForward', body }, { wire }));
    }
  }
  for (const [name, l] of ownedPf) {
    if (desired.resources.portForwards.has(name)) continue;
    out.owned++;
    out.changes.push(change('PortForward', name, 'delete', [], 'removed from Git', { type: 'portForward', body: l, pruned: true }, { wire: [{ path: 'descr', before: l.descr, after: undefined }] }));
  }
}

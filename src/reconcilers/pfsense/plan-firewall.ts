// Pure: diff desired aliases, filter rules (with their order per interface) and port forwards against live pfSense. No I/O.
import type { Endpoint, FirewallRule, ResolvedState } from '../../desired/model.ts';
import { adoptable } from '../../engine/adoption.ts';
import type { Change, ChangeAction, Conflict, FieldChange, Policy } from '../../engine/types.ts';
import {
  describe, type LivePfSense, type LiveRule, parseMarker, pfAliasName, type PfSenseChangeKind, type PfSensePayload,
  PORT_FORWARD_FIELDS, type PortForwardFields, RANK, RULE_FIELDS, type RuleFields,
} from './model.ts';

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

export function change(kind: PfSenseChangeKind, name: string, action: ChangeAction, fields: FieldChange[], reason: string, payload: PfSensePayload): Change {
  // The engine reads prune and adopt as first-class flags (the payload keeps them for apply for now).
  const prune = 'pruned' in payload && payload.pruned === true;
  const adopt = 'adopt' in payload && payload.adopt === true;
  return { system: SYSTEM, kind, name, key: `${kind}/${name}`, action, prune, adopt, fields, reason, rank: RANK[kind], payload: payload as unknown as Readonly<Record<string, unknown>> };
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
}

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
      wanted.push({ name: aliasName, wireName: pfAliasName(aliasName), type: 'port', description: `Ports of rule ${name}`, entries: r.spec.ports!.map(wirePort) });
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
  for (const w of wanted) {
    if (refusedAliases.has(w.name)) continue;
    const body = { name: w.wireName, type: w.type, descr: describe(w.description, ctx.instance, w.name), address: [...w.entries], detail: [] as string[] };
    const l = liveByName.get(w.wireName);
    if (!l) {
      out.changes.push(change('FirewallAlias', w.name, 'create', diffFields(['name', 'type', 'descr', 'address'], undefined, body), 'not on pfSense', { type: 'alias', wireName: w.wireName, body }));
      continue;
    }
    const m = mine(l.descr);
    const owned = m?.name === w.name;
    if (!owned && !adoptable(policy, 'FirewallAlias', w.name)) {
      conflict('FirewallAlias', w.name, `pfSense alias "${w.wireName}" exists and is not managed by infrasec (no ${ctx.instance} marker in its description); add FirewallAlias/${w.name} to policy.adopt to take it over`);
      continue;
    }
    if (owned) out.owned++;
    const fields = diffFields(['type', 'descr', 'address'], l as unknown as typeof body, body, ['address']);
    if (fields.length > 0) {
      out.changes.push(change('FirewallAlias', w.name, 'update', fields, owned ? 'differs from Git' : 'adopted by policy', { type: 'alias', wireName: w.wireName, body, ...(owned ? {} : { adopt: true }) }));
    }
  }
  for (const l of live.aliases) {
    const m = mine(l.descr);
    if (!m || desiredAliasNames.has(m.name)) continue;
    out.owned++;
    out.changes.push(change('FirewallAlias', m.name, 'delete', [{ path: 'name', before: l.name, after: undefined }], 'removed from Git', { type: 'alias', wireName: l.name, body: {}, pruned: true }));
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
  for (const [iface, list] of byIface) {
    list.sort((a, b) => a.rule.spec.order - b.rule.spec.order || a.name.localeCompare(b.name));
    let prev: string | null = null;
    for (const { name, body } of list) {
      const l = ownedRules.get(name);
      if (l) out.owned++;
      const fields = diffFields(RULE_FIELDS, l as RuleFields | undefined, body);
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
        out.changes.push(change('FirewallRule', name, 'create', fields, 'not on pfSense', { type: 'rule', body, after: prev, iface, move: false, writeFields: true }));
      } else if (fields.length > 0 || move) {
        const position = move ? [{ path: 'position', before: `not after ${prev}`, after: `after ${prev}` }] : [];
        const reason = [fields.length > 0 ? 'differs from Git' : '', move ? `out of order on ${iface}` : ''].filter(Boolean).join('; ');
        out.changes.push(change('FirewallRule', name, 'update', [...fields, ...position], reason, { type: 'rule', body, after: prev, iface, move, writeFields: fields.length > 0 }));
      }
      prev = name;
    }
  }
  const desiredRules = new Set(desired.resources.firewallRules.keys());
  for (const [name, l] of ownedRules) {
    if (desiredRules.has(name)) continue;
    out.owned++;
    out.changes.push(change('FirewallRule', name, 'delete', [{ path: 'descr', before: l.descr, after: undefined }], 'removed from Git', { type: 'rule', body: l, after: null, iface: l.interface[0] ?? '', move: false, writeFields: false, pruned: true }));
  }
  for (const l of extras) {
    out.changes.push(change('FirewallRule', `${parseMarker(l.descr)!.name}#${l.tracker ?? l.id}`, 'delete', [{ path: 'descr', before: l.descr, after: undefined }], 'a second copy of an owned rule', { type: 'rule', body: l, after: null, iface: l.interface[0] ?? '', move: false, writeFields: false }));
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
    const fields = diffFields(PORT_FORWARD_FIELDS, l as PortForwardFields | undefined, body);
    if (!l) out.changes.push(change('PortForward', name, 'create', fields, 'not on pfSense', { type: 'portForward', body }));
    else if (fields.length > 0) out.changes.push(change('PortForward', name, 'update', fields, 'differs from Git', { type: 'portForward', body }));
  }
  for (const [name, l] of ownedPf) {
    if (desired.resources.portForwards.has(name)) continue;
    out.owned++;
    out.changes.push(change('PortForward', name, 'delete', [{ path: 'descr', before: l.descr, after: undefined }], 'removed from Git', { type: 'portForward', body: l, pruned: true }));
  }
}

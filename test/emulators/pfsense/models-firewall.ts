// FirewallRule, FirewallAlias, PortForward, gateways and gateway groups (contract sections 4–6).
import { randomBytes } from 'node:crypto';
import { ApiError } from './envelope.js';
import {
  type Field,
  type WriteContext,
  findAlias,
  interfaceFromWire,
  interfaceIds,
  interfaceToWire,
  isCidr,
  isFqdn,
  isIpAddr,
  isPort,
  isPortRange,
  ruleInterfaceNames,
  validateAddress,
  validatePortField,
} from './fields.js';
import type { Model } from './model.js';
import type { EmulatorState, Obj } from './state.js';

export interface FirewallQuirks {
  /** v2.7.1: every PortForward create/update re-sorts the NAT list by interface (dropped on next_minor). */
  portForwardSort: boolean;
  /** Older builds filled missing alias details with "Entry added <date>"; v2.7.1 stores them as sent (errata 1). */
  aliasDetailAutofill: boolean;
  /** Quirk: API rule writes set no dirty flag. Set true to behave like the GUI. */
  rulesSetDirty: boolean;
}

const RESERVED_ALIAS_NAMES = ['any', 'self', 'pppoe', 'l2tp', 'openvpn', 'ssh', 'http', 'https', 'ftp', 'smtp', 'dns', 'ntp', 'telnet', 'pop3', 'imap', 'snmp'];

const tcpUdp = (o: Obj) => o.protocol === 'tcp' || o.protocol === 'udp' || o.protocol === 'tcp/udp';
const floating = (o: Obj) => o.floating === true;

function mapInterfaces(ctx: WriteContext, v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? interfaceFromWire(ctx.state, x) : x));
  return typeof v === 'string' ? interfaceFromWire(ctx.state, v) : v;
}

function gatewayExists(state: EmulatorState, name: string): boolean {
  return state.config.gateways.some((g) => g.name === name) || state.config.gatewayGroups.some((g) => g.name === name);
}

const ruleFields: Field[] = [
  { name: 'type', type: 'string', required: true, choices: ['pass', 'block', 'reject'] },
  {
    name: 'interface', type: 'string[]', required: true,
    validate: (v, _o, ctx) => {
      for (const i of v as string[]) {
        if (!ruleInterfaceNames(ctx.state).includes(i)) {
          throw new ApiError(400, 'FIELD_INVALID_CHOICE', `Field \`interface\` must be an existing interface, received \`${i}\`.`);
        }
      }
    },
  },
  { name: 'ipprotocol', type: 'string', required: true, choices: ['inet', 'inet6', 'inet46'] },
  { name: 'protocol', type: 'string', nullable: true, choices: ['tcp', 'udp', 'tcp/udp', 'icmp', 'esp', 'ah', 'gre', 'ipv6', 'igmp', 'pim', 'ospf', 'carp', 'pfsync'] },
  { name: 'icmptype', type: 'string[]', default: ['any'], condition: (o) => o.protocol === 'icmp' },
  { name: 'source', type: 'string', required: true, validate: (v, _o, ctx) => validateAddress('source', v as string, ctx.state) },
  { name: 'source_port', type: 'string', nullable: true, condition: tcpUdp, validate: (v, _o, ctx) => validatePortField('source_port', v as string, ctx.state) },
  { name: 'destination', type: 'string', required: true, validate: (v, _o, ctx) => validateAddress('destination', v as string, ctx.state) },
  { name: 'destination_port', type: 'string', nullable: true, condition: tcpUdp, validate: (v, _o, ctx) => validatePortField('destination_port', v as string, ctx.state) },
  { name: 'descr', type: 'string', default: '' },
  { name: 'disabled', type: 'bool', default: false },
  { name: 'log', type: 'bool', default: false },
  { name: 'tag', type: 'string', default: '' },
  { name: 'statetype', type: 'string', default: 'keep state', choices: ['keep state', 'sloppy state', 'synproxy state', 'none'] },
  { name: 'tcp_flags_any', type: 'bool', default: false },
  { name: 'tcp_flags_out_of', type: 'string[]', nullable: true, choices: ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'] },
  { name: 'tcp_flags_set', type: 'string[]', nullable: true, choices: ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'] },
  {
    name: 'gateway', type: 'string', nullable: true,
    validate: (v, _o, ctx) => {
      if (!gatewayExists(ctx.state, v as string)) {
        throw new ApiError(404, 'FOREIGN_MODEL_FIELD_VALUE_NOT_FOUND', `Field \`gateway\` could not locate a gateway or gateway group with name \`${String(v)}\`.`);
      }
    },
  },
  { name: 'sched', type: 'string', nullable: true },
  { name: 'dnpipe', type: 'string', nullable: true },
  { name: 'pdnpipe', type: 'string', nullable: true },
  { name: 'defaultqueue', type: 'string', nullable: true },
  { name: 'ackqueue', type: 'string', nullable: true },
  { name: 'floating', type: 'bool', default: false, editable: false },
  { name: 'quick', type: 'bool', default: false, condition: floating },
  { name: 'direction', type: 'string', default: 'any', choices: ['any', 'in', 'out'], condition: floating },
  { name: 'tracker', type: 'int', readOnly: true },
  { name: 'associated_rule_id', type: 'string', readOnly: true, nullable: true },
];

export function ruleModel(quirks: FirewallQuirks): Model {
  return {
    name: 'FirewallRule',
    list: (s) => s.config.rules,
    fields: ruleFields,
    singular: ['GET', 'POST', 'PATCH', 'DELETE'],
    plural: ['GET', 'PUT', 'DELETE'],
    dirty: quirks.rulesSetDirty ? 'filter' : undefined,
    manyMinimum: 1,
    stamps: true,
    fromWire: (body, ctx) => ('interface' in body ? { ...body, interface: mapInterfaces(ctx, body.interface) } : body),
    toWire: (o, state) => ({ ...o, interface: (o.interface as string[]).map((i) => interfaceToWire(state, i)) }),
    validateObject: (o, ctx) => {
      if ((o.interface as string[]).length > 1 && o.floating !== true) {
        throw new ApiError(400, 'FIREWALL_RULE_MULTIPLE_INTERFACE_WITHOUT_FLOATING', 'Field `interface` may only contain multiple values when `floating` is enabled.');
      }
      if (o.statetype === 'synproxy state' && (o.protocol !== 'tcp' || o.gateway)) {
        throw new ApiError(400, 'FIREWALL_RULE_SYNPROXY_STATE_TYPE_WITH_NON_TCP_PROTOCOL', 'Field `statetype` synproxy state requires protocol `tcp` and no gateway.');
      }
      void ctx;
    },
    beforeCreate: (o, ctx) => {
      // pfSense stamps time() in seconds: two rules made in the same second share a tracker.
      o.tracker = ctx.now();
      if (o.associated_rule_id === undefined) o.associated_rule_id = null;
    },
  };
}

// ---- aliases ----

function validateAliasName(name: string, ctx: WriteContext): void {
  if (name.length > 31 || !/^[A-Za-z0-9_]+$/.test(name) || /^\d+$/.test(name) || name.startsWith('pkg_') ||
      RESERVED_ALIAS_NAMES.includes(name.toLowerCase()) || interfaceIds(ctx.state).includes(name.toLowerCase())) {
    throw new ApiError(400, 'INVALID_FIREWALL_ALIAS_NAME', `Field \`name\` must be a valid alias name, received \`${name}\`.`);
  }
}

function validateAliasAddress(o: Obj, ctx: WriteContext): void {
  for (const a of (o.address as string[]) ?? []) {
    const other = findAlias(ctx.state, a);
    const ok =
      o.type === 'host' ? isIpAddr(a) || isFqdn(a) || (!!other && other.type !== 'port' && other.name !== o.name)
      : o.type === 'network' ? isCidr(a) || isFqdn(a) || (!!other && other.type !== 'port' && other.name !== o.name)
      : isPort(a) || isPortRange(a) || (!!other && other.type === 'port' && other.name !== o.name);
    if (!ok) {
      const id = o.type === 'host' ? 'INVALID_HOST_ALIAS_ADDRESS' : o.type === 'network' ? 'INVALID_NETWORK_ALIAS_ADDRESS' : 'INVALID_PORT_ALIAS_ADDRESS';
      throw new ApiError(400, id, `Field \`address\` contains an invalid ${String(o.type)} alias entry \`${a}\`.`);
    }
  }
}

export function aliasModel(quirks: FirewallQuirks): Model {
  return {
    name: 'FirewallAlias',
    list: (s) => s.config.aliases,
    fields: [
      { name: 'name', type: 'string', required: true, unique: true, editable: false, validate: (v, _o, ctx) => validateAliasName(v as string, ctx) },
      { name: 'type', type: 'string', required: true, choices: ['host', 'network', 'port'] },
      { name: 'descr', type: 'string', default: '' },
      { name: 'address', type: 'string[]', default: [] },
      { name: 'detail', type: 'string[]', default: [] },
    ],
    singular: ['GET', 'POST', 'PATCH', 'DELETE'],
    plural: ['GET', 'PUT', 'DELETE'],
    dirty: 'aliases',
    validateObject: (o, ctx) => {
      validateAliasAddress(o, ctx);
      const address = o.address as string[];
      const detail = o.detail as string[];
      if (detail.length > address.length) {
        throw new ApiError(400, 'TOO_MANY_ALIAS_DETAILS', 'Field `detail` cannot contain more items than field `address`.');
      }
      if (quirks.aliasDetailAutofill) {
        const stamp = `Entry added ${new Date(ctx.now() * 1000).toUTCString().replace('GMT', '+0000')}`;
        o.detail = address.map((_, i) => detail[i] ?? stamp);
      }
    },
  };
}

// ---- NAT port forwards ----

function randomLinkId(): string {
  return `nat_${randomBytes(7).toString('hex').slice(0, 13)}`;
}

function associatedRuleFields(pf: Obj): Obj {
  return {
    type: 'pass',
    interface: [pf.interface],
    ipprotocol: pf.ipprotocol,
    protocol: pf.protocol === 'any' ? null : pf.protocol,
    icmptype: null,
    source: pf.source,
    source_port: pf.source_port ?? null,
    destination: pf.target,
    destination_port: pf.local_port ?? null,
    disabled: pf.disabled,
    log: false,
    tag: '',
    statetype: 'keep state',
    tcp_flags_any: false,
    tcp_flags_out_of: null,
    tcp_flags_set: null,
    gateway: null,
    sched: null,
    dnpipe: null,
    pdnpipe: null,
    defaultqueue: null,
    ackqueue: null,
    floating: false,
    quick: null,
    direction: null,
  };
}

export function portForwardModel(quirks: FirewallQuirks): Model {
  return {
    name: 'PortForward',
    list: (s) => s.config.nat,
    fields: [
      {
        name: 'interface', type: 'string', required: true,
        validate: (v, _o, ctx) => {
          if (!ruleInterfaceNames(ctx.state).includes(v as string)) {
            throw new ApiError(400, 'FIELD_INVALID_CHOICE', `Field \`interface\` must be an existing interface, received \`${String(v)}\`.`);
          }
        },
      },
      { name: 'ipprotocol', type: 'string', default: 'inet', choices: ['inet', 'inet6', 'inet46'] },
      { name: 'protocol', type: 'string', required: true, choices: ['any', 'tcp', 'udp', 'tcp/udp', 'icmp', 'esp', 'ah', 'gre', 'ipv6', 'igmp', 'pim', 'ospf'] },
      { name: 'source', type: 'string', required: true, validate: (v, _o, ctx) => validateAddress('source', v as string, ctx.state) },
      { name: 'source_port', type: 'string', nullable: true, condition: tcpUdp, validate: (v, _o, ctx) => validatePortField('source_port', v as string, ctx.state) },
      { name: 'destination', type: 'string', required: true, validate: (v, _o, ctx) => validateAddress('destination', v as string, ctx.state) },
      { name: 'destination_port', type: 'string', nullable: true, condition: tcpUdp, validate: (v, _o, ctx) => validatePortField('destination_port', v as string, ctx.state) },
      {
        name: 'target', type: 'string', required: true,
        validate: (v, _o, ctx) => {
          const s = v as string;
          const a = findAlias(ctx.state, s);
          const ifaces = ruleInterfaceNames(ctx.state);
          if (!(isIpAddr(s) || (a && a.type === 'host') || (s.endsWith(':ip') && ifaces.includes(s.slice(0, -3))))) {
            throw new ApiError(400, 'PORT_FORWARD_TARGET_INVALID', `Field \`target\` must be an IP address, host alias or interface address, received \`${s}\`.`);
          }
        },
      },
      { name: 'local_port', type: 'string', nullable: true, required: tcpUdp, condition: tcpUdp, validate: (v, _o, ctx) => validatePortField('local_port', v as string, ctx.state, false) },
      { name: 'disabled', type: 'bool', default: false },
      { name: 'nordr', type: 'bool', default: false },
      { name: 'nosync', type: 'bool', default: false },
      { name: 'descr', type: 'string', default: '' },
      { name: 'natreflection', type: 'string', nullable: true, choices: ['enable', 'disable', 'purenat'] },
      { name: 'associated_rule_id', type: 'string', default: '', editable: false },
    ],
    singular: ['GET', 'POST', 'PATCH', 'DELETE'],
    plural: ['GET', 'PUT', 'DELETE'],
    dirty: 'natconf',
    stamps: true,
    fromWire: (body, ctx) => ('interface' in body ? { ...body, interface: mapInterfaces(ctx, body.interface) } : body),
    toWire: (o, state) => ({ ...o, interface: interfaceToWire(state, o.interface as string) }),
    afterCreate: (o, ctx) => {
      if (o.associated_rule_id !== 'new') return;
      // The server makes a real pass rule at the end of the filter list, linked by a generated id (errata 3).
      const link = randomLinkId();
      o.associated_rule_id = link;
      const now = ctx.now();
      ctx.state.config.rules.push({
        ...associatedRuleFields(o),
        descr: `Associated rule for port forward rule ${link}`,
        tracker: now,
        associated_rule_id: link,
        created_time: now,
        updated_time: now,
        created_by: `@${ctx.clientIp} (API)`,
        updated_by: `${ctx.user}@${ctx.clientIp} (API)`,
      });
    },
    afterUpdate: (o, _prev, ctx) => {
      const link = o.associated_rule_id as string;
      if (!link || link === 'pass') return;
      const rule = ctx.state.config.rules.find((r) => r.associated_rule_id === link);
      if (rule) Object.assign(rule, associatedRuleFields(o), { descr: rule.descr, updated_time: ctx.now() });
    },
    afterDelete: (o, ctx) => {
      const link = o.associated_rule_id as string;
      if (!link || link === 'pass') return;
      const i = ctx.state.config.rules.findIndex((r) => r.associated_rule_id === link);
      if (i >= 0) ctx.state.config.rules.splice(i, 1);
    },
    sortAfterWrite: quirks.portForwardSort
      ? (list) => {
          const sorted = [...list].sort((a, b) => String(a.interface).localeCompare(String(b.interface)));
          list.splice(0, list.length, ...sorted);
        }
      : undefined,
  };
}

// ---- gateways ----

export const gatewayModel: Model = {
  name: 'RoutingGateway',
  list: (s) => s.config.gateways,
  fields: [
    { name: 'name', type: 'string', required: true, unique: true, validate: (v) => {
      if (!/^[A-Za-z0-9_]{1,31}$/.test(v as string)) throw new ApiError(400, 'ROUTING_GATEWAY_NAME_INVALID', `Field \`name\` is not a valid gateway name.`);
    } },
    { name: 'interface', type: 'string', required: true },
    { name: 'ipprotocol', type: 'string', default: 'inet', choices: ['inet', 'inet6'] },
    { name: 'gateway', type: 'string', required: true },
    { name: 'monitor', type: 'string', default: '' },
    { name: 'disabled', type: 'bool', default: false },
    { name: 'weight', type: 'int', default: 1 },
    { name: 'descr', type: 'string', default: '' },
  ],
  singular: ['GET', 'POST', 'PATCH', 'DELETE'],
  plural: ['GET'],
  fromWire: (body, ctx) => ('interface' in body ? { ...body, interface: mapInterfaces(ctx, body.interface) } : body),
  toWire: (o, state) => ({ ...o, interface: interfaceToWire(state, o.interface as string) }),
  beforeDelete: (o, ctx) => {
    const inUse = ctx.state.config.rules.filter((r) => r.gateway === o.name);
    if (inUse.length > 0) {
      throw new ApiError(409, 'MODEL_CANNOT_BE_DELETED_WHILE_REFERENCED', `Object is in use by ${inUse.length} firewall rule(s).`);
    }
  },
};

export const gatewayGroupModel: Model = {
  name: 'RoutingGatewayGroup',
  list: (s) => s.config.gatewayGroups,
  fields: [
    { name: 'name', type: 'string', required: true, unique: true },
    {
      name: 'priorities', type: 'object[]', required: true,
      validate: (v, _o, ctx) => {
        for (const p of v as Obj[]) {
          if (!ctx.state.config.gateways.some((g) => g.name === p.gateway)) {
            throw new ApiError(404, 'FOREIGN_MODEL_FIELD_VALUE_NOT_FOUND', `Field \`gateway\` could not locate gateway \`${String(p.gateway)}\`.`);
          }
        }
      },
    },
    { name: 'trigger', type: 'string', default: 'down', choices: ['down', 'downloss', 'downlatency', 'downlosslatency'] },
    { name: 'descr', type: 'string', default: '' },
  ],
  singular: ['GET', 'POST', 'PATCH', 'DELETE'],
  plural: ['GET'],
};

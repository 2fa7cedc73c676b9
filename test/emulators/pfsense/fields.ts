// Field declarations and pfRest's validation walk: declared order, first error wins, unmet conditions become null.
import { isIP } from 'node:net';
import { ApiError, invalidChoice, invalidType, required } from './envelope.js';
import type { EmulatorState, Obj } from './state.js';

export interface WriteContext {
  state: EmulatorState;
  /** Unix seconds. */
  now(): number;
  user: string;
  clientIp: string;
}

export type FieldType = 'string' | 'bool' | 'int' | 'string[]' | 'int|string' | 'object[]';

export interface Field {
  name: string;
  type: FieldType;
  required?: boolean | ((o: Obj) => boolean);
  default?: unknown;
  nullable?: boolean;
  choices?: readonly string[];
  /** Computed by the server; ignored on input. */
  readOnly?: boolean;
  /** false: may be set at creation only. */
  editable?: boolean;
  /** Left out of responses unless sensitive fields are exposed. */
  sensitive?: boolean;
  unique?: boolean;
  maxLength?: number;
  /** When false the field is skipped and stored as null. */
  condition?: (o: Obj) => boolean;
  validate?: (value: unknown, o: Obj, ctx: WriteContext, self: Obj | undefined) => void;
}

function defaultOf(f: Field): unknown {
  return structuredClone(f.default === undefined ? (f.nullable ? null : undefined) : f.default);
}

function checkType(f: Field, v: unknown): void {
  const ok =
    f.type === 'string' ? typeof v === 'string'
    : f.type === 'bool' ? typeof v === 'boolean'
    : f.type === 'int' ? Number.isInteger(v)
    : f.type === 'int|string' ? Number.isInteger(v) || typeof v === 'string'
    : f.type === 'string[]' ? Array.isArray(v) && v.every((x) => typeof x === 'string')
    : Array.isArray(v) && v.every((x) => typeof x === 'object' && x !== null);
  if (!ok) throw invalidType(f.name, f.type === 'string[]' ? 'string' : f.type === 'object[]' ? 'array' : f.type === 'bool' ? 'boolean' : f.type === 'int' ? 'integer' : f.type);
}

/**
 * Builds the stored object from `input` (create: over defaults; update: over `existing`), validating each declared
 * field in order. `list` and `selfIndex` serve uniqueness checks.
 */
export function validateFields(
  fields: readonly Field[],
  input: Obj,
  ctx: WriteContext,
  list: readonly Obj[],
  existing?: Obj,
  arrayMode: 'replace' | 'append' | 'remove' = 'replace',
): Obj {
  const candidate: Obj = existing ? { ...existing } : {};
  for (const f of fields) {
    if (f.readOnly) continue;
    if (Object.prototype.hasOwnProperty.call(input, f.name)) {
      let v = input[f.name];
      if (existing && Array.isArray(v) && Array.isArray(existing[f.name]) && arrayMode !== 'replace') {
        const old = existing[f.name] as unknown[];
        v = arrayMode === 'append' ? [...old, ...v] : old.filter((x) => !(v as unknown[]).some((y) => JSON.stringify(y) === JSON.stringify(x)));
      }
      candidate[f.name] = v;
    } else if (!existing) {
      candidate[f.name] = defaultOf(f);
    }
  }
  for (const f of fields) {
    if (f.readOnly) continue;
    if (f.condition && !f.condition(candidate)) {
      candidate[f.name] = null;
      continue;
    }
    const v = candidate[f.name];
    const isRequired = typeof f.required === 'function' ? f.required(candidate) : f.required;
    if (v === undefined || (v === null && !f.nullable)) {
      if (isRequired) throw required(f.name);
      candidate[f.name] = f.nullable ? null : defaultOf(f);
      if (candidate[f.name] === undefined) continue;
      if (candidate[f.name] === null) continue;
    }
    if (candidate[f.name] === null && f.nullable) continue;
    const value = candidate[f.name];
    checkType(f, value);
    if (existing && f.editable === false && JSON.stringify(existing[f.name]) !== JSON.stringify(value)) {
      throw new ApiError(400, 'FIELD_VALUE_CHANGED_WHEN_NOT_EDITABLE', `Field \`${f.name}\` cannot be changed after creation.`);
    }
    if (isRequired && (value === '' || (Array.isArray(value) && value.length === 0)) && f.type !== 'bool') {
      throw new ApiError(400, 'FIELD_EMPTY_NOT_ALLOWED', `Field \`${f.name}\` cannot be empty.`);
    }
    if (f.choices) {
      const values = Array.isArray(value) ? value : [value];
      for (const x of values) if (!f.choices.includes(String(x))) throw invalidChoice(f.name, x, f.choices);
    }
    if (f.maxLength !== undefined && typeof value === 'string' && value.length > f.maxLength) {
      throw new ApiError(400, 'LENGTH_VALIDATOR_MAXIMUM_CONSTRAINT', `Field \`${f.name}\` exceeds the maximum length of ${f.maxLength}.`);
    }
    if (f.unique && list.some((o) => o !== existing && o[f.name] === value)) {
      throw new ApiError(400, 'FIELD_MUST_BE_UNIQUE', `Field \`${f.name}\` must be unique. Value \`${String(value)}\` is already in use.`);
    }
    f.validate?.(value, candidate, ctx, existing);
  }
  return candidate;
}

// ---- value validators shared by the firewall models ----

export const isIpv4 = (v: string): boolean => isIP(v) === 4;
export const isIpAddr = (v: string): boolean => isIP(v) !== 0;

export function isCidr(v: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(v);
  if (!m) return false;
  const fam = isIP(m[1]!);
  const len = Number(m[2]);
  return (fam === 4 && len <= 32) || (fam === 6 && len <= 128);
}

export function isFqdn(v: string): boolean {
  return v.length <= 253 && /^(?=.*[A-Za-z])[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(v);
}

export function isPort(v: string): boolean {
  if (!/^\d{1,5}$/.test(v)) return false;
  const n = Number(v);
  return n >= 1 && n <= 65535;
}

export function isPortRange(v: string): boolean {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(v);
  return !!m && isPort(m[1]!) && isPort(m[2]!) && Number(m[1]) <= Number(m[2]);
}

export function findAlias(state: EmulatorState, name: string): Obj | undefined {
  return state.config.aliases.find((a) => a.name === name);
}

export function interfaceIds(state: EmulatorState): string[] {
  return state.interfaces.map((i) => i.id);
}

/** Interface names a rule may name: assigned interfaces plus the groups pfSense always has. */
export function ruleInterfaceNames(state: EmulatorState): string[] {
  return [...interfaceIds(state), 'openvpn', 'enc0'];
}

/** Rule/NAT address syntax (contract section 4): any, IP, CIDR, alias, interface (subnet), iface:ip, (self), l2tp, pppoe; leading ! negates. */
export function validateAddress(field: string, value: string, state: EmulatorState): void {
  const invert = value.startsWith('!');
  const v = invert ? value.slice(1) : value;
  if (invert && v === 'any') {
    throw new ApiError(400, 'FILTER_RULE_ADDRESS_FIELD_WITH_INVERT_ANY', `Field \`${field}\` cannot invert \`any\`.`);
  }
  const ifaces = ruleInterfaceNames(state);
  const ok =
    v === 'any' || v === '(self)' || v === 'l2tp' || v === 'pppoe' || isIpAddr(v) || isCidr(v) ||
    ifaces.includes(v) || (v.endsWith(':ip') && ifaces.includes(v.slice(0, -3))) ||
    (() => {
      const a = findAlias(state, v);
      return !!a && a.type !== 'port';
    })();
  if (!ok) {
    throw new ApiError(400, 'FILTER_ADDRESS_FIELD_INVALID', `Field \`${field}\` must be a valid IP, subnet, alias or interface, received \`${value}\`.`);
  }
}

export function validatePortField(field: string, value: string, state: EmulatorState, allowRange = true): void {
  const a = findAlias(state, value);
  if (isPort(value) || (allowRange && isPortRange(value)) || (a && a.type === 'port')) return;
  throw new ApiError(400, 'PORT_FIELD_INVALID', `Field \`${field}\` must be a valid port, port range or port alias, received \`${value}\`.`);
}

/** An all-interfaces-of-a-representation mapper, per `represent_interfaces_as`. */
export function interfaceToWire(state: EmulatorState, id: string): string {
  const i = state.interfaces.find((x) => x.id === id);
  if (!i) return id;
  const mode = state.settings.represent_interfaces_as;
  return mode === 'descr' ? i.descr : mode === 'if' ? i.if : i.id;
}

export function interfaceFromWire(state: EmulatorState, value: string): string {
  const mode = state.settings.represent_interfaces_as;
  const i = state.interfaces.find((x) => (mode === 'descr' ? x.descr : mode === 'if' ? x.if : x.id) === value);
  return i ? i.id : value;
}

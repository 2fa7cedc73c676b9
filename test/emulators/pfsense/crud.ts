// Generic pfRest CRUD over a model's list: singular/plural endpoints, placement, filters, sorting, replace-all.
import { ApiError, notFound } from './envelope.js';
import { type WriteContext, validateFields } from './fields.js';
import type { Model } from './model.js';
import { cloneFirewall, type EmulatorState, type Obj } from './state.js';

export const CONTROL_PARAMS = new Set([
  'id', 'parent_id', 'apply', 'async', 'placement', 'append', 'remove', 'sort_by', 'sort_order', 'sort_flags', 'reverse',
  'limit', 'offset', 'all',
]);

const SENSITIVE_KEYS = new Set(['prv', 'password', 'tls', 'hash', 'pass', 'proxypass', 'ldap_bindpw', 'ipsecpsk']);

export interface CrudContext extends WriteContext {
  /** Child models (CRL revoked certificates): the parent object. */
  parent?: Obj;
}

/** The object as the API returns it: `id` first, sensitive fields left out. Child objects carry `parent_id`. */
export function present(model: Model, o: Obj, id: number, state: EmulatorState, parentId?: number): Obj {
  const wire = model.toWire ? model.toWire(o, state) : { ...o };
  const out: Obj = parentId === undefined ? { id } : { id, parent_id: parentId };
  const expose = state.settings.expose_sensitive_fields;
  for (const [k, v] of Object.entries(wire)) {
    if (!expose && SENSITIVE_KEYS.has(k) && !state.settings.override_sensitive_fields.includes(`${model.name}:${k}`)) continue;
    out[k] = v;
  }
  return out;
}

/** `present` with the parent's id for child models. */
function shown(model: Model, o: Obj, id: number, ctx: CrudContext): Obj {
  const parentId = ctx.parent && model.parentModel ? model.parentModel.list(ctx.state).indexOf(ctx.parent) : undefined;
  return present(model, o, id, ctx.state, parentId);
}

function fieldsOf(params: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(params)) if (!CONTROL_PARAMS.has(k)) out[k] = v;
  return out;
}

function requireId(params: Obj, name = 'id'): number {
  const raw = params[name];
  if (raw === undefined || raw === null || raw === '') {
    throw new ApiError(400, name === 'id' ? 'MODEL_REQUIRES_ID' : 'MODEL_REQUIRES_PARENT_ID', `Field \`${name}\` is required.`);
  }
  if (!Number.isInteger(raw)) throw new ApiError(400, 'FIELD_INVALID_TYPE', `Field \`${name}\` must be of type \`integer\`.`);
  return raw as number;
}

function stamp(o: Obj, ctx: WriteContext, creating: boolean): void {
  const now = ctx.now();
  if (creating) {
    o.created_time = now;
    // created_by is computed before authentication, so it carries no user (errata 16).
    o.created_by = `@${ctx.clientIp} (API)`;
  }
  o.updated_time = now;
  o.updated_by = `${ctx.user}@${ctx.clientIp} (API)`;
}

function markDirty(model: Model, ctx: WriteContext, params: Obj): void {
  if (params.apply === true) {
    // apply=true reloads the filter and clears this model's own pending flag (errata 13).
    ctx.state.running = cloneFirewall(ctx.state.config);
    if (model.dirty) ctx.state.pending.delete(model.dirty);
    return;
  }
  if (model.dirty) ctx.state.pending.add(model.dirty);
}

function checkPlacement(params: Obj, maxIndex: number): number | undefined {
  const p = params.placement;
  if (p === undefined || p === null) return undefined;
  if (!Number.isInteger(p) || (p as number) < 0) {
    throw new ApiError(400, 'FIELD_INVALID_TYPE', 'Field `placement` must be of type `integer` and at least 0.');
  }
  if ((p as number) > maxIndex) {
    throw new ApiError(500, 'MODEL_FAILED_TO_SET_PLACEMENT', `Failed to set object placement to \`${String(p)}\`.`);
  }
  return p as number;
}

function move(list: Obj[], o: Obj, to: number): void {
  const from = list.indexOf(o);
  list.splice(from, 1);
  list.splice(to, 0, o);
}

function sortList(model: Model, items: Obj[], params: Obj): Obj[] {
  const by = params.sort_by;
  if (by === undefined || by === null || by === '') return items;
  const keys = Array.isArray(by) ? (by as string[]) : [String(by)];
  for (const k of keys) {
    if (!model.fields.some((f) => f.name === k)) {
      throw new ApiError(400, 'ENDPOINT_SORT_BY_FIELD_NON_EXISTENT_FIELD', `The \`sort_by\` field \`${k}\` does not exist.`);
    }
  }
  const desc = params.sort_order === 'SORT_DESC';
  const sorted = [...items].sort((a, b) => {
    for (const k of keys) {
      const c = String(a[k] ?? '').localeCompare(String(b[k] ?? ''), undefined, { numeric: true });
      if (c !== 0) return desc ? -c : c;
    }
    return 0;
  });
  return params.reverse === true ? sorted.reverse() : sorted;
}

const FILTER_OPS = ['exact', 'startswith', 'endswith', 'contains', 'in', 'lt', 'lte', 'gt', 'gte', 'format', 'regex'];

function matchesFilter(value: unknown, op: string, wanted: unknown): boolean {
  const s = String(wanted);
  switch (op) {
    case 'exact':
      // An exact filter never matches an array field (errata 8).
      return !Array.isArray(value) && value !== null && value !== undefined && String(value) === s;
    case 'startswith':
      return typeof value === 'string' && value.startsWith(s);
    case 'endswith':
      return typeof value === 'string' && value.endsWith(s);
    case 'contains':
      return Array.isArray(value) ? value.map(String).includes(s) : typeof value === 'string' && value.includes(s);
    case 'in':
      return (Array.isArray(wanted) ? wanted.map(String) : s.split(',')).includes(String(value));
    case 'lt':
      return Number(value) < Number(wanted);
    case 'lte':
      return Number(value) <= Number(wanted);
    case 'gt':
      return Number(value) > Number(wanted);
    case 'gte':
      return Number(value) >= Number(wanted);
    case 'regex':
      try {
        return new RegExp(s).test(String(value ?? ''));
      } catch {
        return false;
      }
    case 'format':
      return s === 'numeric' ? /^\d+$/.test(String(value)) : true;
    default:
      return false;
  }
}

/** Plural filters; unknown field names are ignored, an unknown `__suffix` is a 404 (errata 8). */
function parseFilters(model: Model, params: Obj): { field: string; op: string; value: unknown }[] {
  const out: { field: string; op: string; value: unknown }[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (CONTROL_PARAMS.has(k) && k !== 'id') continue;
    const idx = k.lastIndexOf('__');
    const field = idx > 0 ? k.slice(0, idx) : k;
    const op = idx > 0 ? k.slice(idx + 2) : 'exact';
    if (idx > 0 && !FILTER_OPS.includes(op)) {
      throw new ApiError(404, 'QUERY_FILTER_NOT_FOUND', `No query filter named \`${op}\` exists.`);
    }
    if (field !== 'id' && field !== 'parent_id' && !model.fields.some((f) => f.name === field)) continue;
    out.push({ field, op, value: v });
  }
  return out;
}

function listOf(model: Model, state: EmulatorState, parent?: Obj): Obj[] {
  return parent ? ((parent[model.childKey ?? ''] as Obj[] | undefined) ?? []) : model.list(state);
}

export async function readOne(model: Model, params: Obj, ctx: CrudContext): Promise<Obj> {
  const id = requireId(params);
  const list = listOf(model, ctx.state, ctx.parent);
  const o = list[id];
  if (!o) throw notFound(id);
  return shown(model, o, id, ctx);
}

export async function readMany(model: Model, params: Obj, ctx: CrudContext): Promise<Obj[]> {
  const list = listOf(model, ctx.state, ctx.parent);
  const filters = parseFilters(model, params);
  let items = list.map((o, i) => shown(model, o, i, ctx));
  items = items.filter((o) => filters.every((f) => matchesFilter(o[f.field], f.op, f.value)));
  items = sortList(model, items, params);
  const limit = params.limit ?? 0;
  const offset = params.offset ?? 0;
  if (!Number.isInteger(limit)) throw new ApiError(400, 'ENDPOINT_LIMIT_FIELD_INVALID_TYPE', 'Field `limit` must be of type `integer`.');
  if (!Number.isInteger(offset)) throw new ApiError(400, 'ENDPOINT_OFFSET_FIELD_INVALID_TYPE', 'Field `offset` must be of type `integer`.');
  items = items.slice(offset as number);
  return (limit as number) > 0 ? items.slice(0, limit as number) : items;
}

export async function createOne(model: Model, params: Obj, ctx: CrudContext): Promise<Obj> {
  const list = listOf(model, ctx.state, ctx.parent);
  let body = fieldsOf(params);
  if (model.fromWire) body = model.fromWire(body, ctx);
  const placement = checkPlacement(params, list.length);
  const o = validateFields(model.fields, body, ctx, list);
  await model.validateObject?.(o, ctx, undefined);
  await model.beforeCreate?.(o, ctx, body);
  if (model.stamps) stamp(o, ctx, true);
  list.push(o);
  if (placement !== undefined) move(list, o, placement);
  await model.afterCreate?.(o, ctx, body);
  model.sortAfterWrite?.(list, ctx);
  if (params.sort_by) list.splice(0, list.length, ...sortList(model, [...list], params));
  markDirty(model, ctx, params);
  return shown(model, o, list.indexOf(o), ctx);
}

export async function updateOne(model: Model, params: Obj, ctx: CrudContext): Promise<Obj> {
  const id = requireId(params);
  const list = listOf(model, ctx.state, ctx.parent);
  const existing = list[id];
  if (!existing) throw notFound(id);
  let body = fieldsOf(params);
  if (model.fromWire) body = model.fromWire(body, ctx);
  const placement = checkPlacement(params, list.length - 1);
  const mode = params.append === true ? 'append' : params.remove === true ? 'remove' : 'replace';
  const next = validateFields(model.fields, body, ctx, list, existing, mode);
  await model.validateObject?.(next, ctx, existing);
  const previous = { ...existing };
  for (const k of Object.keys(existing)) if (!(k in next)) delete existing[k];
  Object.assign(existing, next);
  if (model.stamps) stamp(existing, ctx, false);
  if (placement !== undefined) move(list, existing, placement);
  await model.afterUpdate?.(existing, previous, ctx);
  model.sortAfterWrite?.(list, ctx);
  if (params.sort_by) list.splice(0, list.length, ...sortList(model, [...list], params));
  markDirty(model, ctx, params);
  return shown(model, existing, list.indexOf(existing), ctx);
}

export async function deleteOne(model: Model, params: Obj, ctx: CrudContext): Promise<Obj> {
  const id = requireId(params);
  const list = listOf(model, ctx.state, ctx.parent);
  const o = list[id];
  if (!o) throw notFound(id);
  if (model.manyMinimum !== undefined && list.length <= model.manyMinimum) {
    throw new ApiError(403, 'MODEL_MANY_MINIMUM_REACHED', `At least ${model.manyMinimum} object(s) must remain.`);
  }
  model.beforeDelete?.(o, ctx);
  const deleted = shown(model, o, id, ctx);
  list.splice(id, 1);
  await model.afterDelete?.(o, ctx);
  markDirty(model, ctx, params);
  return deleted;
}

export async function deleteMany(model: Model, params: Obj, ctx: CrudContext): Promise<Obj[]> {
  const queryKeys = Object.keys(params).filter((k) => !['apply', 'async'].includes(k));
  if (queryKeys.length === 0) {
    throw new ApiError(400, 'MODEL_DELETE_MANY_REQUIRES_QUERY_PARAMS', 'At least one query parameter is required to delete many objects.');
  }
  const all = params.all === true;
  const matches = all ? listOf(model, ctx.state, ctx.parent).map((o, i) => shown(model, o, i, ctx)) : await readMany(model, params, ctx);
  const deleted: Obj[] = [];
  // Highest id first, so the ids still to delete do not shift.
  for (const m of [...matches].sort((a, b) => (b.id as number) - (a.id as number))) {
    deleted.push(await deleteOne(model, { id: m.id, apply: params.apply }, ctx));
  }
  return deleted;
}

export async function replaceAll(model: Model, body: unknown, params: Obj, ctx: CrudContext): Promise<Obj[]> {
  if (!Array.isArray(body)) {
    throw new ApiError(400, 'ENDPOINT_REQUEST_DATA_MUST_BE_INDEXED_ARRAY', 'The request data must be an indexed array.');
  }
  const fresh: Obj[] = [];
  for (const item of body as unknown[]) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new ApiError(400, 'ENDPOINT_REQUEST_DATA_MUST_BE_INDEXED_ARRAY', 'Each item must be an object.');
    }
    if (model.name === 'FirewallRule' && (item as Obj).associated_rule_id) {
      // pfrest #909: NAT-associated rules cannot be carried through a replace-all.
      throw new ApiError(400, 'FIELD_VALUE_CHANGED_WHEN_NOT_EDITABLE', 'Field `associated_rule_id` cannot be set.');
    }
    let fields = fieldsOf(item as Obj);
    if (model.fromWire) fields = model.fromWire(fields, ctx);
    const o = validateFields(model.fields, fields, ctx, fresh);
    await model.validateObject?.(o, ctx, undefined);
    await model.beforeCreate?.(o, ctx, fields);
    if (model.stamps) stamp(o, ctx, true);
    fresh.push(o);
  }
  const list = listOf(model, ctx.state, ctx.parent);
  const old = list.splice(0, list.length, ...fresh);
  for (const o of old) await model.afterDelete?.(o, ctx);
  for (const o of fresh) await model.afterCreate?.(o, ctx, o);
  model.sortAfterWrite?.(list, ctx);
  // apply has no effect on a replace-all: the caller must POST /firewall/apply.
  if (model.dirty) ctx.state.pending.add(model.dirty);
  void params;
  return list.map((o, i) => shown(model, o, i, ctx));
}

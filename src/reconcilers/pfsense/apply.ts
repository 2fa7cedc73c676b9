// Turns a guarded plan into pfRest writes: one at a time, fresh ids looked up by marker before each, each read back;
// one /firewall/apply after the firewall writes.
import type { Logger } from 'pino';
import { ApplyHalt } from '../../engine/apply-halt.ts';
import { ApplyError, InfrasecError, TargetUnavailableError } from '../../errors.ts';
import type { Applied, ApplyHooks, Change, GuardedPlan } from '../../engine/types.ts';
import { PfSenseApiError, type PfSenseClient } from './client.ts';
import { marker, OVERRIDE_FIELDS, type OverrideFields, parseMarker, type PfSensePayload, PORT_FORWARD_FIELDS, type PortForwardFields, RULE_FIELDS, type RuleFields } from './model.ts';
import { toLiveOverride, toLivePortForward, toLiveRule } from './observe.ts';

type Wire = Record<string, unknown>;

export interface ApplyContext {
  readonly client: PfSenseClient;
  readonly instance: string;
  readonly certificateKey: 'ECDSA' | 'RSA';
  readonly logger?: Logger;
  /** Durable "apply owed" marker and the pending flags seen after the last apply. */
  readonly markApplyOwed: () => Promise<void>;
  readonly appliedFilter: (stalePending: readonly string[]) => Promise<void>;
}

const FIREWALL_KINDS = new Set(['FirewallAlias', 'FirewallRule', 'PortForward', 'FirewallApply']);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Counts the writes of one change. */
class Writer {
  writes = 0;
  constructor(private readonly ctx: ApplyContext, private readonly signal: AbortSignal) {}
  get<T>(path: string, query?: Record<string, string | number>): Promise<T> {
    return this.ctx.client.get<T>(path, query, this.signal);
  }
  async write<T>(method: 'POST' | 'PATCH' | 'DELETE', path: string, body: Record<string, unknown>): Promise<T> {
    this.writes++;
    return this.ctx.client.write<T>(method, path, body, this.signal);
  }
}

function fail(message: string, c: Change): never {
  throw new ApplyError(`${c.kind}/${c.name}: ${message}`, { kind: c.kind, name: c.name });
}

function mismatch<T extends object>(keys: readonly (keyof T & string)[], live: T, want: T, sets: readonly string[] = []): string[] {
  return keys.filter((k) => {
    const a = live[k];
    const b = want[k];
    return sets.includes(k) && Array.isArray(a) && Array.isArray(b) ? !same([...a].sort(), [...b].sort()) : !same(a, b);
  });
}

/**
 * One object by id, if it still carries `name`'s marker; undefined when the id now holds something else or nothing.
 * A singular read costs pfRest one object; a filtered plural read builds every object of the list first (on the
 * emulator, 0.6 ms against 7 ms with 500 rules). Where an id is already known, this is how it is checked.
 */
async function byIdIfMarked(w: Writer, path: string, id: number, field: string, name: string, instance: string): Promise<Wire | undefined> {
  let row: Wire;
  try {
    row = await w.get<Wire>(path, { id });
  } catch (err) {
    if (err instanceof PfSenseApiError && err.status === 404) return undefined;
    throw err;
  }
  const m = parseMarker(String(row[field] ?? ''));
  return m?.instance === instance && m.name === name ? row : undefined;
}

/**
 * Where this apply last saw owned rules, by marker name. pfRest ids are list positions, so every insert before a
 * rule shifts it; the map follows this apply's own inserts, and an id from it is only used once a singular read has
 * found the rule's marker there (anything else shifted it: the full read by marker is made instead).
 */
class RuleIds {
  readonly #ids = new Map<string, number>();
  get(name: string): number | undefined {
    return this.#ids.get(name);
  }
  set(name: string, id: number): void {
    this.#ids.set(name, id);
  }
  /** A rule was inserted at `at`: the ones from there on moved down one. */
  inserted(at: number): void {
    for (const [k, v] of this.#ids) if (v >= at) this.#ids.set(k, v + 1);
  }
  forget(): void {
    this.#ids.clear();
  }
}

/** The owned object carrying `name`'s marker, by a filtered plural read (its id is only good until the next write). */
async function findByMarker(w: Writer, path: string, field: string, name: string, instance: string): Promise<Wire[]> {
  const tag = marker(instance, name);
  const rows = await w.get<Wire[]>(path, { [`${field}__endswith`]: tag });
  return rows.filter((r) => parseMarker(String(r[field] ?? ''))?.name === name && parseMarker(String(r[field] ?? ''))?.instance === instance);
}

async function applyAlias(c: Change, p: Extract<PfSensePayload, { type: 'alias' }>, w: Writer, ctx: ApplyContext): Promise<void> {
  if (c.action === 'create') {
    // No id is needed to create, and pfSense refuses a second alias of the same name: no read first.
    const body = p.body as Record<string, unknown>;
    const made = await w.write<Wire>('POST', 'firewall/alias', body);
    let back = await byIdIfMarked(w, 'firewall/alias', made.id as number, 'descr', c.name, ctx.instance);
    // The echoed id may already be another alias's (a foreign delete): look it up by its unique name.
    back ??= (await w.get<Wire[]>('firewall/aliases', { name: p.wireName }))[0];
    if (!back) fail('not found when read back', c);
    const bad = mismatch(['name', 'type', 'descr', 'address'], back as Record<string, unknown>, body, ['address']);
    if (bad.length > 0) fail(`read back differs in ${bad.join(', ')}`, c);
    return;
  }
  const rows = await w.get<Wire[]>('firewall/aliases', { name: p.wireName });
  const live = rows[0];
  if (c.action === 'delete') {
    if (!live) return;
    if (parseMarker(String(live.descr))?.instance !== ctx.instance) fail(`alias ${p.wireName} is no longer infrasec's; not deleted`, c);
    const gone = await w.write<Wire>('DELETE', 'firewall/alias', { id: live.id as number });
    if (gone.name !== p.wireName) fail(`pfSense deleted alias ${String(gone.name)} instead of ${p.wireName}`, c);
    if ((await w.get<Wire[]>('firewall/aliases', { name: p.wireName })).length > 0) fail('still present after delete', c);
    return;
  }
  const body = p.body as Record<string, unknown>;
  let id: number;
  if (!live) {
    id = (await w.write<Wire>('POST', 'firewall/alias', body)).id as number;
  } else {
    const m = parseMarker(String(live.descr));
    if (!p.adopt && (m?.instance !== ctx.instance || m?.name !== c.name)) fail(`alias ${p.wireName} is not infrasec's`, c);
    const { name: _n, ...fields } = body;
    id = (await w.write<Wire>('PATCH', 'firewall/alias', { id: live.id as number, ...fields })).id as number;
  }
  const back = await w.get<Wire>('firewall/alias', { id });
  const bad = mismatch(['name', 'type', 'descr', 'address'], back as Record<string, unknown>, body, ['address']);
  if (bad.length > 0) fail(`read back differs in ${bad.join(', ')}`, c);
}

/** The index a PATCH `placement` must name so that the rule at `from` ends right after the rule at `prev`. */
export function placementAfter(from: number, prev: number): number {
  return from < prev ? prev : prev + 1;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** The rules carrying the markers of `names`, in one read: ids from one snapshot only, and only the rows needed. */
async function ownedRules(w: Writer, instance: string, names: readonly string[]): Promise<Map<string, Wire[]>> {
  const pattern = `\\[infrasec:${escapeRegex(instance)}:(${names.map(escapeRegex).join('|')})\\]$`;
  const rows = await w.get<Wire[]>('firewall/rules', { descr__regex: pattern });
  const out = new Map<string, Wire[]>();
  for (const r of rows) {
    const m = parseMarker(String(r.descr ?? ''));
    if (m?.instance === instance) out.set(m.name, [...(out.get(m.name) ?? []), r]);
  }
  return out;
}

/**
 * A new rule right after an owned one whose id this apply already knows: that id checked by a singular read (the
 * fresh read before the write), the POST, then the rule and its predecessor read back by id. Returns false, having
 * written nothing, when the predecessor is no longer where it was: the caller reads by marker instead.
 */
async function createRuleAfterKnown(c: Change, p: Extract<PfSensePayload, { type: 'rule' }>, w: Writer, ctx: ApplyContext, ids: RuleIds): Promise<boolean> {
  const prevId = p.after ? ids.get(p.after) : undefined;
  if (!p.after || prevId === undefined) return false;
  if (!(await byIdIfMarked(w, 'firewall/rule', prevId, 'descr', p.after, ctx.instance))) return false;
  const made = await w.write<Wire>('POST', 'firewall/rule', { ...p.body, placement: prevId + 1 });
  const id = made.id as number;
  ids.inserted(id);
  ids.set(c.name, id);
  const mine = await byIdIfMarked(w, 'firewall/rule', id, 'descr', c.name, ctx.instance);
  const prev = mine ? await byIdIfMarked(w, 'firewall/rule', id - 1, 'descr', p.after, ctx.instance) : undefined;
  if (!mine || !prev) {
    // Something moved the rules meanwhile: read back by marker, as after any write.
    ids.forget();
    await readBackRule(c, p, w, ctx, ids);
    return true;
  }
  const bad = mismatch(RULE_FIELDS, toLiveRule(mine), p.body);
  if (bad.length > 0) fail(`read back differs in ${bad.join(', ')}`, c);
  return true;
}

/** Reads a written rule back by marker (not by an echoed id, which another writer may already have shifted). */
async function readBackRule(c: Change, p: Extract<PfSensePayload, { type: 'rule' }>, w: Writer, ctx: ApplyContext, ids: RuleIds): Promise<void> {
  const name = c.name.split('#')[0]!;
  const names = p.after ? [name, p.after] : [name];
  const after = await ownedRules(w, ctx.instance, names);
  const mine = after.get(name) ?? [];
  if (mine.length !== 1) fail(`read back found ${mine.length} rules`, c);
  ids.set(name, mine[0]!.id as number);
  const bad = mismatch(RULE_FIELDS, toLiveRule(mine[0]!), p.body);
  if (bad.length > 0) fail(`read back differs in ${bad.join(', ')}`, c);
  if (p.after) {
    const prevNow = after.get(p.after)?.[0];
    if (!prevNow || (prevNow.id as number) >= (mine[0]!.id as number)) fail(`not after ${p.after} once written`, c);
    ids.set(p.after, prevNow.id as number);
  }
}

async function applyRule(c: Change, p: Extract<PfSensePayload, { type: 'rule' }>, w: Writer, ctx: ApplyContext, ids: RuleIds): Promise<void> {
  // A create trusts the plan that the rule is absent (observe has just read it; the state lock keeps other infrasec
  // writers out); only its predecessor's position needs reading.
  if (c.action === 'create' && (await createRuleAfterKnown(c, p, w, ctx, ids))) return;
  const name = c.name.split('#')[0]!;
  // ids are list positions: every id a write uses comes from the read made just before it.
  const names = p.after ? [name, p.after] : [name];
  const owned = await ownedRules(w, ctx.instance, names);
  const found = owned.get(name) ?? [];
  if (c.action === 'delete') {
    // A second copy is named `<name>#<tracker>`: delete the last copy; otherwise the rule itself.
    const extra = c.name.includes('#');
    const target = extra ? found[found.length - 1] : found[0];
    if (!target || (extra && found.length < 2)) return;
    ids.forget(); // every rule after it moves up
    const gone = await w.write<Wire>('DELETE', 'firewall/rule', { id: target.id as number });
    if (parseMarker(String(gone.descr))?.name !== name) fail(`pfSense deleted rule "${String(gone.descr)}" instead`, c);
    const left = (await ownedRules(w, ctx.instance, [name])).get(name) ?? [];
    if (left.length !== found.length - 1) fail('still present after delete', c);
    return;
  }
  const prevId = p.after ? (owned.get(p.after)?.[0]?.id as number | undefined) : undefined;
  if (p.after && prevId === undefined) fail(`the rule it follows (${p.after}) is missing`, c);
  const body = { ...p.body } as Record<string, unknown>;
  if (found.length === 0) {
    let placement: number;
    if (prevId !== undefined) placement = prevId + 1;
    else {
      // First owned rule of its interface: before the interface's first owned rule, else its first rule, else last.
      const onIface = (await w.get<Wire[]>('firewall/rules', { interface__contains: p.iface })).filter((r) => (r.interface as string[]).length === 1);
      const ownedFirst = onIface.find((r) => parseMarker(String(r.descr))?.instance === ctx.instance);
      const first = ownedFirst ?? onIface[0];
      placement = first ? (first.id as number) : -1;
    }
    const made = await w.write<Wire>('POST', 'firewall/rule', placement >= 0 ? { ...body, placement } : body);
    ids.inserted(made.id as number);
  } else {
    const live = found[0]!;
    const from = live.id as number;
    const patch: Record<string, unknown> = { id: from };
    if (p.writeFields) {
      const lr = toLiveRule(live);
      for (const k of RULE_FIELDS) if (!same(lr[k], (p.body as RuleFields)[k])) patch[k] = (p.body as RuleFields)[k];
    }
    if (prevId !== undefined && from < prevId) patch.placement = placementAfter(from, prevId);
    if (Object.keys(patch).length === 1) return;
    if ('placement' in patch) ids.forget(); // a move shifts every rule between its two places
    await w.write<Wire>('PATCH', 'firewall/rule', patch);
  }
  await readBackRule(c, p, w, ctx, ids);
}

async function applyPortForward(c: Change, p: Extract<PfSensePayload, { type: 'portForward' }>, w: Writer, ctx: ApplyContext): Promise<void> {
  const found = await findByMarker(w, 'firewall/nat/port_forwards', 'descr', c.name, ctx.instance);
  if (c.action === 'delete') {
    if (!found[0]) return;
    const gone = await w.write<Wire>('DELETE', 'firewall/nat/port_forward', { id: found[0].id as number });
    if (parseMarker(String(gone.descr))?.name !== c.name) fail(`pfSense deleted port forward "${String(gone.descr)}" instead`, c);
    if ((await findByMarker(w, 'firewall/nat/port_forwards', 'descr', c.name, ctx.instance)).length > 0) fail('still present after delete', c);
    return;
  }
  const body = p.body as PortForwardFields;
  let id: number;
  if (!found[0]) {
    // `new`: pfSense makes the associated pass rule and keeps it in step with the forward.
    id = (await w.write<Wire>('POST', 'firewall/nat/port_forward', { ...body, associated_rule_id: 'new' })).id as number;
  } else {
    const l = toLivePortForward(found[0]);
    const patch: Record<string, unknown> = { id: l.id };
    for (const k of PORT_FORWARD_FIELDS) if (!same(l[k], body[k])) patch[k] = body[k];
    id = (await w.write<Wire>('PATCH', 'firewall/nat/port_forward', patch)).id as number;
  }
  // Port forwards re-sort by interface on every write: read back by marker, not by the echoed id alone.
  const back = await findByMarker(w, 'firewall/nat/port_forwards', 'descr', c.name, ctx.instance);
  if (back.length !== 1) fail(`read back found ${back.length} port forwards`, c);
  void id;
  const bad = mismatch(PORT_FORWARD_FIELDS, toLivePortForward(back[0]!), body);
  if (bad.length > 0) fail(`read back differs in ${bad.join(', ')}`, c);
}

async function crlIndex(w: Writer, crlref: string, c: Change): Promise<{ id: number; crl: Wire }> {
  const crls = await w.get<Wire[]>('system/crls');
  const crl = crls.find((x) => x.refid === crlref);
  if (!crl) fail(`CRL ${crlref} is gone`, c);
  return { id: crl.id as number, crl };
}

async function applyCertificate(c: Change, p: Extract<PfSensePayload, { type: 'certificate' }>, w: Writer, ctx: ApplyContext): Promise<void> {
  if (p.issue) {
    const key = ctx.certificateKey === 'ECDSA' ? { keytype: 'ECDSA', ecname: 'prime256v1' } : { keytype: 'RSA', keylen: 2048 };
    const made = await w.write<Wire>('POST', 'system/certificate/generate', {
      descr: p.descr, caref: p.caref, ...key, digest_alg: 'sha256', lifetime: p.lifetimeDays, dn_commonname: p.commonName, type: 'user',
    });
    const back = await w.get<Wire>('system/certificate', { id: made.id as number });
    if (back.refid !== made.refid || back.caref !== p.caref || back.descr !== p.descr) fail('the certificate read back is not the one issued', c);
  }
  // Revoke in the same pass; pfSense re-signs the CRL on each revocation.
  for (const certref of p.revoke) {
    const { id } = await crlIndex(w, p.crlref, c);
    await w.write<Wire>('POST', 'system/crl/revoked_certificate', { parent_id: id, certref, reason: p.issue ? 4 : 5 });
    const { crl } = await crlIndex(w, p.crlref, c);
    const listed = ((crl.cert as Wire[] | undefined) ?? []).some((r) => r.certref === certref);
    if (!listed) fail(`certificate ${certref} is not in the CRL after revocation`, c);
  }
}

async function applyOverride(c: Change, p: Extract<PfSensePayload, { type: 'override' }>, w: Writer, ctx: ApplyContext): Promise<void> {
  if (c.action === 'create' && p.body) {
    // No id is needed to create: no read first. Read back by the echoed id, by marker if that id is no longer it.
    const made = await w.write<Wire>('POST', 'vpn/openvpn/cso', { ...p.body });
    const back = (await byIdIfMarked(w, 'vpn/openvpn/cso', made.id as number, 'description', c.name, ctx.instance)) ?? (await findByMarker(w, 'vpn/openvpn/csos', 'description', c.name, ctx.instance))[0];
    if (!back) fail('not found when read back', c);
    const bad = mismatch(OVERRIDE_FIELDS, toLiveOverride(back), p.body, ['local_network']);
    if (bad.length > 0) fail(`read back differs in ${bad.join(', ')}`, c);
    return;
  }
  let found = await findByMarker(w, 'vpn/openvpn/csos', 'description', c.name, ctx.instance);
  if (c.action === 'delete') {
    if (!found[0]) return;
    const gone = await w.write<Wire>('DELETE', 'vpn/openvpn/cso', { id: found[0].id as number });
    if (parseMarker(String(gone.description))?.name !== c.name) fail(`pfSense deleted override "${String(gone.description)}" instead`, c);
    if ((await findByMarker(w, 'vpn/openvpn/csos', 'description', c.name, ctx.instance)).length > 0) fail('still present after delete', c);
    return;
  }
  const body = p.body as OverrideFields;
  if (!found[0] && c.action === 'update') {
    // Adoption: the unowned override of the same CN.
    found = (await w.get<Wire[]>('vpn/openvpn/csos', { common_name: body.common_name })).filter((o) => !parseMarker(String(o.description)));
  }
  if (!found[0]) await w.write<Wire>('POST', 'vpn/openvpn/cso', { ...body });
  else await w.write<Wire>('PATCH', 'vpn/openvpn/cso', { id: found[0].id as number, ...body });
  const back = await findByMarker(w, 'vpn/openvpn/csos', 'description', c.name, ctx.instance);
  if (back.length !== 1) fail(`read back found ${back.length} overrides`, c);
  const bad = mismatch(OVERRIDE_FIELDS, toLiveOverride(back[0]!), body, ['local_network']);
  if (bad.length > 0) fail(`read back differs in ${bad.join(', ')}`, c);
}

function message(err: unknown): string {
  if (err instanceof InfrasecError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

export async function applyPfSensePlan(plan: GuardedPlan, ctx: ApplyContext, signal: AbortSignal, hooks?: ApplyHooks): Promise<Applied[]> {
  const results: Applied[] = [];
  let firewallWritten = false;
  let applyAsked = false;
  const total = plan.changes.length;
  const halt = new ApplyHalt();
  const ids = new RuleIds();
  for (const c of plan.changes) {
    if (halt.reason !== undefined) {
      const skipped = halt.notAttempted(c);
      results.push(skipped);
      hooks?.onApplied?.(skipped, results.length, total);
      continue;
    }
    const w = new Writer(ctx, signal);
    const p = c.payload as unknown as PfSensePayload;
    let result: Applied;
    try {
      signal.throwIfAborted();
      if (p.type === 'alias') await applyAlias(c, p, w, ctx);
      else if (p.type === 'rule') await applyRule(c, p, w, ctx, ids);
      else if (p.type === 'portForward') {
        // Its associated pass rule is inserted or removed with it: rule ids move.
        ids.forget();
        await applyPortForward(c, p, w, ctx);
      } else if (p.type === 'certificate') await applyCertificate(c, p, w, ctx);
      else if (p.type === 'override') await applyOverride(c, p, w, ctx);
      else applyAsked = true;
      result = { change: c, ok: true, writes: w.writes };
    } catch (err) {
      result = { change: c, ok: false, writes: w.writes, error: message(err) };
      ctx.logger?.error({ event: 'apply.change.failed', kind: c.kind, name: c.name, error: result.error }, 'pfSense change failed');
      // The connection is gone: the rest is not attempted; what is written stays marked owed and the next pass converges.
      halt.failed(err, signal, () => result.error ?? 'pfSense became unavailable');
    }
    if (w.writes > 0 && FIREWALL_KINDS.has(c.kind)) firewallWritten = true;
    results.push(result);
    hooks?.onApplied?.(result, results.length, total);
  }
  if (firewallWritten || applyAsked) {
    // Remember the debt first: if the apply call is lost, the next pass owes it.
    await ctx.markApplyOwed();
    // After a lost connection the apply is owed, not attempted (the pass already failed on the lost change).
    if (halt.reason !== undefined) return results;
    const applyChange = results.find((r) => r.change.kind === 'FirewallApply');
    try {
      await ctx.client.write('POST', 'firewall/apply', { async: false }, signal);
      const status = await ctx.client.get<{ pending_subsystems?: string[] }>('firewall/apply', undefined, signal);
      await ctx.appliedFilter(status.pending_subsystems ?? []);
      if (applyChange) results[results.indexOf(applyChange)] = { ...applyChange, writes: 1 };
    } catch (err) {
      const error = `/firewall/apply failed: ${message(err)}`;
      ctx.logger?.error({ event: 'apply.filter.failed', error }, 'pfSense filter reload failed');
      // Blame the apply on the last firewall change so the pass fails and says what to do.
      const last = [...results].reverse().find((r) => FIREWALL_KINDS.has(r.change.kind));
      if (last) results[results.indexOf(last)] = { ...last, ok: false, error: `${error}; the next pass applies again` };
    }
  }
  return results;
}

// Apply: the UpdateConfig frames it builds, batching under the header limit, per-change retry, reloads and the reload debt.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guard } from '../../../src/engine/guard.ts';
import { MemoryFingerprintStore } from '../../../src/state/fingerprints.ts';
import { DEFAULT_POLICY, type GuardedPlan as AnyGuardedPlan } from '../../../src/engine/types.ts';
import { updateConfigHeaders } from '../../../src/reconcilers/asterisk/apply.ts';
import type { AsteriskPayload } from '../../../src/reconcilers/asterisk/model.ts';
import type { AsteriskChange as Change } from '../../../src/reconcilers/asterisk/plan.ts';

type GuardedPlan = AnyGuardedPlan<AsteriskPayload>;
import { AsteriskReconciler } from '../../../src/reconcilers/asterisk/reconciler.ts';
import { conf, ext, secret, state } from './desired-builder.ts';
import { type Pbx, startPbx } from './pbx-fixture.ts';

const signal = () => new AbortController().signal;
let pbx: Pbx;
const count = (a: string) => pbx.emulator.stats.actions[a] ?? 0;

beforeAll(async () => {
  pbx = await startPbx();
});
afterAll(async () => {
  await pbx.close();
});
beforeEach(() => pbx.reset());

async function guarded(rec: AsteriskReconciler, d: ReturnType<typeof state>): Promise<GuardedPlan> {
  const g = guard(rec.plan(d, await rec.observe(signal()), DEFAULT_POLICY), DEFAULT_POLICY);
  if (!g.ok) throw new Error(g.reasons.join('; '));
  return g.plan;
}

describe('updateConfigHeaders', () => {
  it('numbers the ops contiguously from 000000 and spells each verb as UpdateConfig reads it', () => {
    const h = updateConfigHeaders('pjsip_custom.conf', [
      { op: 'NewCat', cat: 'infrasec-managed', template: true },
      { op: 'NewCat', cat: 'tmp', inherit: 'infrasec-managed' },
      { op: 'Append', cat: 'tmp', var: 'type', value: 'aor' },
      { op: 'RenameCat', cat: 'tmp', to: '200' },
      { op: 'Append', cat: 'infrasec', var: '200', value: [secret('1234'), ',Nom'], object: true },
      { op: 'Delete', cat: 'ctx', var: 'exten', match: '200,1,Hangup()' },
      { op: 'Delete', cat: 'infrasec', var: '200' },
      { op: 'DelCat', cat: 'old' },
    ]);
    const text = h.map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    expect(text).toEqual([
      'SrcFilename: pjsip_custom.conf', 'DstFilename: pjsip_custom.conf',
      'Action-000000: NewCat', 'Cat-000000: infrasec-managed', 'Options-000000: template',
      'Action-000001: NewCat', 'Cat-000001: tmp', 'Options-000001: inherit=infrasec-managed',
      'Action-000002: Append', 'Cat-000002: tmp', 'Var-000002: type', 'Value-000002: aor',
      'Action-000003: RenameCat', 'Cat-000003: tmp', 'Value-000003: 200',
      'Action-000004: Append', 'Cat-000004: infrasec', 'Var-000004: 200', 'Value-000004: [">","(sensitive)",",Nom"]',
      'Action-000005: Delete', 'Cat-000005: ctx', 'Var-000005: exten', 'Match-000005: 200,1,Hangup()',
      'Action-000006: Delete', 'Cat-000006: infrasec', 'Var-000006: 200',
      'Action-000007: DelCat', 'Cat-000007: old',
    ]);
  });
});

describe('applyPlan over AMI', () => {
  it('packs changes into UpdateConfig messages under the header limit and applies them all', async () => {
    const rec = pbx.reconciler({ maxHeaderLines: 40 });
    const d = state({
      conferences: ['a', 'b', 'c', 'd', 'e', 'f'].map((n, i) => conf(`room-${n}`, `3${i}`, { userPin: { generate: true } })),
      secrets: Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f'].map((n) => [`Conference/room-${n}#userPin`, '1234'])),
    });
    const plan = await guarded(rec, d);
    const before = count('UpdateConfig');
    const applied = await rec.apply(plan, signal());
    expect(applied.filter((a) => !a.ok)).toEqual([]);
    // 6 rooms x 2 profiles and 6 x 3 dialplan lines, at most 36 header lines of ops per message.
    expect(count('UpdateConfig') - before).toBeGreaterThanOrEqual(8);
    expect((await guarded(rec, d)).changes).toEqual([]);
    await rec.close();
  });

  it('retries each change of a refused batch alone: the bad one fails, its neighbours land', async () => {
    const rec = pbx.reconciler();
    const d = state({ extensions: [ext('ext-200', '200'), ext('ext-201', '201')] });
    const plan = await guarded(rec, d);
    const bad: Change = {
      system: 'asterisk', kind: 'Extension', name: 'ext-bad', key: 'Extension/ext-bad', action: 'update', prune: false, adopt: false, fields: [], reason: 'forged', rank: 2,
      payload: { groups: [{ role: 'extensions', ops: [{ op: 'Delete', cat: 'custom-recordme', var: 'exten', match: 'no such line' }] }], expect: {} } satisfies AsteriskPayload,
    };
    const i = plan.changes.findIndex((c) => c.name === 'ext-201');
    const forged = { ...plan, changes: [...plan.changes.slice(0, i), bad, ...plan.changes.slice(i)] } as unknown as GuardedPlan;
    const applied = await rec.apply(forged, signal());
    const outcome = Object.fromEntries(applied.map((a) => [`${a.change.kind}/${a.change.name}`, a.ok ? 'ok' : a.error]));
    expect(outcome['Extension/ext-bad']).toBe('UpdateConfig extensions_custom.conf failed: Update did not complete successfully');
    expect(outcome['Extension/ext-200']).toBe('ok');
    expect(outcome['Extension/ext-201']).toBe('ok');
    expect(pbx.read('extensions_custom.conf')).toContain('exten => 201,1(ext-201)');
    await rec.close();
  });

  it('owes a reload until it succeeds: a drop after the writes leaves the debt, the next pass pays it', async () => {
    const store = new MemoryFingerprintStore();
    const rec = new AsteriskReconciler(pbx.settings, { fingerprints: store });
    const d = state({ extensions: [ext('ext-200', '200')] });
    const plan = await guarded(rec, d);
    const applied = await rec.apply(plan, signal(), {
      onApplied: (a) => {
        // Every write is done when the first Reload is about to run: cut the line there.
        if (a.change.kind === 'Extension') pbx.emulator.dropConnections();
      },
    });
    expect(applied.filter((a) => a.change.kind === 'Reload').every((a) => !a.ok)).toBe(true);
    expect(store.get(`asterisk/127.0.0.1:${pbx.emulator.port}/reload-pending/res_pjsip`)).toBeDefined();
    const next = rec.plan(d, await rec.observe(signal()), DEFAULT_POLICY);
    expect(next.changes.map((c) => `${c.kind}/${c.name}`)).toEqual(expect.arrayContaining(['Reload/res_pjsip', 'Reload/pbx_config']));
    const reloads = count('Reload');
    const g = guard(next, DEFAULT_POLICY);
    const paid = await rec.apply(g.ok ? g.plan : (undefined as never), signal());
    expect(paid.every((a) => a.ok)).toBe(true);
    expect(count('Reload') - reloads).toBe(2);
    expect(store.get(`asterisk/127.0.0.1:${pbx.emulator.port}/reload-pending/res_pjsip`)).toBeUndefined();
    expect(rec.plan(d, await rec.observe(signal()), DEFAULT_POLICY).changes).toEqual([]);
    await rec.close();
  });

  it('skips a reload whose triggering changes wrote nothing', async () => {
    const rec = pbx.reconciler();
    const reloads = count('Reload');
    const only: Change = {
      system: 'asterisk', kind: 'Reload', name: 'res_pjsip', key: 'Reload/res_pjsip', action: 'update', prune: false, adopt: false, fields: [], reason: 'test', rank: 9,
      payload: { groups: [], reload: { module: 'res_pjsip', triggers: ['Extension/ext-held'], always: false }, expect: { runtime: 'res_pjsip' } } satisfies AsteriskPayload,
    };
    const applied = await rec.apply({ system: 'asterisk', changes: [only], conflicts: [], ownedCount: 0 } as unknown as GuardedPlan, signal());
    expect(applied).toEqual([expect.objectContaining({ ok: true, writes: 0 })]);
    expect(count('Reload')).toBe(reloads);
    await rec.close();
  });
});

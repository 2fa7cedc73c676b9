// A seeded pfSense emulator and a reconciler pointed at it over HTTPS, for the pfSense integration tests.
import { MemoryFingerprintStore } from '../../../src/state/fingerprints.ts';
import { guard } from '../../../src/engine/guard.ts';
import { DEFAULT_POLICY, type Applied, type Plan, type Policy } from '../../../src/engine/types.ts';
import type { ResolvedState } from '../../../src/desired/model.ts';
import { Secret, sha256Hex } from '../../../src/desired/secret.ts';
import { PfSenseReconciler } from '../../../src/reconcilers/pfsense/reconciler.ts';
import { PFSENSE_DEFAULTS } from '../../../src/reconcilers/pfsense/settings.ts';
import { type PfSenseEmulator, type PfSenseEmulatorOptions, seedScenario, startPfSenseEmulator } from '../../emulators/pfsense/index.js';

export interface Fixture {
  emu: PfSenseEmulator;
  reconciler: PfSenseReconciler;
  store: MemoryFingerprintStore;
  close(): Promise<void>;
}

export const API_KEY = 'test-key-0123456789abcdef';

export async function startFixture(opts: PfSenseEmulatorOptions = {}): Promise<Fixture> {
  const emu = await startPfSenseEmulator({ seed: seedScenario, lockWaitMs: 100, ...opts });
  emu.state.settings.auth_methods = ['BasicAuth', 'KeyAuth'];
  emu.addApiKey('admin', 'infrasec', 24, 'sha256', API_KEY);
  const store = new MemoryFingerprintStore();
  const reconciler = newReconciler(emu, store);
  return {
    emu, reconciler, store,
    async close() {
      await reconciler.close();
      await emu.close();
    },
  };
}

export function newReconciler(emu: PfSenseEmulator, store = new MemoryFingerprintStore(), overrides: { lockRetries?: number; lockMaxDelayMs?: number; instance?: string } = {}): PfSenseReconciler {
  return new PfSenseReconciler(
    {
      url: emu.url,
      auth: { kind: 'key', key: new Secret(API_KEY, 'env', sha256Hex('credential:pfsense-api-key')) },
      ca: emu.caPem,
      timeoutMs: 10_000,
      instance: overrides.instance ?? 'test',
      lockRetries: overrides.lockRetries ?? 4,
      lockMaxDelayMs: overrides.lockMaxDelayMs ?? 200,
      interfaces: { ...PFSENSE_DEFAULTS.interfaces },
      certificateKey: 'ECDSA',
    },
    { fingerprints: store },
  );
}

export const POLICY: Policy = { ...DEFAULT_POLICY, prune: true, deletionThreshold: { count: 1000, percent: 100 } };

export interface PassOutcome {
  plan: Plan;
  applied: Applied[];
  verify: Awaited<ReturnType<PfSenseReconciler['verify']>>;
}

/** observe → plan → guard → apply → verify, as the engine runs it. */
export async function pass(r: PfSenseReconciler, desired: ResolvedState, policy: Policy = POLICY): Promise<PassOutcome> {
  const signal = AbortSignal.timeout(120_000);
  const live = await r.observe(signal);
  const plan = r.plan(desired, live, policy);
  const g = guard(plan, policy);
  if (!g.ok) throw new Error(`guard refused: ${g.reasons.join('; ')}`);
  const applied = g.plan.changes.length > 0 ? await r.apply(g.plan, signal) : [];
  const verify = applied.length > 0 ? await r.verify(applied.filter((a) => a.ok), signal) : [];
  return { plan, applied, verify };
}

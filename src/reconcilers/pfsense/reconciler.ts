// The pfSense reconciler: wires settings, the pfRest client, observe, plan, apply and verify behind the Reconciler contract.
import type { Logger } from 'pino';
import type { Diagnostic } from '../../desired/diagnostic.ts';
import type { ResolvedState } from '../../desired/model.ts';
import { type FingerprintStore, MemoryFingerprintStore } from '../../state/fingerprints.ts';
import type { Applied, ApplyHooks, ClientConfig, GuardedPlan, Plan, Policy, Reconciler } from '../../engine/types.ts';
import { applyPfSensePlan } from './apply.ts';
import { exportProfile } from './export.ts';
import type { Secret } from '../../desired/secret.ts';
import { PfSenseClient } from './client.ts';
import type { LivePfSense } from './model.ts';
import { observePfSense } from './observe.ts';
import { planPfSense } from './plan.ts';
import type { PfSenseSettings } from './settings.ts';
import { verifyPfSense } from './verify.ts';

export interface PfSenseDeps {
  /** Durable controller state: the "apply owed" marker and the pending flags left after the last apply. */
  readonly fingerprints?: FingerprintStore;
  readonly now?: () => Date;
  readonly logger?: Logger;
}

export class PfSenseReconciler implements Reconciler<ResolvedState, LivePfSense> {
  readonly system = 'pfsense' as const;
  readonly client: PfSenseClient;
  readonly #settings: PfSenseSettings;
  readonly #store: FingerprintStore;
  readonly #now: () => Date;
  readonly #log: Logger | undefined;

  constructor(settings: PfSenseSettings, deps: PfSenseDeps = {}) {
    this.#settings = settings;
    this.#log = deps.logger?.child({ system: this.system });
    this.#store = deps.fingerprints ?? new MemoryFingerprintStore();
    this.#now = deps.now ?? (() => new Date());
    this.client = new PfSenseClient({
      url: settings.url, auth: settings.auth, ca: settings.ca, timeoutMs: settings.timeoutMs,
      lockRetries: settings.lockRetries, lockMaxDelayMs: settings.lockMaxDelayMs, logger: this.#log,
    });
  }

  /** The instance named in every ownership marker this reconciler writes. */
  get instance(): string {
    return this.#settings.instance;
  }

  #key(what: string): string {
    return `pfsense/${this.#settings.url}/${this.#settings.instance}/${what}`;
  }

  async observe(signal: AbortSignal): Promise<LivePfSense> {
    const started = performance.now();
    const stale = this.#store.get(this.#key('stale-pending'));
    const live = await observePfSense(
      this.client,
      { vpn: true },
      { stalePending: stale ? (JSON.parse(stale) as string[]) : [], applyOwed: this.#store.get(this.#key('apply-owed')) !== undefined },
      signal,
      this.#now,
    );
    this.#log?.info({ event: 'observe.done', rules: live.rules.length, aliases: live.aliases.length, certificates: live.certificates.length, ms: Math.round(performance.now() - started) }, 'observed pfSense');
    return live;
  }

  plan(desired: ResolvedState, live: LivePfSense, policy: Policy): Plan {
    return planPfSense(desired, live, policy, { instance: this.#settings.instance, interfaces: this.#settings.interfaces });
  }

  async apply(plan: GuardedPlan, signal: AbortSignal, hooks?: ApplyHooks): Promise<Applied[]> {
    const started = performance.now();
    const applied = await applyPfSensePlan(
      plan,
      {
        client: this.client,
        instance: this.#settings.instance,
        certificateKey: this.#settings.certificateKey,
        logger: this.#log,
        markApplyOwed: () => this.#store.set(this.#key('apply-owed'), 'owed'),
        appliedFilter: async (stale) => {
          await this.#store.set(this.#key('stale-pending'), JSON.stringify([...stale].sort()));
          await this.#store.delete(this.#key('apply-owed'));
        },
      },
      signal,
      hooks,
    );
    this.#log?.info(
      { event: 'apply.done', changes: applied.length, failed: applied.filter((a) => !a.ok).length, writes: applied.reduce((n, a) => n + a.writes, 0), ms: Math.round(performance.now() - started) },
      'applied changes to pfSense',
    );
    return applied;
  }

  async verify(applied: readonly Applied[], signal: AbortSignal): Promise<Diagnostic[]> {
    const live = await this.observe(signal);
    const diagnostics = verifyPfSense(applied, live, this.#settings.instance);
    this.#log?.info({ event: 'verify.done', checked: applied.length, problems: diagnostics.length }, 'verified pfSense');
    return diagnostics;
  }

  /** The inline .ovpn of a profile's valid certificate, for the encrypted hand-over; a Secret, never printed. */
  exportProfile(profile: string, server: string, signal: AbortSignal): Promise<Secret> {
    return exportProfile(this.client, this.#settings.instance, profile, server, signal);
  }

  /** One inline .ovpn per VPN profile of the person, from the client-export package (a POST that stores nothing). */
  async clientConfigs(desired: ResolvedState, person: string, signal: AbortSignal): Promise<ClientConfig[]> {
    const out: ClientConfig[] = [];
    for (const p of desired.resources.vpnProfiles.values()) {
      if (p.spec.user !== person) continue;
      out.push({ object: `VpnProfile/${p.metadata.name}`, file: `${p.metadata.name}.ovpn`, content: await this.exportProfile(p.metadata.name, p.spec.server, signal) });
    }
    return out;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

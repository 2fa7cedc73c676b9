// The Asterisk reconciler: wires settings, the AMI client, observe, plan, apply and verify behind the Reconciler contract.
import type { Logger } from 'pino';
import type { Diagnostic } from '../../desired/diagnostic.ts';
import type { ResolvedState } from '../../desired/model.ts';
import { type FingerprintStore, MemoryFingerprintStore } from '../../state/fingerprints.ts';
import type { Applied, ApplyHooks, GuardedPlan, Plan, Policy, Reconciler } from '../../engine/types.ts';
import { applyPlan } from './apply.ts';
import { AmiClient } from './client.ts';
import { type AsteriskPayload, FILE_ROLES, type LiveAsterisk, MODULE_OF } from './model.ts';
import { observeAsterisk } from './observe.ts';
import { planAsterisk } from './plan.ts';
import { type AsteriskLayout, type AsteriskSettings, type ResolvedAsteriskSettings, resolveAsteriskSettings } from './settings.ts';
import { verifyApplied } from './verify.ts';

export interface AsteriskDeps {
  /** Durable controller state; holds "reload owed" markers between passes. In memory when absent. */
  readonly fingerprints?: FingerprintStore;
  /** Clock for observedAt; plan itself never reads a clock. */
  readonly now?: () => Date;
  readonly logger?: Logger;
}

export class AsteriskReconciler implements Reconciler<ResolvedState, LiveAsterisk, AsteriskPayload> {
  readonly system = 'asterisk' as const;
  readonly settings: ResolvedAsteriskSettings;
  readonly #client: AmiClient;
  readonly #store: FingerprintStore;
  readonly #now: () => Date;
  readonly #log: Logger | undefined;

  constructor(settings: AsteriskSettings, deps: AsteriskDeps = {}) {
    this.settings = resolveAsteriskSettings(settings);
    this.#log = deps.logger?.child({ system: this.system });
    this.#store = deps.fingerprints ?? new MemoryFingerprintStore();
    this.#now = deps.now ?? (() => new Date());
    const s = this.settings;
    this.#client = new AmiClient({ host: s.host, port: s.port, username: s.username, secret: s.secret, timeoutMs: s.timeoutMs, authType: s.authType, logger: this.#log });
  }

  get layout(): AsteriskLayout {
    return this.settings.layout;
  }

  #pendingKey(module: string): string {
    return `asterisk/${this.settings.host}:${this.settings.port}/reload-pending/${module}`;
  }

  async observe(signal: AbortSignal): Promise<LiveAsterisk> {
    const started = performance.now();
    const live = await observeAsterisk(
      {
        client: this.#client,
        layout: this.layout,
        now: this.#now,
        pendingReloads: () => new Set(FILE_ROLES.map((r) => MODULE_OF[r]).filter((m) => this.#store.get(this.#pendingKey(m)) !== undefined)),
      },
      signal,
    );
    this.#log?.info({ event: 'observe.done', objects: live.objects.size, ms: Math.round(performance.now() - started) }, 'observed Asterisk');
    return live;
  }

  plan(desired: ResolvedState, live: LiveAsterisk, policy: Policy): Plan<AsteriskPayload> {
    return planAsterisk(desired, live, policy, this.layout);
  }

  async apply(plan: GuardedPlan<AsteriskPayload>, signal: AbortSignal, hooks?: ApplyHooks<AsteriskPayload>): Promise<Applied<AsteriskPayload>[]> {
    const started = performance.now();
    const applied = await applyPlan(
      plan,
      {
        client: this.#client,
        layout: this.layout,
        maxHeaderLines: this.settings.maxHeaderLines,
        isReloadPending: (m) => this.#store.get(this.#pendingKey(m)) !== undefined,
        markReloadPending: (m) => this.#store.set(this.#pendingKey(m), 'owed'),
        clearReloadPending: (m) => this.#store.delete(this.#pendingKey(m)),
        logger: this.#log,
      },
      signal,
      hooks,
    );
    this.#log?.info(
      { event: 'apply.done', changes: applied.length, failed: applied.filter((a) => !a.ok).length, writes: applied.reduce((n, a) => n + a.writes, 0), ms: Math.round(performance.now() - started) },
      'applied changes to Asterisk',
    );
    return applied;
  }

  async verify(applied: readonly Applied<AsteriskPayload>[], signal: AbortSignal): Promise<Diagnostic[]> {
    const diagnostics = await verifyApplied(applied, () => this.observe(signal), this.layout);
    this.#log?.info({ event: 'verify.done', checked: applied.length, problems: diagnostics.length }, 'verified Asterisk');
    return diagnostics;
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

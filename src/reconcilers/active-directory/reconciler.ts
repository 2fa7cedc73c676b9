// The Active Directory reconciler: wires settings, client, observe, plan, apply and verify behind the Reconciler contract.
import type { Logger } from 'pino';
import type { Diagnostic } from '../../desired/diagnostic.ts';
import type { ResolvedState } from '../../desired/model.ts';
import type { FingerprintStore } from '../../state/fingerprints.ts';
import type { Applied, ApplyHooks, GuardedPlan, Plan, Policy, Reconciler } from '../../engine/types.ts';
import { applyPlan } from './apply.ts';
import { AdClient } from './client.ts';
import type { AdLayout, AdPayload, LiveDirectory } from './model.ts';
import { observeDirectory } from './observe.ts';
import { planDirectory } from './plan.ts';
import { type AdSettings, type ResolvedAdSettings, resolveAdSettings } from './settings.ts';
import { verifyApplied } from './verify.ts';

export interface ActiveDirectoryDeps {
  readonly fingerprints: FingerprintStore;
  /** Clock for observedAt; plan itself never reads a clock. */
  readonly now?: () => Date;
  readonly logger?: Logger;
}

export class ActiveDirectoryReconciler implements Reconciler<ResolvedState, LiveDirectory, AdPayload> {
  readonly system = 'active-directory' as const;
  readonly settings: ResolvedAdSettings;
  readonly #deps: ActiveDirectoryDeps;
  readonly #client: AdClient;
  readonly #log: Logger | undefined;

  constructor(settings: AdSettings, deps: ActiveDirectoryDeps) {
    this.settings = resolveAdSettings(settings);
    this.#deps = deps;
    this.#log = deps.logger?.child({ system: this.system });
    this.#client = new AdClient(this.settings, this.#log);
  }

  get layout(): AdLayout {
    return this.settings.layout;
  }

  async observe(signal: AbortSignal): Promise<LiveDirectory> {
    const started = performance.now();
    const live = await observeDirectory(this.#client, this.layout, this.#deps.fingerprints, (this.#deps.now ?? (() => new Date()))(), signal);
    this.#log?.info(
      { event: 'observe.done', users: live.users.size, groups: live.groups.size, ms: Math.round(performance.now() - started) },
      'observed Active Directory',
    );
    return live;
  }

  plan(desired: ResolvedState, live: LiveDirectory, policy: Policy): Plan<AdPayload> {
    return planDirectory(desired, live, policy, this.layout);
  }

  async apply(plan: GuardedPlan<AdPayload>, signal: AbortSignal, hooks?: ApplyHooks<AdPayload>): Promise<Applied<AdPayload>[]> {
    const started = performance.now();
    const applied = await applyPlan(plan, { client: this.#client, fingerprints: this.#deps.fingerprints, concurrency: this.settings.concurrency, logger: this.#log }, signal, hooks);
    this.#log?.info(
      {
        event: 'apply.done',
        changes: applied.length,
        failed: applied.filter((a) => !a.ok).length,
        writes: applied.reduce((n, a) => n + a.writes, 0),
        ms: Math.round(performance.now() - started),
      },
      'applied changes to Active Directory',
    );
    return applied;
  }

  async verify(applied: readonly Applied<AdPayload>[], signal: AbortSignal): Promise<Diagnostic[]> {
    const diagnostics = await verifyApplied(this.#client, this.layout, applied, signal);
    this.#log?.info({ event: 'verify.done', checked: applied.length, problems: diagnostics.length }, 'verified Active Directory');
    return diagnostics;
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

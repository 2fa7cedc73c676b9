// The Modoboa reconciler: wires settings, the REST client, the local inventory, observe, plan, apply and verify behind the Reconciler contract.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Diagnostic } from '../../desired/diagnostic.ts';
import type { ResolvedState } from '../../desired/model.ts';
import type { Secret } from '../../desired/secret.ts';
import { ConfigError } from '../../errors.ts';
import { type FingerprintStore, MemoryFingerprintStore } from '../../state/fingerprints.ts';
import type { Applied, ApplyHooks, GuardedPlan, Plan, Policy, Reconciler } from '../../engine/types.ts';
import { applyModoboaPlan, type InventoryWriter } from './apply.ts';
import { ModoboaClient, modoboaSetting } from './client.ts';
import { DEFAULT_INSTANCE } from '../../engine/instance.ts';
import { AUTHENTICATION_NAME, type DesiredAuthentication, EARLIER_DEFAULT_INSTANCE, type LiveModoboa, type ModoboaLayout } from './model.ts';
import { type Inventory, observeModoboa } from './observe.ts';
import { serverOf } from './plan-authentication.ts';
import { planModoboa } from './plan.ts';
import type { ModoboaSettings } from './settings.ts';
import { verifyAgainst } from './verify.ts';

export type ModoboaReconcilerSettings = Omit<ModoboaSettings, 'token' | 'tokenFile' | 'ldapBindPassword' | 'ldapBindPasswordFile'> & {
  readonly token: Secret;
  readonly ldapBindPassword?: Secret | undefined;
};

/** systems.modoboa.ldap* → the parameters Modoboa should hold; undefined when infrasec does not manage its authentication. */
function desiredAuthentication(s: ModoboaReconcilerSettings): DesiredAuthentication | undefined {
  if (s.ldapUrl === undefined) return undefined;
  if (!s.ldapBindDN || !s.ldapSearchBase || !s.ldapBindPassword) {
    throw new ConfigError(`systems.modoboa: ldapUrl needs ldapBindDN, ldapBindPassword (or ldapBindPasswordFile) and ldapSearchBase (Authentication/${AUTHENTICATION_NAME})`);
  }
  return {
    url: s.ldapUrl,
    values: {
      authentication_type: 'ldap',
      ...serverOf(s.ldapUrl),
      ldap_is_active_directory: true,
      ldap_auth_method: 'searchbind',
      ldap_bind_dn: s.ldapBindDN,
      ldap_search_base: s.ldapSearchBase,
      ldap_search_filter: s.ldapSearchFilter,
    },
    bindPassword: s.ldapBindPassword,
  };
}

export interface ModoboaDeps {
  /** Durable controller state: holds the inventory of domains and accounts infrasec owns. In memory when absent. */
  readonly fingerprints?: FingerprintStore;
  readonly logger?: Logger;
  /** The controller-wide instance, used when settings.instance is unset. */
  readonly instance?: string;
}

export class ModoboaReconciler implements Reconciler<ResolvedState, LiveModoboa> {
  readonly system = 'modoboa' as const;
  readonly client: ModoboaClient;
  readonly #store: FingerprintStore;
  readonly #layout: ModoboaLayout;
  readonly #log: Logger | undefined;
  readonly #prefix: string;
  /** Inventory keys of the earlier default instance this one takes over; undefined when it takes over nothing. */
  readonly #earlierPrefix: string | undefined;

  constructor(settings: ModoboaReconcilerSettings, deps: ModoboaDeps = {}) {
    let ca: string | undefined;
    if (settings.caFile) {
      try {
        ca = readFileSync(settings.caFile, 'utf8');
      } catch (err) {
        throw new ConfigError(`cannot read ${modoboaSetting('caFile')} ${settings.caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { caFile: settings.caFile }, { cause: err });
      }
    }
    this.#log = deps.logger?.child({ system: this.system });
    this.client = new ModoboaClient({
      url: settings.url,
      token: settings.token,
      ca,
      timeoutMs: settings.timeoutMs,
      pageSize: settings.pageSize,
      maxRetries: settings.maxRetries,
      maxRetryAfterMs: settings.maxRetryAfterMs,
      onThrottled: (waitMs, path) => this.#log?.warn({ event: 'modoboa.throttled', waitMs, path }, 'Modoboa throttled a request; waiting'),
    });
    this.#store = deps.fingerprints ?? new MemoryFingerprintStore();
    const authentication = desiredAuthentication(settings);
    // An instance set for Modoboa itself means exactly that one; otherwise the controller-wide one continues what an
    // earlier version owned under its default name.
    const instance = settings.instance ?? deps.instance ?? DEFAULT_INSTANCE;
    const earlierInstance = settings.instance === undefined && instance !== EARLIER_DEFAULT_INSTANCE ? EARLIER_DEFAULT_INSTANCE : undefined;
    this.#layout = { instance, ...(earlierInstance ? { earlierInstance } : {}), mailboxRemoval: settings.mailboxRemoval, ...(authentication ? { authentication } : {}) };
    this.#prefix = `modoboa/${this.client.origin}/${instance}`;
    this.#earlierPrefix = earlierInstance && `modoboa/${this.client.origin}/${earlierInstance}`;
  }

  readonly #inventory: Inventory & InventoryWriter = {
    ownsDomain: (name) => this.#store.get(`${this.#prefix}/domain/${name.toLowerCase()}`) !== undefined,
    ownsAccount: (username) => this.#store.get(`${this.#prefix}/account/${username.toLowerCase()}`) !== undefined,
    inheritsDomain: (name) => this.#earlierPrefix !== undefined && this.#store.get(`${this.#earlierPrefix}/domain/${name.toLowerCase()}`) !== undefined,
    inheritsAccount: (username) => this.#earlierPrefix !== undefined && this.#store.get(`${this.#earlierPrefix}/account/${username.toLowerCase()}`) !== undefined,
    addDomain: async (name) => {
      await this.#store.set(`${this.#prefix}/domain/${name.toLowerCase()}`, 'owned');
      await this.#forgetEarlier(`domain/${name.toLowerCase()}`);
    },
    removeDomain: async (name) => {
      await this.#store.delete(`${this.#prefix}/domain/${name.toLowerCase()}`);
      await this.#forgetEarlier(`domain/${name.toLowerCase()}`);
    },
    addAccount: async (username) => {
      await this.#store.set(`${this.#prefix}/account/${username.toLowerCase()}`, 'owned');
      await this.#forgetEarlier(`account/${username.toLowerCase()}`);
    },
    removeAccount: async (username) => {
      await this.#store.delete(`${this.#prefix}/account/${username.toLowerCase()}`);
      await this.#forgetEarlier(`account/${username.toLowerCase()}`);
    },
  };

  /** Drops the earlier default instance's record of an object once this instance holds its own (or the object is gone). */
  async #forgetEarlier(key: string): Promise<void> {
    if (this.#earlierPrefix !== undefined && this.#store.get(`${this.#earlierPrefix}/${key}`) !== undefined) await this.#store.delete(`${this.#earlierPrefix}/${key}`);
  }

  /** The instance named in the alias markers and inventory this reconciler writes. */
  get instance(): string {
    return this.#layout.instance;
  }

  async observe(signal: AbortSignal): Promise<LiveModoboa> {
    const started = performance.now();
    const live = await observeModoboa(this.client, this.#inventory, this.#layout, signal, this.#layout.authentication !== undefined);
    this.#log?.info(
      { event: 'observe.done', domains: live.domains.size, accounts: live.accounts.size, aliases: live.aliases.size, ms: Math.round(performance.now() - started) },
      'observed Modoboa',
    );
    return live;
  }

  plan(desired: ResolvedState, live: LiveModoboa, policy: Policy): Plan {
    return planModoboa(desired, live, policy, this.#layout);
  }

  async apply(plan: GuardedPlan, signal: AbortSignal, hooks?: ApplyHooks): Promise<Applied[]> {
    const started = performance.now();
    const applied = await applyModoboaPlan(plan, { client: this.client, inventory: this.#inventory, instance: this.#layout.instance, logger: this.#log }, signal, hooks);
    this.#log?.info(
      { event: 'apply.done', changes: applied.length, failed: applied.filter((a) => !a.ok).length, writes: applied.reduce((n, a) => n + a.writes, 0), ms: Math.round(performance.now() - started) },
      'applied changes to Modoboa',
    );
    return applied;
  }

  async verify(applied: readonly Applied[], signal: AbortSignal): Promise<Diagnostic[]> {
    if (!applied.some((a) => a.ok && a.writes > 0)) return [];
    return verifyAgainst(await this.observe(signal), applied);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

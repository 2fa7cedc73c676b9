// The reconciler contract every system implements, and the plain-data shapes of plans and results.
import type { Diagnostic } from '../desired/diagnostic.ts';
import type { Secret } from '../desired/secret.ts';

/** A system's name as its module declares it (src/reconcilers/registry.ts lists them); the engine never names one. */
export type SystemName = string;

export type ChangeAction = 'create' | 'update' | 'disable' | 'delete';

/** One field's before → after. Sensitive fields carry the marker "(sensitive)" instead of values. */
export interface FieldChange {
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly sensitive?: boolean;
}

/**
 * A field as the system writes it (a pjsip variable, a pfRest field), with the field of the YAML object it comes from
 * (`spec.nat` for `pjsip:endpoint[200].rtp_symmetric`). `from` absent: the path is already the YAML's, or nothing
 * in the YAML sets it (system plumbing).
 */
export interface WireFieldChange extends FieldChange {
  readonly from?: string;
}

/**
 * One object-level change. Plain data: printable, serializable, comparable in tests. `Payload` is the system's own
 * typed data for apply; the engine never reads it: every rule it applies reads the first-class fields.
 */
export interface Change<Payload = unknown> {
  readonly system: SystemName;
  readonly kind: string;
  readonly name: string;
  /**
   * The identity the system matches live objects on (e.g. `User/jdupont` for an sAMAccountName), stable across
   * passes: never a position such as a rule index, which shifts when another object is deleted.
   */
  readonly key: string;
  readonly action: ChangeAction;
  /** Removes or disables an object because it left Git (as opposed to `enabled: false`): held unless policy.prune. */
  readonly prune: boolean;
  /** Takes over a live object infrasec does not own, because policy.adopt names it (see engine/adoption.ts). */
  readonly adopt: boolean;
  /**
   * What changes, field by field. In the YAML's terms (`spec.nat`) where the system's fields map one to one; otherwise
   * the system's own fields (`wire` then holds them too, `fields` the YAML view: see engine/yaml-fields.ts).
   */
  readonly fields: readonly FieldChange[];
  /**
   * The same change in the system's own terms, when they differ from `fields` (pjsip variables, pfRest fields): shown
   * only with `--detail`, kept in the JSON output. Absent when `fields` already is what the system writes.
   */
  readonly wire?: readonly WireFieldChange[];
  /**
   * `Kind/name` of the YAML object this change serves when it is not one itself (a group's membership list, a VPN
   * profile's certificate, a person's mailbox): plans show and count it as part of that object.
   */
  readonly serves?: string;
  /**
   * Plumbing no YAML object owns (a config file's ownership template, a container OU, a reload, a firewall filter
   * reload): plans fold it into one line per system and do not count it; `--detail` lists it.
   */
  readonly supporting?: boolean;
  readonly reason: string;
  /** Dependency rank: lower runs first for creates/updates; deletes run in reverse rank. */
  readonly rank: number;
  /** System-specific, non-secret data apply needs (e.g. the DN). Secrets travel as `Secret` objects, which serialize redacted. */
  readonly payload?: Payload;
}

/** A live object that collides with a desired one but is not owned by infrasec. */
export interface Conflict {
  readonly system: SystemName;
  readonly kind: string;
  readonly name: string;
  /** What is in the way and what to do about it (the setting to change, the line to add, the adopt entry). */
  readonly message: string;
  /**
   * The desired object cannot work until this is resolved (it is not written, or written where nothing reaches it):
   * the pass fails, so a run never ends with exit 0 while something Git asks for is out of service.
   */
  readonly blocking?: boolean;
  /**
   * Nothing on the live system is in the way: the desired object is applied as far as the system can express it (e.g.
   * a setting it has no equivalent for). Printed as a note; it does not make the exit code non-zero, a conflict does.
   */
  readonly advisory?: boolean;
}

export interface Plan<Payload = unknown> {
  readonly system: SystemName;
  readonly changes: readonly Change<Payload>[];
  readonly conflicts: readonly Conflict[];
  /** Number of live objects the system owns, for the percentage deletion threshold. */
  readonly ownedCount: number;
  /**
   * Fields the running system cannot show, so a difference there between its files and what it runs goes unseen
   * (e.g. `Extension/*: spec.voicemail.pin (app_voicemail lists no PINs)`). Printed with the plan and the drift report.
   */
  readonly unreadable?: readonly string[];
}

declare const guarded: unique symbol;
/** A plan that passed the guards. Only `guard()` in engine/guard.ts makes one, so apply cannot take an unguarded plan. */
export type GuardedPlan<Payload = unknown> = Plan<Payload> & { readonly [guarded]: true };

export type DriftMode = 'correct' | 'report' | 'ignore';

export interface Policy {
  /** Delete (or disable) owned objects that left Git. Off by default. */
  readonly prune: boolean;
  /** What removal from Git does to a user account: disable (default) or delete. */
  readonly userRemoval: 'disable' | 'delete';
  readonly deletionThreshold: { readonly count: number; readonly percent: number };
  /** `Kind/name` entries that are never deleted or disabled. */
  readonly protected: readonly string[];
  /** `Kind/name` entries (or `*`) whose unowned live twin may be adopted. */
  readonly adopt: readonly string[];
  /**
   * `User/name` entries (or `*`) whose password is set from Git even though infrasec has no fingerprint of setting the
   * current one (which may be the user's own). Optional: absent means none.
   */
  readonly resetPasswords?: readonly string[];
  /**
   * Allow a plan that changes the generated secrets of every object holding them at once (engine/secret-rotation.ts),
   * as a new generator key does. Optional: absent means refused.
   */
  readonly rotateGeneratedSecrets?: boolean;
  readonly suspended: boolean;
  /** Crisis mode: only creates and updates, nothing disabled or deleted. */
  readonly additiveOnly: boolean;
  /** Drift handling per kind; `*` is the default. */
  readonly drift: Readonly<Record<string, DriftMode>>;
}

export const DEFAULT_POLICY: Policy = {
  prune: false,
  userRemoval: 'disable',
  deletionThreshold: { count: 10, percent: 20 },
  protected: [],
  adopt: [],
  suspended: false,
  additiveOnly: false,
  drift: { '*': 'correct' },
};

export interface Applied<Payload = unknown> {
  readonly change: Change<Payload>;
  readonly ok: boolean;
  /** Writes actually sent to the system for this change. */
  readonly writes: number;
  readonly error?: string;
  /**
   * Nothing was sent for this change: an earlier one found the system unavailable, or the pass was stopped
   * (engine/apply-halt.ts). Recorded as `not-attempted`; the next pass plans it again.
   */
  readonly notAttempted?: boolean;
}

export interface ApplyHooks<Payload = unknown> {
  /** Called after each change, for progress bars and the audit trail. */
  onApplied?(applied: Applied<Payload>, done: number, total: number): void;
}

/** A file a person needs to connect to a system (e.g. a VPN client configuration); it holds keys, so it is a Secret. */
export interface ClientConfig {
  /** `Kind/name` of the desired object it is for. */
  readonly object: string;
  /** File name to hand it over as, e.g. `vpn-jdupont.ovpn`. */
  readonly file: string;
  readonly content: Secret;
}

/** What every system implements. observe reads in bulk; plan is pure; apply and verify do the I/O. */
export interface Reconciler<Desired, Live, Payload = unknown> {
  readonly system: SystemName;
  observe(signal: AbortSignal): Promise<Live>;
  plan(desired: Desired, live: Live, policy: Policy): Plan<Payload>;
  apply(plan: GuardedPlan<Payload>, signal: AbortSignal, hooks?: ApplyHooks<Payload>): Promise<Applied<Payload>[]>;
  verify(applied: readonly Applied<Payload>[], signal: AbortSignal): Promise<Diagnostic[]>;
  /**
   * Optional: the client configuration files of one person (`User` name) as the live system exports them, for
   * `infrasec secrets --client-configs`. Reads only; an empty list when the person has none on this system.
   */
  clientConfigs?(desired: Desired, person: string, signal: AbortSignal): Promise<ClientConfig[]>;
  /** Releases connections. */
  close(): Promise<void>;
}

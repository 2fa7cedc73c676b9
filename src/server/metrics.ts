// Prometheus metrics of the controller (prom-client, one registry per controller), every series of a known label set present from the start. Only controller/status.ts writes them.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ChangeAction } from '../engine/types.ts';
import type { NotifyEvent } from '../notify/notification.ts';
import { buildInfo } from './build-info.ts';

/** What a pass was: `apply` for a new commit, `drift` for a re-check of the applied one. */
export type PassKind = 'apply' | 'drift';
/** How a pass ended: `ok` (in sync, applied, or changes held by policy), `failed`, `refused` by a guard, `skipped` (suspended). */
export type PassOutcome = 'ok' | 'failed' | 'refused' | 'skipped';
/** What became of one change apply was given. Held changes are not events: see `heldChanges`. */
export type ChangeResult = 'ok' | 'failed' | 'not-attempted';
export type WebhookResult = 'accepted' | 'unauthorized' | 'disabled' | 'too-large' | 'bad-request';

// Records, so adding a value to one of the types without listing it here fails the type check.
const ACTIONS: Record<ChangeAction, true> = { create: true, update: true, disable: true, delete: true };
const PASS_KINDS: Record<PassKind, true> = { apply: true, drift: true };
const PASS_OUTCOMES: Record<PassOutcome, true> = { ok: true, failed: true, refused: true, skipped: true };
const CHANGE_RESULTS: Record<ChangeResult, true> = { ok: true, failed: true, 'not-attempted': true };
const WEBHOOK_RESULTS: Record<WebhookResult, true> = { accepted: true, unauthorized: true, disabled: true, 'too-large': true, 'bad-request': true };
const NOTIFY_EVENTS: Record<NotifyEvent, true> = { 'drift.found': true, 'apply.failed': true, 'guard.refused': true, 'source.rejected': true };

/**
 * Failure codes the engine and the controller give a pass of any system; they start at 0. A code of one system's own
 * client (its protocol errors) is a series from its first occurrence: alert on infrasec_passes_total{result="failed"}.
 */
export const PASS_FAILURE_CODES = [
  'target-unavailable', 'authentication-failed', 'apply-failed', 'conflict', 'guard-refused', 'config-invalid', 'pass-timeout',
  'dependency-not-converged', 'audit-write-failed', 'state-write-failed', 'failed', 'internal',
] as const;

/** Why the source's head was not taken (source-tracker.ts); each starts at 0. */
export const SOURCE_FAILURE_CODES = [
  'source-unavailable', 'signature-refused', 'non-fast-forward', 'lineage-failed', 'load-failed', 'validation-failed', 'audit-write-failed',
] as const;

const keys = <T extends string>(r: Record<T, true>) => Object.keys(r) as T[];

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly passDuration: Histogram<'system' | 'pass'>;
  readonly passes: Counter<'system' | 'pass' | 'result'>;
  readonly changes: Counter<'system' | 'action' | 'result'>;
  readonly heldChanges: Gauge<'system' | 'action'>;
  readonly driftedObjects: Gauge<'system'>;
  readonly passFailures: Counter<'system' | 'code'>;
  readonly lastSuccess: Gauge<'system'>;
  readonly ready: Gauge<'system'>;
  readonly appliedCommit: Gauge<'system' | 'commit'>;
  readonly stalled: Gauge<'system' | 'reason'>;
  readonly waiting: Gauge<'system' | 'on'>;
  readonly sourceHead: Gauge<'commit' | 'applicable'>;
  readonly sourceFailures: Counter<'code'>;
  readonly webhookRequests: Counter<'result'>;
  readonly notificationFailures: Counter<'event'>;
  readonly stuckWorkers: Gauge<'system'>;
  readonly build: Gauge<'version' | 'node_version'>;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.passDuration = new Histogram({
      name: 'infrasec_pass_duration_seconds', help: 'Duration of reconcile passes (pass: apply for a new commit, drift for a re-check of the applied one)',
      labelNames: ['system', 'pass'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers,
    });
    this.passes = new Counter({
      name: 'infrasec_passes_total', help: 'Finished passes by system, pass (apply, drift) and result (ok, failed, refused, skipped)',
      labelNames: ['system', 'pass', 'result'], registers,
    });
    this.changes = new Counter({ name: 'infrasec_changes_total', help: 'Changes apply was given, by system, action and result (ok, failed, not-attempted)', labelNames: ['system', 'action', 'result'], registers });
    this.heldChanges = new Gauge({
      name: 'infrasec_held_changes', help: 'Changes the last planning pass found but policy holds (pruning off, drift policy report), by system and action',
      labelNames: ['system', 'action'], registers,
    });
    this.driftedObjects = new Gauge({ name: 'infrasec_drifted_objects', help: 'Objects whose live state differs from the applied commit and is not corrected', labelNames: ['system'], registers });
    this.passFailures = new Counter({ name: 'infrasec_pass_failures_total', help: 'Passes that failed or were refused, by error code', labelNames: ['system', 'code'], registers });
    this.lastSuccess = new Gauge({ name: 'infrasec_last_success_timestamp_seconds', help: 'Unix time of the last pass that completed without error', labelNames: ['system'], registers });
    this.ready = new Gauge({
      name: 'infrasec_system_ready', help: 'Value 1 while the system\'s last pass succeeded and it is not stuck, stalled or waiting for a dependency; 0 otherwise',
      labelNames: ['system'], registers,
    });
    this.appliedCommit = new Gauge({ name: 'infrasec_applied_commit_info', help: 'The commit applied to each system (value 1 on the current one)', labelNames: ['system', 'commit'], registers });
    this.stalled = new Gauge({
      name: 'infrasec_system_stalled', help: 'Systems not retried until the commit or the configuration changes (value 1), by reason (error code)',
      labelNames: ['system', 'reason'], registers,
    });
    this.waiting = new Gauge({
      name: 'infrasec_system_waiting', help: 'Value 1 while a system holds a new commit until a system it depends on (on) converged on it',
      labelNames: ['system', 'on'], registers,
    });
    this.sourceHead = new Gauge({ name: 'infrasec_source_head_info', help: 'Head revision of the source (value 1), and whether it may be applied', labelNames: ['commit', 'applicable'], registers });
    this.sourceFailures = new Counter({ name: 'infrasec_source_failures_total', help: 'Source syncs that failed (unreachable, missing ref, invalid or untrusted commit)', labelNames: ['code'], registers });
    this.webhookRequests = new Counter({ name: 'infrasec_webhook_requests_total', help: 'Webhook requests by result (accepted, unauthorized, disabled, too-large, bad-request)', labelNames: ['result'], registers });
    this.notificationFailures = new Counter({ name: 'infrasec_notification_failures_total', help: 'Notifications a target could not take after retries, by event', labelNames: ['event'], registers });
    this.stuckWorkers = new Gauge({ name: 'infrasec_worker_stuck', help: 'Value 1 while a system\'s pass runs past its timeout without settling (its worker is stuck)', labelNames: ['system'], registers });
    this.build = new Gauge({ name: 'infrasec_build_info', help: 'The running infrasec version and Node.js version (value 1)', labelNames: ['version', 'node_version'], registers });

    const info = buildInfo();
    this.build.set({ version: info.version, node_version: info.nodeVersion }, 1);
    for (const code of SOURCE_FAILURE_CODES) this.sourceFailures.inc({ code }, 0);
    for (const result of keys(WEBHOOK_RESULTS)) this.webhookRequests.inc({ result }, 0);
    for (const event of keys(NOTIFY_EVENTS)) this.notificationFailures.inc({ event }, 0);
    // Unprefixed, as stock Node.js dashboards and alerts expect (process_cpu_seconds_total, nodejs_heap_size_used_bytes, …).
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Every series of a configured system at its starting value, so rate() and increase() see the first event. */
  addSystem(system: string): void {
    for (const pass of keys(PASS_KINDS)) {
      this.passDuration.zero({ system, pass });
      for (const result of keys(PASS_OUTCOMES)) this.passes.inc({ system, pass, result }, 0);
    }
    for (const action of keys(ACTIONS)) {
      for (const result of keys(CHANGE_RESULTS)) this.changes.inc({ system, action, result }, 0);
      this.heldChanges.set({ system, action }, 0);
    }
    for (const code of PASS_FAILURE_CODES) this.passFailures.inc({ system, code }, 0);
    this.driftedObjects.set({ system }, 0);
    this.stuckWorkers.set({ system }, 0);
    this.ready.set({ system }, 0);
  }

  /** Sets the held-changes gauge of one system from the changes its last planning pass held. */
  setHeld(system: string, actions: readonly ChangeAction[]): void {
    const counts = new Map(keys(ACTIONS).map((a) => [a, 0]));
    for (const a of actions) counts.set(a, (counts.get(a) ?? 0) + 1);
    for (const [action, n] of counts) this.heldChanges.set({ system, action }, n);
  }
}

// Prometheus metrics of the controller (prom-client, one registry per controller). Only controller/status.ts writes them.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly passDuration: Histogram<'system' | 'kind'>;
  readonly changes: Counter<'system' | 'action' | 'result'>;
  readonly driftedObjects: Gauge<'system'>;
  readonly passFailures: Counter<'system' | 'code'>;
  readonly lastSuccess: Gauge<'system'>;
  readonly appliedCommit: Gauge<'system' | 'commit'>;
  readonly stalled: Gauge<'system' | 'reason'>;
  readonly waiting: Gauge<'system' | 'on'>;
  readonly sourceHead: Gauge<'commit' | 'applicable'>;
  readonly sourceFailures: Counter<'code'>;
  readonly webhookRequests: Counter<'result'>;
  readonly notificationFailures: Counter<'event'>;
  readonly stuckWorkers: Gauge<'system'>;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.passDuration = new Histogram({
      name: 'infrasec_pass_duration_seconds', help: 'Duration of reconcile passes (kind: apply for a new commit, drift for a re-check of the applied one)',
      labelNames: ['system', 'kind'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers,
    });
    this.changes = new Counter({ name: 'infrasec_changes_total', help: 'Object changes by system, action and result (ok, failed, not-attempted, held)', labelNames: ['system', 'action', 'result'], registers });
    this.driftedObjects = new Gauge({ name: 'infrasec_drifted_objects', help: 'Objects whose live state differs from the applied commit and is not corrected', labelNames: ['system'], registers });
    this.passFailures = new Counter({ name: 'infrasec_pass_failures_total', help: 'Passes that failed or were refused, by error code', labelNames: ['system', 'code'], registers });
    this.lastSuccess = new Gauge({ name: 'infrasec_last_success_timestamp_seconds', help: 'Unix time of the last pass that completed without error', labelNames: ['system'], registers });
    this.appliedCommit = new Gauge({ name: 'infrasec_applied_commit', help: 'The commit applied to each system (value 1 on the current one)', labelNames: ['system', 'commit'], registers });
    this.stalled = new Gauge({
      name: 'infrasec_system_stalled', help: 'Systems not retried until the commit or the configuration changes (value 1), by reason (error code)',
      labelNames: ['system', 'reason'], registers,
    });
    this.waiting = new Gauge({
      name: 'infrasec_system_waiting', help: 'Value 1 while a system holds a new commit until a system it depends on (on) converged on it',
      labelNames: ['system', 'on'], registers,
    });
    this.sourceHead = new Gauge({ name: 'infrasec_source_head', help: 'Head revision of the source (value 1), and whether it may be applied', labelNames: ['commit', 'applicable'], registers });
    this.sourceFailures = new Counter({ name: 'infrasec_source_failures_total', help: 'Source syncs that failed (unreachable, missing ref, invalid or untrusted commit)', labelNames: ['code'], registers });
    this.webhookRequests = new Counter({ name: 'infrasec_webhook_requests_total', help: 'Webhook requests by result (accepted, unauthorized, …)', labelNames: ['result'], registers });
    this.notificationFailures = new Counter({ name: 'infrasec_notification_failures_total', help: 'Notifications that could not be delivered after retries', labelNames: ['event'], registers });
    this.stuckWorkers = new Gauge({ name: 'infrasec_worker_stuck', help: 'Value 1 while a system\'s pass runs past its timeout without settling (its worker is stuck)', labelNames: ['system'], registers });
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'infrasec_' });
  }
}

// Renders pass results (plan, apply, drift) as Terraform-like text or JSON (Markdown: plan-markdown.ts). Secrets print as "(changed)".
import { formatDiagnostic, type Diagnostic } from '../desired/diagnostic.ts';
import { REDACTED } from '../desired/secret.ts';
import type { PassMode, PassResult } from '../engine/pass.ts';
import type { Applied, Change, ChangeAction, Conflict, FieldChange, SystemName } from '../engine/types.ts';
import { renderMarkdown } from './plan-markdown.ts';

export type ReportFormat = 'text' | 'json' | 'markdown';

export interface Skipped {
  readonly system: SystemName;
  readonly reason: string;
}

export interface Report {
  readonly mode: PassMode;
  readonly revision: string;
  readonly results: readonly PassResult[];
  readonly skipped: readonly Skipped[];
}

export const SYMBOL: Record<ChangeAction, string> = { create: '+', update: '~', disable: '!', delete: '-' };

/** A value as it prints in a plan: strings quoted, absent as (none), secrets never. */
export function formatValue(v: unknown): string {
  if (v === undefined || v === null) return '(none)';
  if (typeof v === 'string') return v === REDACTED ? REDACTED : JSON.stringify(v);
  return JSON.stringify(v);
}

function fieldLine(f: FieldChange): string {
  if (f.sensitive) return `${f.path}: (changed)`;
  return `${f.path}: ${formatValue(f.before)} → ${formatValue(f.after)}`;
}

/** The JSON shape of one change: values of sensitive fields are replaced, whatever the reconciler put there. */
export function changeToJson(c: Change): Record<string, unknown> {
  return {
    system: c.system, kind: c.kind, name: c.name, action: c.action, reason: c.reason,
    fields: c.fields.map((f) => (f.sensitive ? { path: f.path, before: REDACTED, after: REDACTED, sensitive: true } : { path: f.path, before: f.before ?? null, after: f.after ?? null })),
  };
}

export function countActions(changes: readonly Change[]): Record<ChangeAction, number> {
  const n: Record<ChangeAction, number> = { create: 0, update: 0, disable: 0, delete: 0 };
  for (const c of changes) n[c.action]++;
  return n;
}

const WORDS: Record<PassMode, { done: string; partial: string; nothing: string }> = {
  plan: { done: 'Plan', partial: 'Elsewhere', nothing: 'planned' },
  apply: { done: 'Apply complete', partial: 'Applied', nothing: 'applied' },
  drift: { done: 'Drift', partial: 'Elsewhere', nothing: 'compared' },
};

/** Systems that did not run their pass to the end: failed, refused by a guard, or suspended (and those not configured). */
function systemsLine(report: Report): { failed: string; refused: string; skipped: string } {
  const failed = report.results.filter((r) => r.status === 'failed');
  const refused = report.results.filter((r) => r.status === 'refused');
  const skipped = [
    ...report.results.filter((r) => r.status === 'skipped').map((r) => `${r.system} (${r.refused[0] ?? 'skipped'})`),
    ...report.skipped.map((s) => `${s.system} (${s.reason})`),
  ];
  const verb = report.mode === 'apply' ? 'Apply' : report.mode === 'drift' ? 'Drift' : 'Plan';
  return {
    failed: failed.length > 0 ? `${verb} FAILED for ${failed.length} of ${report.results.length} system(s): ${failed.map((r) => `${r.system} [${r.error?.code ?? 'failed'}]`).join(', ')}.` : '',
    refused: refused.length > 0 ? `Refused by a guard: ${refused.map((r) => r.system).join(', ')}.` : '',
    skipped: skipped.length > 0 ? `Skipped: ${skipped.join(', ')}.` : '',
  };
}

/**
 * The last line: counts of changes and conflicts, led by the systems that failed (so a failed run never ends like an
 * empty plan), then those refused or skipped, each with why.
 */
export function summaryLine(report: Report): string {
  const all = report.results.flatMap((r) => (report.mode === 'apply' ? r.applied.filter((a) => a.ok).map((a) => a.change) : r.changes));
  const n = countActions(all);
  const conflicts = report.results.reduce((k, r) => k + r.conflicts.filter((c) => !c.advisory).length, 0);
  const notes = report.results.reduce((k, r) => k + r.conflicts.filter((c) => c.advisory).length, 0);
  const held = report.results.reduce((k, r) => k + r.held.length, 0);
  const failed = report.results.reduce((k, r) => k + r.applied.filter((a) => !a.ok && !a.notAttempted).length, 0);
  const notAttempted = report.results.reduce((k, r) => k + r.applied.filter((a) => a.notAttempted).length, 0);
  const counts = report.mode === 'apply'
    ? `${n.create} created, ${n.update} updated, ${n.disable} disabled, ${n.delete} deleted`
    : report.mode === 'drift'
      ? `${all.length} object(s) differ from the desired state`
      : `${n.create} to create, ${n.update} to update, ${n.disable} to disable, ${n.delete} to delete`;
  const extras = [
    conflicts ? `${conflicts} conflict(s) to resolve` : '',
    notes ? `${notes} note(s)` : '',
    held && report.mode !== 'drift' ? `${held} held back` : '',
    failed ? `${failed} failed` : '',
    notAttempted ? `${notAttempted} not attempted` : '',
  ].filter(Boolean);
  const systems = systemsLine(report);
  const ran = report.results.filter((r) => r.status !== 'failed' && r.status !== 'skipped').length;
  // Counts of systems that failed before planning would read as "nothing to do": say so instead.
  const nothingElse = systems.failed && ran === 0 && all.length === 0 && conflicts + notes + held + failed + notAttempted === 0;
  const label = systems.failed ? WORDS[report.mode].partial : WORDS[report.mode].done;
  const body = nothingElse ? `Nothing was ${WORDS[report.mode].nothing}.` : `${label}: ${counts}${extras.length ? `; ${extras.join(', ')}` : ''}.`;
  return [systems.failed, body, systems.refused, systems.skipped].filter(Boolean).join(' ');
}

function conflictLabel(c: Conflict): string {
  return c.advisory ? 'note' : c.blocking ? 'conflict (out of service until resolved)' : 'conflict';
}

function failureNote(a: Applied): string {
  return a.notAttempted ? `  (${a.error ?? 'not attempted'})` : `  (FAILED: ${a.error ?? 'failed'})`;
}

function renderText(report: Report): string {
  const out: string[] = [];
  for (const r of report.results) {
    out.push(`${r.system} @ ${r.revision.slice(0, 12)}: ${r.status}`);
    const heldWhy = new Map(r.held.map((h) => [h.change, h.why]));
    const failures = new Map(r.applied.filter((a) => !a.ok).map((a) => [a.change, a]));
    for (const c of r.changes) {
      const note = heldWhy.has(c) && report.mode !== 'drift' ? `  (not applied: ${heldWhy.get(c)})` : failures.has(c) ? failureNote(failures.get(c)!) : '';
      out.push(`  ${SYMBOL[c.action]} ${c.kind}/${c.name}  ${c.action}${note}`);
      // The plan already showed every field; an apply reports one line per change, as Terraform does.
      if (report.mode !== 'apply') for (const f of c.fields) out.push(`      ${fieldLine(f)}`);
    }
    for (const c of r.conflicts) out.push(`  ${c.advisory ? 'i' : '?'} ${c.kind}/${c.name}  ${conflictLabel(c)}: ${c.message}`);
    for (const u of r.unreadable ?? []) out.push(`  ~ not readable from the running system, so drift there goes unseen: ${u}`);
    for (const reason of r.refused) out.push(`  ✗ refused: ${reason}`);
    for (const d of r.verify) out.push(`  verify: ${formatDiagnostic(d)}`);
    if (r.error && r.status === 'failed') out.push(`  error [${r.error.code}]: ${r.error.message}`);
    if (r.changes.length === 0 && r.conflicts.length === 0 && r.status === 'in-sync') out.push('  no changes: live state matches the desired state');
  }
  out.push(summaryLine(report));
  return out.join('\n');
}


function renderJson(report: Report): string {
  return JSON.stringify({
    mode: report.mode,
    revision: report.revision,
    summary: summaryLine(report),
    systems: report.results.map((r) => ({
      system: r.system, status: r.status, revision: r.revision, startedAt: r.startedAt, durationMs: r.durationMs, writes: r.writes,
      changes: r.changes.map(changeToJson),
      held: r.held.map((h) => ({ kind: h.change.kind, name: h.change.name, action: h.change.action, why: h.why })),
      conflicts: r.conflicts,
      unreadable: r.unreadable ?? [],
      refused: r.refused,
      applied: r.applied.map((a) => ({ kind: a.change.kind, name: a.change.name, action: a.change.action, ok: a.ok, notAttempted: a.notAttempted ?? false, writes: a.writes, error: a.error ?? null })),
      verify: r.verify,
      error: r.error ?? null,
    })),
    skipped: report.skipped,
  }, null, 2);
}

/** A run that stopped before any system's pass: invalid configuration or desired state, no system selected, cancelled. */
export interface RunFailure {
  readonly mode: PassMode;
  readonly error: { readonly code: string; readonly message: string };
  /** The desired state's problems, when it is what stopped the run. */
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * The same document a report is (JSON with the same keys, no systems; or Markdown), so a pipeline reading stdout always
 * gets one, with the error and the diagnostics. Text output says it on stderr instead.
 */
export function renderFailure(f: RunFailure, format: ReportFormat): string {
  const summary = `${f.mode === 'apply' ? 'Apply' : f.mode === 'drift' ? 'Drift' : 'Plan'} FAILED: ${f.error.message}`;
  const lines = [`[${f.error.code}] ${f.error.message}`, ...f.diagnostics.map(formatDiagnostic)];
  switch (format) {
    case 'json':
      return JSON.stringify({ mode: f.mode, revision: null, summary, error: f.error, diagnostics: f.diagnostics, systems: [], skipped: [] }, null, 2);
    case 'markdown':
      // Messages go in a fence, where nothing is read as Markdown or HTML; only a run of backticks could close it.
      return [`### infrasec ${f.mode} failed`, '', '````text', ...lines.map((l) => l.replace(/`{3,}/g, (m) => "'".repeat(m.length))), '````'].join('\n');
    case 'text':
      return lines.join('\n');
  }
}

export function renderReport(report: Report, format: ReportFormat): string {
  switch (format) {
    case 'json':
      return renderJson(report);
    case 'markdown':
      return renderMarkdown(report);
    case 'text':
      return renderText(report);
  }
}

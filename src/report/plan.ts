// Renders pass results (plan, apply, drift) as Terraform-like text or JSON (Markdown: plan-markdown.ts). Secrets print as "(changed)".
import { formatDiagnostic, type Diagnostic } from '../desired/diagnostic.ts';
import { REDACTED } from '../desired/secret.ts';
import type { PassMode, PassResult } from '../engine/pass.ts';
import { DIFFERS } from '../engine/yaml-fields.ts';
import type { Applied, Change, ChangeAction, Conflict, FieldChange, SystemName } from '../engine/types.ts';
import { describeSupporting, objectOutcome, objectView } from './objects.ts';
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
  if (typeof v === 'string') return v === REDACTED || v === DIFFERS ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

function fieldLine(f: FieldChange): string {
  if (f.sensitive) return `${f.path}: (changed)`;
  return `${f.path}: ${formatValue(f.before)} → ${formatValue(f.after)}`;
}

const redact = (f: FieldChange) => (f.sensitive ? { path: f.path, before: REDACTED, after: REDACTED, sensitive: true } : { path: f.path, before: f.before ?? null, after: f.after ?? null });

/**
 * The JSON shape of one change: values of sensitive fields are replaced, whatever the reconciler put there. `fields`
 * in the YAML's terms; `wire` (when the system's own fields differ) what it writes; `serves`/`supporting` as planned.
 */
export function changeToJson(c: Change): Record<string, unknown> {
  return {
    system: c.system, kind: c.kind, name: c.name, action: c.action, reason: c.reason,
    fields: c.fields.map(redact),
    ...(c.wire ? { wire: c.wire.map((f) => ({ ...redact(f), ...(f.from ? { from: f.from } : {}) })) } : {}),
    ...(c.serves ? { serves: c.serves } : {}),
    ...(c.supporting ? { supporting: true } : {}),
  };
}

export function countActions(items: ReadonlyArray<{ readonly action: ChangeAction }>): Record<ChangeAction, number> {
  const n: Record<ChangeAction, number> = { create: 0, update: 0, disable: 0, delete: 0 };
  for (const c of items) n[c.action]++;
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

/** A pass result's tally in YAML objects: what plans count (supporting changes only when they failed or were held). */
interface Tally {
  readonly counted: Record<ChangeAction, number>;
  readonly held: number;
  readonly failed: number;
  readonly notAttempted: number;
  readonly objects: number;
}

function tally(r: PassResult, mode: PassMode): Tally {
  const view = objectView(r.changes);
  const applied = new Map(r.applied.map((a) => [a.change, a]));
  const held = new Set(r.held.map((h) => h.change));
  const outcomes = view.objects.map((o) => objectOutcome(o, applied));
  const supportOutcomes = view.supporting.map((c) => applied.get(c));
  return {
    counted: countActions(mode === 'apply' ? view.objects.filter((_, i) => outcomes[i] === 'ok') : view.objects),
    held: view.objects.filter((o) => o.changes.some((c) => held.has(c))).length + view.supporting.filter((c) => held.has(c)).length,
    failed: outcomes.filter((o) => o === 'failed').length + supportOutcomes.filter((a) => a && !a.ok && !a.notAttempted).length,
    notAttempted: outcomes.filter((o) => o === 'not-attempted').length + supportOutcomes.filter((a) => a?.notAttempted).length,
    // Drift in plumbing alone (a deleted ownership template) is still drift: counted when nothing else differs.
    objects: view.objects.length || view.supporting.length,
  };
}

/**
 * The last line: counts of YAML objects and conflicts, led by the systems that failed (so a failed run never ends like
 * an empty plan), then those refused or skipped, each with why.
 */
export function summaryLine(report: Report): string {
  const tallies = report.results.map((r) => tally(r, report.mode));
  const n: Record<ChangeAction, number> = { create: 0, update: 0, disable: 0, delete: 0 };
  for (const t of tallies) for (const a of Object.keys(n) as ChangeAction[]) n[a] += t.counted[a];
  const sum = (pick: (t: Tally) => number) => tallies.reduce((k, t) => k + pick(t), 0);
  const objects = sum((t) => t.objects);
  const total = n.create + n.update + n.disable + n.delete;
  const conflicts = report.results.reduce((k, r) => k + r.conflicts.filter((c) => !c.advisory).length, 0);
  const notes = report.results.reduce((k, r) => k + r.conflicts.filter((c) => c.advisory).length, 0);
  const held = sum((t) => t.held);
  const failed = sum((t) => t.failed);
  const notAttempted = sum((t) => t.notAttempted);
  const counts = report.mode === 'apply'
    ? `${n.create} created, ${n.update} updated, ${n.disable} disabled, ${n.delete} deleted`
    : report.mode === 'drift'
      ? `${objects} object(s) differ from the desired state`
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
  const nothingElse = systems.failed && ran === 0 && total + objects === 0 && conflicts + notes + held + failed + notAttempted === 0;
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

/** How a report prints: `detail` adds each change in the system's own fields and the supporting changes. */
export interface RenderOptions {
  readonly detail?: boolean;
}

/**
 * The note after a change or object line: why it was not applied, or what went wrong. Looked up by change, once per
 * result, so a report of thousands of changes stays linear.
 */
function outcomeNotes(r: PassResult, mode: PassMode): (changes: readonly Change[]) => string {
  const heldWhy = new Map(r.held.map((h) => [h.change, h.why]));
  const failed = new Map(r.applied.filter((a) => !a.ok).map((a) => [a.change, a]));
  return (changes) => {
    const why = mode === 'drift' ? undefined : changes.map((c) => heldWhy.get(c)).find((w) => w !== undefined);
    if (why !== undefined) return `  (not applied: ${why})`;
    const bad = changes.map((c) => failed.get(c)).find(Boolean);
    return bad ? failureNote(bad) : '';
  };
}

/** One line per YAML object; updates list their YAML fields; plumbing in one line, unless something went wrong with it. */
function objectLines(r: PassResult, mode: PassMode): string[] {
  const out: string[] = [];
  const view = objectView(r.changes);
  const noteOf = outcomeNotes(r, mode);
  for (const o of view.objects) {
    const via = o.via.length > 0 ? ` (${o.via.join(', ')})` : '';
    out.push(`  ${SYMBOL[o.action]} ${o.kind}/${o.name}  ${o.action}${via}${noteOf(o.changes)}`);
    // Creates and deletes are the YAML document itself (the diff shows it); an apply reports one line per object.
    if (mode === 'apply') continue;
    if (o.action !== 'create' && o.action !== 'delete') for (const f of o.fields) out.push(`      ${fieldLine(f)}`);
    // Why something goes away (or changes with nothing the YAML names) is the line a reviewer needs.
    const reason = o.changes[0]?.reason;
    if (reason && (o.action === 'delete' || o.action === 'disable' || o.fields.length === 0)) out.push(`      # ${reason}`);
  }
  const quiet: Change[] = [];
  for (const c of view.supporting) {
    const note = noteOf([c]);
    if (note) out.push(`  ${SYMBOL[c.action]} ${c.kind}/${c.name}  ${c.action}${note}`);
    else quiet.push(c);
  }
  if (quiet.length > 0) out.push(`  · ${quiet.length} supporting change(s), not counted: ${describeSupporting(quiet)} (--detail lists them)`);
  return out;
}

/** Every change as the system makes it: its own fields (`wire`) where they differ from the YAML's, plumbing included. */
function detailLines(r: PassResult, mode: PassMode): string[] {
  const out: string[] = [];
  const noteOf = outcomeNotes(r, mode);
  for (const c of r.changes) {
    const tags = [c.serves ? `for ${c.serves}` : '', c.supporting ? 'supporting' : ''].filter(Boolean);
    out.push(`  ${SYMBOL[c.action]} ${c.kind}/${c.name}  ${c.action}${tags.length ? ` [${tags.join(', ')}]` : ''}${noteOf([c])}`);
    if (mode === 'apply') continue;
    for (const f of c.fields) out.push(`      ${fieldLine(f)}`);
    for (const f of c.wire ?? []) out.push(`        ${fieldLine(f)}`);
  }
  return out;
}

function renderText(report: Report, options: RenderOptions): string {
  const out: string[] = [];
  for (const r of report.results) {
    out.push(`${r.system} @ ${r.revision.slice(0, 12)}: ${r.status}`);
    out.push(...(options.detail ? detailLines(r, report.mode) : objectLines(r, report.mode)));
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
      objects: objectView(r.changes).objects.map((o) => ({ kind: o.kind, name: o.name, action: o.action, fields: o.fields.map(redact), changes: o.changes.length })),
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

export function renderReport(report: Report, format: ReportFormat, options: RenderOptions = {}): string {
  switch (format) {
    case 'json':
      return renderJson(report);
    case 'markdown':
      return renderMarkdown(report, options);
    case 'text':
      return renderText(report, options);
  }
}

// Renders pass results (plan, apply, drift) as Terraform-like text, JSON or Markdown. Secrets print as "(changed)".
import { formatDiagnostic } from '../desired/diagnostic.ts';
import { REDACTED } from '../desired/secret.ts';
import type { PassMode, PassResult } from '../engine/pass.ts';
import type { Applied, Change, ChangeAction, FieldChange, SystemName } from '../engine/types.ts';

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

const SYMBOL: Record<ChangeAction, string> = { create: '+', update: '~', disable: '!', delete: '-' };

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

function summaryLine(report: Report): string {
  const all = report.results.flatMap((r) => (report.mode === 'apply' ? r.applied.filter((a) => a.ok).map((a) => a.change) : r.changes));
  const n = countActions(all);
  const conflicts = report.results.reduce((k, r) => k + r.conflicts.length, 0);
  const held = report.results.reduce((k, r) => k + r.held.length, 0);
  const failed = report.results.reduce((k, r) => k + r.applied.filter((a) => !a.ok && !a.notAttempted).length, 0);
  const notAttempted = report.results.reduce((k, r) => k + r.applied.filter((a) => a.notAttempted).length, 0);
  const verb = report.mode === 'apply' ? 'Apply complete' : report.mode === 'drift' ? 'Drift' : 'Plan';
  const counts = report.mode === 'apply'
    ? `${n.create} created, ${n.update} updated, ${n.disable} disabled, ${n.delete} deleted`
    : report.mode === 'drift'
      ? `${all.length} object(s) differ from the desired state`
      : `${n.create} to create, ${n.update} to update, ${n.disable} to disable, ${n.delete} to delete`;
  const extras = [
    conflicts ? `${conflicts} conflict(s)` : '',
    held && report.mode !== 'drift' ? `${held} held back` : '',
    failed ? `${failed} failed` : '',
    notAttempted ? `${notAttempted} not attempted` : '',
    report.results.some((r) => r.status === 'refused') ? 'refused by a guard' : '',
  ].filter(Boolean);
  const skipped = report.skipped.length ? ` Skipped: ${report.skipped.map((s) => `${s.system} (${s.reason})`).join(', ')}.` : '';
  return `${verb}: ${counts}${extras.length ? `; ${extras.join(', ')}` : ''}.${skipped}`;
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
    for (const c of r.conflicts) out.push(`  ? ${c.kind}/${c.name}  conflict${c.blocking ? ' (out of service until resolved)' : ''}: ${c.message}`);
    for (const u of r.unreadable ?? []) out.push(`  ~ not readable from the running system, so drift there goes unseen: ${u}`);
    for (const reason of r.refused) out.push(`  ✗ refused: ${reason}`);
    for (const d of r.verify) out.push(`  verify: ${formatDiagnostic(d)}`);
    if (r.error && r.status === 'failed') out.push(`  error [${r.error.code}]: ${r.error.message}`);
    if (r.changes.length === 0 && r.conflicts.length === 0 && r.status === 'in-sync') out.push('  no changes: live state matches the desired state');
  }
  out.push(summaryLine(report));
  return out.join('\n');
}

function renderMarkdown(report: Report): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const out = [`### infrasec ${report.mode} @ \`${report.revision.slice(0, 12)}\``, ''];
  for (const r of report.results) {
    out.push(`#### ${r.system}: ${r.status}`, '');
    if (r.changes.length > 0) {
      out.push('| | object | action | field | before | after |', '|---|---|---|---|---|---|');
      for (const c of r.changes) {
        const fields = c.fields.length > 0 ? c.fields : [{ path: '', before: undefined, after: undefined } as FieldChange];
        fields.forEach((f, i) => {
          const [before, after] = f.sensitive ? ['(changed)', '(changed)'] : [f.path ? formatValue(f.before) : '', f.path ? formatValue(f.after) : ''];
          out.push(`| ${i === 0 ? SYMBOL[c.action] : ''} | ${i === 0 ? `\`${c.kind}/${c.name}\`` : ''} | ${i === 0 ? c.action : ''} | ${esc(f.path)} | ${esc(before)} | ${esc(after)} |`);
        });
      }
      out.push('');
    }
    for (const c of r.conflicts) out.push(`- **conflict${c.blocking ? ', out of service until resolved' : ''}** \`${c.kind}/${c.name}\`: ${esc(c.message)}`);
    for (const u of r.unreadable ?? []) out.push(`- **not readable from the running system** (drift there goes unseen): ${esc(u)}`);
    for (const reason of r.refused) out.push(`- **refused**: ${esc(reason)}`);
    if (r.error && r.status === 'failed') out.push(`- **error** \`${r.error.code}\`: ${esc(r.error.message)}`);
    if (r.changes.length === 0 && r.status === 'in-sync') out.push('No changes.');
    out.push('');
  }
  out.push(`**${summaryLine(report)}**`);
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

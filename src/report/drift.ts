// Pure: the persisted drift report (per object and field: expected vs actual, first/last seen, corrected) and its JSON, Markdown and self-contained HTML renderings.
import { REDACTED } from '../desired/secret.ts';
import { driftModeOf, type PassResult } from '../engine/pass.ts';
import type { Change, ChangeAction, FieldChange, Policy, SystemName } from '../engine/types.ts';
import { objectView } from './objects.ts';
import { formatValue } from './plan.ts';

export interface DriftField {
  readonly path: string;
  /** What the applied commit says. */
  readonly expected: unknown;
  /** What the live system holds. */
  readonly actual: unknown;
  readonly sensitive: boolean;
}

export interface DriftEntry {
  readonly system: SystemName;
  readonly kind: string;
  readonly name: string;
  /** What correcting it takes (create: deleted by hand; update: fields changed; …). */
  readonly action: ChangeAction;
  readonly mode: 'correct' | 'report';
  readonly fields: readonly DriftField[];
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly corrected: boolean;
  readonly correctedAt?: string;
  /** Why it was not corrected though the policy says correct (failed change, guard refusal). */
  readonly error?: string;
  /** The applied commit the live state was compared with. */
  readonly revision: string;
}

export interface DriftSystemStatus {
  readonly revision: string;
  readonly checkedAt: string;
  readonly status: string;
  readonly open: number;
  readonly error?: string;
  /** Fields the running system cannot show: drift there is not in this report. */
  readonly unreadable?: readonly string[];
}

export interface DriftReport {
  readonly generatedAt: string;
  readonly systems: Readonly<Partial<Record<SystemName, DriftSystemStatus>>>;
  readonly entries: readonly DriftEntry[];
}

export const EMPTY_DRIFT_REPORT: DriftReport = { generatedAt: new Date(0).toISOString(), systems: {}, entries: [] };

/** How long a corrected drift stays listed after it was last seen. */
export const CORRECTED_RETENTION_MS = 24 * 3600_000;

const keyOf = (e: { system: string; kind: string; name: string }) => `${e.system}\u0000${e.kind}\u0000${e.name}`;

function fieldsOf(fields: readonly FieldChange[]): DriftField[] {
  return fields.map((f) =>
    f.sensitive
      ? { path: f.path, expected: REDACTED, actual: REDACTED, sensitive: true }
      : { path: f.path, expected: f.after ?? null, actual: f.before ?? null, sensitive: false },
  );
}

/**
 * Folds one drift pass of one system into the report. Open drift keeps its firstSeen while it persists;
 * corrected drift stays listed (corrected: true) for CORRECTED_RETENTION_MS; drift that went away without
 * a correction (fixed by hand, or the commit changed) leaves the report.
 */
export function updateDriftReport(prev: DriftReport, result: PassResult, policy: Policy, now: Date, retentionMs = CORRECTED_RETENTION_MS): DriftReport {
  const at = now.toISOString();
  const system = result.system;
  // A pass that planned (even one failed by a blocking conflict) has read the system.
  const observed = !(result.status === 'failed' && result.changes.length === 0 && result.applied.length === 0 && result.error?.code !== 'conflict');
  const prevByKey = new Map(prev.entries.filter((e) => e.system === system).map((e) => [keyOf(e), e]));
  const others = prev.entries.filter((e) => e.system !== system);

  if (!observed) {
    // The system could not be read: what we knew stays, marked with the error.
    const old = prev.systems[system];
    return {
      generatedAt: at,
      systems: { ...prev.systems, [system]: { revision: result.revision, checkedAt: old?.checkedAt ?? at, status: result.status, open: old?.open ?? 0, error: result.error?.message } },
      entries: prev.entries,
    };
  }

  const applied = new Map(result.applied.map((a) => [a.change, a]));
  const refusedWhy = result.status === 'refused' ? result.refused.join('; ') : undefined;
  const seen = new Set<string>();
  const fresh: DriftEntry[] = [];
  // One entry per YAML object (what serves it folded in); plumbing only when nothing else differs, so it is never unseen.
  const view = objectView(result.changes);
  const items: ReadonlyArray<{ kind: string; name: string; action: ChangeAction; fields: readonly FieldChange[]; changes: readonly Change[] }> =
    view.objects.length > 0 ? view.objects : view.supporting.map((c) => ({ kind: c.kind, name: c.name, action: c.action, fields: c.fields, changes: [c] }));
  for (const o of items) {
    const mode = driftModeOf(policy, o.kind);
    if (mode === 'ignore') continue;
    const key = keyOf({ system, kind: o.kind, name: o.name });
    seen.add(key);
    const before = prevByKey.get(key);
    const outcomes = o.changes.map((c) => applied.get(c));
    const corrected = outcomes.every((a) => a?.ok === true);
    const failed = outcomes.find((a) => a && !a.ok);
    const error = failed ? failed.error ?? 'change failed' : mode === 'correct' && outcomes.some((a) => !a) ? refusedWhy ?? result.error?.message : undefined;
    fresh.push({
      system, kind: o.kind, name: o.name, action: o.action, mode, fields: fieldsOf(o.fields),
      firstSeen: before && !before.corrected ? before.firstSeen : at,
      lastSeen: at, corrected, ...(corrected ? { correctedAt: at } : {}), ...(error ? { error } : {}),
      revision: result.revision,
    });
  }
  for (const [key, e] of prevByKey) {
    if (seen.has(key)) continue;
    if (e.corrected && now.getTime() - Date.parse(e.lastSeen) < retentionMs) fresh.push(e);
  }
  const entries = [...others, ...fresh].sort((x, y) => keyOf(x).localeCompare(keyOf(y)));
  const open = fresh.filter((e) => !e.corrected).length;
  return {
    generatedAt: at,
    systems: {
      ...prev.systems,
      [system]: {
        revision: result.revision, checkedAt: at, status: result.status, open,
        ...(result.error && result.status !== 'applied' ? { error: result.error.message } : {}),
        ...(result.unreadable?.length ? { unreadable: result.unreadable } : {}),
      },
    },
    entries,
  };
}

/** A new commit converged on `system`: open drift measured against older commits is moot; corrected entries stay for the record. */
export function clearOpenDrift(report: DriftReport, system: SystemName, now: Date): DriftReport {
  const entries = report.entries.filter((e) => e.system !== system || e.corrected);
  const s = report.systems[system];
  return { generatedAt: now.toISOString(), systems: s ? { ...report.systems, [system]: { ...s, open: 0 } } : report.systems, entries };
}

/** Objects currently drifted (not corrected) per system, for metrics and notifications. */
export function openDrift(report: DriftReport, system: SystemName): DriftEntry[] {
  return report.entries.filter((e) => e.system === system && !e.corrected);
}

export function renderDriftJson(report: DriftReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

function state(e: DriftEntry): string {
  if (e.corrected) return `corrected ${e.correctedAt ?? ''}`.trim();
  if (e.error) return `not corrected: ${e.error}`;
  return e.mode === 'report' ? 'reported (policy: report)' : 'open';
}

function shown(f: DriftField, side: 'expected' | 'actual'): string {
  return f.sensitive ? '(changed)' : formatValue(f[side]);
}

export function renderDriftMarkdown(report: DriftReport): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const out = [`# infrasec drift report`, '', `Generated ${report.generatedAt}.`, ''];
  const systems = Object.entries(report.systems) as Array<[SystemName, DriftSystemStatus]>;
  if (systems.length === 0) out.push('No drift pass has run yet.', '');
  for (const [system, s] of systems) {
    out.push(`## ${system}`, '', `Compared with \`${s.revision.slice(0, 12)}\` at ${s.checkedAt}: ${s.open} open drift(s), last pass ${s.status}.${s.error ? ` Error: ${esc(s.error)}` : ''}`, '');
    if (s.unreadable?.length) out.push('Not readable from the running system, so drift there is not reported:', '', ...s.unreadable.map((u) => `- ${esc(u)}`), '');
    const entries = report.entries.filter((e) => e.system === system);
    if (entries.length === 0) {
      out.push('No drift.', '');
      continue;
    }
    out.push('| object | action | field | expected | actual | first seen | last seen | state |', '|---|---|---|---|---|---|---|---|');
    for (const e of entries) {
      const fields = e.fields.length > 0 ? e.fields : [{ path: '', expected: undefined, actual: undefined, sensitive: false }];
      fields.forEach((f, i) => {
        const [exp, act] = f.path ? [shown(f, 'expected'), shown(f, 'actual')] : ['', ''];
        out.push(`| ${i === 0 ? `\`${e.kind}/${e.name}\`` : ''} | ${i === 0 ? e.action : ''} | ${esc(f.path)} | ${esc(exp)} | ${esc(act)} | ${i === 0 ? e.firstSeen : ''} | ${i === 0 ? e.lastSeen : ''} | ${i === 0 ? esc(state(e)) : ''} |`);
      });
    }
    out.push('');
  }
  return out.join('\n');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

/** One HTML page with inline CSS, no scripts and no external resources: it can be mailed or archived as is. */
export function renderDriftHtml(report: DriftReport): string {
  const rows: string[] = [];
  const systems = Object.entries(report.systems) as Array<[SystemName, DriftSystemStatus]>;
  for (const [system, s] of systems) {
    rows.push(`<h2>${escapeHtml(system)}</h2><p>Compared with <code>${escapeHtml(s.revision.slice(0, 12))}</code> at ${escapeHtml(s.checkedAt)}: <strong>${s.open}</strong> open drift(s), last pass ${escapeHtml(s.status)}.${s.error ? ` Error: ${escapeHtml(s.error)}` : ''}</p>`);
    if (s.unreadable?.length) rows.push(`<p>Not readable from the running system, so drift there is not reported:</p><ul>${s.unreadable.map((u) => `<li>${escapeHtml(u)}</li>`).join('')}</ul>`);
    const entries = report.entries.filter((e) => e.system === system);
    if (entries.length === 0) {
      rows.push('<p class="ok">No drift.</p>');
      continue;
    }
    rows.push('<table><thead><tr><th>object</th><th>action</th><th>field</th><th>expected</th><th>actual</th><th>first seen</th><th>last seen</th><th>state</th></tr></thead><tbody>');
    for (const e of entries) {
      const fields = e.fields.length > 0 ? e.fields : [{ path: '', expected: undefined, actual: undefined, sensitive: false }];
      const cls = e.corrected ? 'corrected' : e.error ? 'error' : 'open';
      fields.forEach((f, i) => {
        const [exp, act] = f.path ? [shown(f, 'expected'), shown(f, 'actual')] : ['', ''];
        const first = i === 0;
        rows.push(`<tr class="${cls}"><td>${first ? `<code>${escapeHtml(`${e.kind}/${e.name}`)}</code>` : ''}</td><td>${first ? escapeHtml(e.action) : ''}</td><td>${escapeHtml(f.path)}</td><td>${escapeHtml(exp)}</td><td>${escapeHtml(act)}</td><td>${first ? escapeHtml(e.firstSeen) : ''}</td><td>${first ? escapeHtml(e.lastSeen) : ''}</td><td>${first ? escapeHtml(state(e)) : ''}</td></tr>`);
      });
    }
    rows.push('</tbody></table>');
  }
  if (systems.length === 0) rows.push('<p>No drift pass has run yet.</p>');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>infrasec drift report</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:1.5em}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top;font-size:.9em}
th{background:#f2f2f2}
tr.open td{background:#fff4e5}
tr.error td{background:#fde8e8}
tr.corrected td{background:#eef8ee}
p.ok{color:#2a7a2a}
code{font-family:ui-monospace,monospace}
</style></head>
<body><h1>infrasec drift report</h1><p>Generated ${escapeHtml(report.generatedAt)}.</p>
${rows.join('\n')}
</body></html>
`;
}

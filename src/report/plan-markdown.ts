// Renders pass results as a merge-request comment: summary first, one folded section per system, every value escaped so YAML text cannot inject Markdown or HTML.
import type { PassResult } from '../engine/pass.ts';
import type { Change, ChangeAction, FieldChange } from '../engine/types.ts';
import { countActions, formatValue, summaryLine, SYMBOL, type Report } from './plan.ts';

/** Field changes listed per updated object before the rest is only counted: keeps a comment readable and small. */
const FIELDS_SHOWN = 6;

/**
 * Text from YAML or a live system as inert Markdown: HTML specials become entities, Markdown punctuation is escaped,
 * line breaks become spaces (a cell is one line), and the pipe cannot end a table cell.
 */
export function escapeMarkdown(text: string): string {
  // Markdown punctuation first: the entities added after it carry '#' and ';' of their own.
  return text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/([\\*_[\]~#!])/g, '\\$1')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '&#124;')
    .replace(/`/g, '&#96;');
}

/** An object name in a code span: a backtick could close it, so none survives. */
const code = (text: string) => `\`${text.replace(/[`\r\n]/g, "'")}\``;

function fieldText(f: FieldChange): string {
  if (f.sensitive) return `${escapeMarkdown(f.path)}: (changed)`;
  return `${escapeMarkdown(f.path)}: ${escapeMarkdown(formatValue(f.before))} → ${escapeMarkdown(formatValue(f.after))}`;
}

/** What a reviewer needs per change: new and removed objects in one line (the YAML diff shows their content), updates field by field. */
function changeDetail(c: Change): string {
  if (c.action === 'update' || c.action === 'disable') {
    const shown = c.fields.slice(0, FIELDS_SHOWN).map(fieldText);
    if (c.fields.length > FIELDS_SHOWN) shown.push(`… and ${c.fields.length - FIELDS_SHOWN} more field(s)`);
    return shown.join('<br>') || escapeMarkdown(c.reason);
  }
  if (c.action === 'create') return `${c.fields.length} field(s)`;
  return escapeMarkdown(c.reason);
}

function headline(r: PassResult): string {
  const n = countActions(r.changes);
  const parts = (Object.keys(n) as ChangeAction[]).filter((a) => n[a] > 0).map((a) => `${n[a]} to ${a}`);
  const conflicts = r.conflicts.filter((c) => !c.advisory).length;
  if (conflicts) parts.push(`${conflicts} conflict(s)`);
  return parts.length > 0 ? parts.join(', ') : r.status === 'in-sync' ? 'no changes' : r.status;
}

function systemSection(r: PassResult): string[] {
  // Failures and conflicts stay visible; the changes are folded.
  const attention = r.status === 'failed' || r.status === 'refused' || r.conflicts.some((c) => !c.advisory);
  const out = [`<details${attention ? ' open' : ''}><summary><b>${escapeMarkdown(r.system)}</b>: ${escapeMarkdown(r.status)} — ${escapeMarkdown(headline(r))}</summary>`, ''];
  if (r.error && r.status === 'failed') out.push(`- **error** ${code(r.error.code)}: ${escapeMarkdown(r.error.message)}`);
  for (const reason of r.refused) out.push(`- **refused**: ${escapeMarkdown(reason)}`);
  for (const c of r.conflicts) {
    const label = c.advisory ? 'note' : c.blocking ? 'conflict, out of service until resolved' : 'conflict';
    out.push(`- **${label}** ${code(`${c.kind}/${c.name}`)}: ${escapeMarkdown(c.message)}`);
  }
  for (const u of r.unreadable ?? []) out.push(`- **not readable from the running system** (drift there goes unseen): ${escapeMarkdown(u)}`);
  if (out.length > 2) out.push('');
  if (r.changes.length > 0) {
    const held = new Map(r.held.map((h) => [h.change, h.why]));
    out.push('| | object | action | what |', '|---|---|---|---|');
    for (const c of r.changes) {
      const why = held.has(c) ? ` (not applied: ${escapeMarkdown(held.get(c)!)})` : '';
      out.push(`| ${SYMBOL[c.action]} | ${code(`${c.kind}/${c.name}`)} | ${c.action}${why} | ${changeDetail(c)} |`);
    }
    out.push('');
  }
  out.push('</details>', '');
  return out;
}

export function renderMarkdown(report: Report): string {
  const out = [`### infrasec ${report.mode} @ ${code(report.revision.slice(0, 12))}`, '', `**${escapeMarkdown(summaryLine(report))}**`, ''];
  if (report.results.length > 0) {
    out.push('| system | status | + | ~ | ! | - | conflicts |', '|---|---|---|---|---|---|---|');
    for (const r of report.results) {
      const n = countActions(r.changes);
      out.push(`| ${escapeMarkdown(r.system)} | ${escapeMarkdown(r.status)} | ${n.create} | ${n.update} | ${n.disable} | ${n.delete} | ${r.conflicts.filter((c) => !c.advisory).length} |`);
    }
    out.push('');
  }
  for (const r of report.results) out.push(...systemSection(r));
  return out.join('\n');
}

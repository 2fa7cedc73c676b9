// Renders pass results as a merge-request comment: summary first, one folded section per system, every value escaped so YAML text cannot inject Markdown or HTML.
import type { PassResult } from '../engine/pass.ts';
import type { Change, ChangeAction, FieldChange } from '../engine/types.ts';
import { describeSupporting, objectView, type ObjectChange, type ObjectView } from './objects.ts';
import { countActions, formatValue, summaryLine, SYMBOL, type RenderOptions, type Report } from './plan.ts';

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

/**
 * What a reviewer needs per object: new and removed objects in one line (the YAML diff shows their content), updates
 * field by field in the YAML's terms (with `detail`, the system's own fields too).
 */
function objectDetail(o: ObjectChange, detail: boolean): string {
  const reason = o.changes[0]?.reason ?? '';
  if (o.action === 'update' || o.action === 'disable') {
    const fields = detail ? o.changes.flatMap((c) => c.wire ?? c.fields) : o.fields;
    const shown = fields.slice(0, FIELDS_SHOWN).map(fieldText);
    if (fields.length > FIELDS_SHOWN) shown.push(`… and ${fields.length - FIELDS_SHOWN} more field(s)`);
    return shown.join('<br>') || escapeMarkdown(reason);
  }
  if (o.action === 'create') return o.via.length > 0 ? `its ${escapeMarkdown(o.via.join(', '))}` : 'new';
  return escapeMarkdown(reason);
}

function headline(r: PassResult, view: ObjectView): string {
  const n = countActions(view.objects);
  const parts = (Object.keys(n) as ChangeAction[]).filter((a) => n[a] > 0).map((a) => `${n[a]} to ${a}`);
  const conflicts = r.conflicts.filter((c) => !c.advisory).length;
  if (conflicts) parts.push(`${conflicts} conflict(s)`);
  return parts.length > 0 ? parts.join(', ') : r.status === 'in-sync' ? 'no changes' : r.status;
}

function systemSection(r: PassResult, view: ObjectView, detail: boolean): string[] {
  // Failures and conflicts stay visible; the changes are folded.
  const attention = r.status === 'failed' || r.status === 'refused' || r.conflicts.some((c) => !c.advisory);
  const out = [`<details${attention ? ' open' : ''}><summary><b>${escapeMarkdown(r.system)}</b>: ${escapeMarkdown(r.status)} — ${escapeMarkdown(headline(r, view))}</summary>`, ''];
  if (r.error && r.status === 'failed') out.push(`- **error** ${code(r.error.code)}: ${escapeMarkdown(r.error.message)}`);
  for (const reason of r.refused) out.push(`- **refused**: ${escapeMarkdown(reason)}`);
  for (const c of r.conflicts) {
    const label = c.advisory ? 'note' : c.blocking ? 'conflict, out of service until resolved' : 'conflict';
    out.push(`- **${label}** ${code(`${c.kind}/${c.name}`)}: ${escapeMarkdown(c.message)}`);
  }
  for (const u of r.unreadable ?? []) out.push(`- **not readable from the running system** (drift there goes unseen): ${escapeMarkdown(u)}`);
  if (out.length > 2) out.push('');
  const held = new Map(r.held.map((h) => [h.change, h.why]));
  const heldWhy = (changes: readonly Change[]) => {
    const why = changes.map((c) => held.get(c)).find((w) => w !== undefined);
    return why === undefined ? '' : ` (not applied: ${escapeMarkdown(why)})`;
  };
  if (view.objects.length > 0) {
    out.push('| | object | action | what |', '|---|---|---|---|');
    for (const o of view.objects) out.push(`| ${SYMBOL[o.action]} | ${code(`${o.kind}/${o.name}`)} | ${o.action}${heldWhy(o.changes)} | ${objectDetail(o, detail)} |`);
    out.push('');
  }
  if (view.supporting.length > 0) {
    // Plumbing that was held back stays named: something the YAML needs did not happen.
    const named = detail ? view.supporting : view.supporting.filter((c) => held.has(c));
    const counted = view.supporting.filter((c) => !named.includes(c));
    const listed = [...named.map((c) => `${code(`${c.kind}/${c.name}`)} ${c.action}${heldWhy([c])}`), ...(counted.length ? [escapeMarkdown(describeSupporting(counted))] : [])].join(', ');
    out.push(`Supporting changes, not counted: ${listed}`, '');
  }
  out.push('</details>', '');
  return out;
}

export function renderMarkdown(report: Report, options: RenderOptions = {}): string {
  const out = [`### infrasec ${report.mode} @ ${code(report.revision.slice(0, 12))}`, '', `**${escapeMarkdown(summaryLine(report))}**`, ''];
  const views = new Map(report.results.map((r) => [r, objectView(r.changes)]));
  if (report.results.length > 0) {
    out.push('| system | status | + | ~ | ! | - | conflicts |', '|---|---|---|---|---|---|---|');
    for (const r of report.results) {
      const n = countActions(views.get(r)!.objects);
      out.push(`| ${escapeMarkdown(r.system)} | ${escapeMarkdown(r.status)} | ${n.create} | ${n.update} | ${n.disable} | ${n.delete} | ${r.conflicts.filter((c) => !c.advisory).length} |`);
    }
    out.push('');
  }
  for (const r of report.results) out.push(...systemSection(r, views.get(r)!, options.detail ?? false));
  return out.join('\n');
}

// Re-reads the files and the running side after apply and checks each applied change left what it promised.
import type { Diagnostic } from '../../desired/diagnostic.ts';
import type { Applied } from '../../engine/types.ts';
import { type AsteriskPayload, containerId, type Expectation, type LiveAsterisk, MODULE_OF, revealValue, type SectionSpec } from './model.ts';
import { unreachable } from './links.ts';
import { payloadOf } from './plan.ts';
import { linkDiffs, runningDiffs } from './running-compare.ts';
import type { AsteriskLayout } from './settings.ts';

/** Pure: what is wrong with `live` against one change's expectation (empty when it holds). */
export function checkExpectation(expect: Expectation, live: LiveAsterisk, layout: AsteriskLayout): string[] {
  const problems: string[] = [];
  const owned = [...live.objects.values()].flatMap((o) => o.sections).concat(live.strays.sections);
  const sectionsNamed = (role: string, name: string) => owned.filter((s) => s.role === role && s.name.toLowerCase() === name.toLowerCase());
  const lines = new Set([...live.objects.values()].flatMap((o) => o.lines).concat(live.strays.lines).map((l) => `${l.role}/${l.category.toLowerCase()}/${l.var.toLowerCase()}/${revealValue(l.value)}`));
  const lineId = (l: { role: string; category: string; var: string; value: Parameters<typeof revealValue>[0] }) => `${l.role}/${l.category.toLowerCase()}/${l.var.toLowerCase()}/${revealValue(l.value)}`;
  const same = (a: SectionSpec, b: SectionSpec) =>
    a.vars.length === b.vars.length && a.vars.every((v, i) => b.vars[i] !== undefined && v.name.toLowerCase() === b.vars[i]!.name.toLowerCase() && revealValue(v.value) === revealValue(b.vars[i]!.value));

  for (const s of expect.present?.sections ?? []) {
    const found = sectionsNamed(s.role, s.name).filter((x) => x.type === s.type);
    if (found.length !== 1 || !same(s, found[0]!)) problems.push(`[${s.name}] (${s.type}) in ${layout.files[s.role]} is not as written`);
  }
  for (const l of expect.present?.lines ?? []) {
    if (!lines.has(lineId(l))) problems.push(`a ${l.var} line of [${l.category}] in ${layout.files[l.role]} is missing`);
  }
  for (const s of expect.absent?.sections ?? []) {
    if (sectionsNamed(s.role, s.name).length > 0) problems.push(`[${s.name}] is still in ${layout.files[s.role]}`);
  }
  for (const l of expect.absent?.lines ?? []) {
    if (lines.has(lineId(l))) problems.push(`a ${l.var} line of [${l.category}] is still in ${layout.files[l.role]}`);
  }
  for (const c of expect.containers ?? []) {
    if (live.containers.get(containerId(c.role, c.name)) !== 'owned') problems.push(`context [${c.name}] in ${layout.files[c.role]} is not owned by infrasec`);
  }
  if (expect.template && !live.files[expect.template].hasTemplate) problems.push(`${layout.files[expect.template]} has no ownership template`);
  if (expect.link !== undefined) {
    const ok = expect.link ? live.link.includes.length > 0 && live.link.includes.every((k) => k === 1) : live.link.includes.every((k) => k === 0);
    if (!ok) problems.push(`[${layout.includeFrom}] in ${layout.files.extensions} does not hold ${expect.link ? 'exactly one' : 'no'} include => ${layout.context}`);
  }
  if (expect.runtime) {
    const diffs = [...live.objects.values()].flatMap((o) => runningDiffs(o.sections, o.lines, live, layout));
    if (expect.runtime === MODULE_OF.extensions) diffs.push(...linkDiffs(live, layout));
    for (const d of diffs) if (d.module === expect.runtime) problems.push(`after reload: ${d.reason}${d.module === MODULE_OF.voicemail && live.voicemailRoot.includesOwned === false ? ` (${layout.voicemailConf} does not #include ${layout.files.voicemail}: add "#tryinclude ${layout.files.voicemail}" at its end)` : ''}`);
    // Once the dialplan runs as written: do calls from the endpoints reach it?
    if (expect.runtime === MODULE_OF.extensions) for (const o of live.objects.values()) for (const why of unreachable(o, live, layout)) problems.push(`after reload: ${why}`);
  }
  return problems;
}

/** Observes once and checks every successful change against it. */
export async function verifyApplied(applied: readonly Applied<AsteriskPayload>[], observe: () => Promise<LiveAsterisk>, layout: AsteriskLayout): Promise<Diagnostic[]> {
  const ok = applied.filter((a) => a.ok && a.writes > 0);
  if (ok.length === 0) return [];
  const live = await observe();
  const out: Diagnostic[] = [];
  for (const a of ok) {
    const p = payloadOf(a.change);
    for (const problem of checkExpectation(p.expect, live, layout)) {
      out.push({
        file: p.source?.file ?? '',
        line: p.source?.line ?? 0,
        col: p.source?.col ?? 0,
        path: '',
        code: 'asterisk-verify',
        message: `${a.change.kind}/${a.change.name}: ${problem}`,
        severity: 'error',
      });
    }
  }
  return out;
}

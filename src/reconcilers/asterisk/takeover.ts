// Pure: taking over what an earlier version (no instance) wrote inside this instance's scope: its contexts rebuilt under this instance's template, and the plan's note.
import type { Conflict, FieldChange } from '../../engine/types.ts';
import { type ConfigOp, type ContainerRef, type LiveAsterisk, type OpGroup, TMP_PREFIX } from './model.ts';
import { LEGACY_OWNERSHIP_TEMPLATE, takeOverNote } from './ownership.ts';
import type { AsteriskLayout } from './settings.ts';

export interface ContainerTakeover {
  readonly fields: FieldChange[];
  readonly reason: string;
  readonly groups: OpGroup[];
  /** The temporary section it builds (lower case): an earlier interrupted try's leftover is its business, not a stray. */
  readonly tmp: string;
}

/**
 * A context of an earlier version, rebuilt with every line it holds under this instance's template. The copy is built
 * under a temporary name, one line per group (a context may hold more lines than one UpdateConfig carries), and only
 * the last group swaps it in: an apply cut short leaves the earlier context whole and a temporary one the next pass
 * rebuilds.
 */
export function planContainerTakeover(c: ContainerRef, live: LiveAsterisk, layout: AsteriskLayout): ContainerTakeover {
  const file = live.files[c.role];
  const skip = file.sections.find((s) => s.isTemplate && s.name.toLowerCase() === LEGACY_OWNERSHIP_TEMPLATE)?.vars.length ?? 0;
  const section = file.sections.find((s) => !s.isTemplate && s.name.toLowerCase() === c.name.toLowerCase());
  const lines = section?.vars.slice(skip) ?? [];
  const tmp = `${TMP_PREFIX}${c.name}`;
  const leftover = file.sections.some((s) => !s.isTemplate && s.name.toLowerCase() === tmp.toLowerCase());
  const start: ConfigOp[] = [...(leftover ? [{ op: 'DelCat', cat: tmp } as const] : []), { op: 'NewCat', cat: tmp, inherit: layout.template }];
  const groups: OpGroup[] = [
    { role: c.role, ops: start },
    ...lines.map((v): OpGroup => ({ role: c.role, ops: [{ op: 'Append', cat: tmp, var: v.name, value: v.value, object: true }] })),
    { role: c.role, ops: [{ op: 'DelCat', cat: c.name }, { op: 'RenameCat', cat: tmp, to: c.name }] },
  ];
  return {
    fields: [{ path: `${c.role}:[${c.name}]`, before: `(${LEGACY_OWNERSHIP_TEMPLATE})`, after: `(${layout.template})` }],
    reason: `[${c.name}] in ${layout.files[c.role]} (${lines.length} line(s), kept as they are) was ${takeOverNote(layout)}`,
    groups,
    tmp: tmp.toLowerCase(),
  };
}

/** One note per plan listing what this instance takes over from an earlier version; undefined when nothing. */
export function takeOverSummary(live: LiveAsterisk, layout: AsteriskLayout): Conflict | undefined {
  if (live.legacy.size === 0) return undefined;
  const named = [...live.legacy].sort().map((id) => {
    const role = id.slice(0, id.indexOf('/')) as keyof AsteriskLayout['files'];
    return `[${id.slice(id.indexOf('/') + 1)}] in ${layout.files[role]}`;
  });
  const list = named.length > 10 ? `${named.slice(0, 10).join(', ')} and ${named.length - 10} more` : named.join(', ');
  return {
    system: 'asterisk', kind: 'Instance', name: layout.instance, advisory: true,
    message: `${named.length} section(s) ${takeOverNote(layout)}; each is rewritten to inherit [${layout.template}] when applied (one that left Git keeps the old template until pruned): ${list}`,
  };
}

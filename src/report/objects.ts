// Pure: groups a pass's changes into one entry per YAML object (changes that serve it folded in, plumbing apart): what plans show and count.
import type { Applied, Change, ChangeAction, FieldChange, SystemName } from '../engine/types.ts';

/** One YAML object the admin wrote, with everything a pass changes for it on one system. */
export interface ObjectChange {
  readonly system: SystemName;
  readonly kind: string;
  readonly name: string;
  readonly action: ChangeAction;
  /** In the YAML's terms: its own change's fields, then those of the changes serving it. */
  readonly fields: readonly FieldChange[];
  /** The changes behind it, its own first: their outcomes (held, failed, not attempted) are the object's. */
  readonly changes: readonly Change[];
  /** Kinds of the serving changes when the object has no change of its own here (e.g. `Mailbox` for a User on Modoboa). */
  readonly via: readonly string[];
}

export interface ObjectView {
  readonly objects: readonly ObjectChange[];
  /** Plumbing no YAML object owns (ownership templates, reloads, container OUs): folded, not counted. */
  readonly supporting: readonly Change[];
}

const ref = (c: Pick<Change, 'kind' | 'name'>) => `${c.kind}/${c.name}`;

function splitRef(serves: string): { kind: string; name: string } {
  const slash = serves.indexOf('/');
  return slash < 0 ? { kind: serves, name: '' } : { kind: serves.slice(0, slash), name: serves.slice(slash + 1) };
}

/** An object changed only through what serves it: their common action, or an update when they differ. */
function servedAction(changes: readonly Change[]): ChangeAction {
  const actions = new Set(changes.map((c) => c.action));
  return actions.size === 1 ? [...actions][0]! : 'update';
}

/** Objects in the order their first change appears (the planner's dependency order). */
export function objectView(changes: readonly Change[]): ObjectView {
  const order: string[] = [];
  const own = new Map<string, Change[]>();
  const served = new Map<string, Change[]>();
  const supporting: Change[] = [];
  for (const c of changes) {
    if (c.supporting) {
      supporting.push(c);
      continue;
    }
    const key = `${c.system}\u0000${c.serves ?? ref(c)}`;
    const into = c.serves ? served : own;
    if (!own.has(key) && !served.has(key)) order.push(key);
    const list = into.get(key);
    if (list) list.push(c);
    else into.set(key, [c]);
  }
  const objects = order.map((key): ObjectChange => {
    const mine = own.get(key) ?? [];
    const others = served.get(key) ?? [];
    const first = mine[0];
    const system = (first ?? others[0])!.system;
    const { kind, name } = first ?? splitRef(others[0]!.serves!);
    return {
      system, kind, name,
      action: first ? first.action : servedAction(others),
      fields: [...mine, ...others].flatMap((c) => c.fields),
      changes: [...mine, ...others],
      via: first ? [] : [...new Set(others.map((c) => c.kind))],
    };
  });
  return { objects, supporting };
}

/** What became of an object's changes in an apply: the first failure decides, then not attempted, then ok. */
export function objectOutcome(o: ObjectChange, applied: ReadonlyMap<Change, Applied>): 'ok' | 'failed' | 'not-attempted' | 'not-applied' {
  const outcomes = o.changes.map((c) => applied.get(c));
  if (outcomes.some((a) => a && !a.ok && !a.notAttempted)) return 'failed';
  if (outcomes.some((a) => a?.notAttempted)) return 'not-attempted';
  return outcomes.every((a) => a?.ok) ? 'ok' : 'not-applied';
}

/** Supporting changes counted per kind, for the folded line: `ConfigFile ×4, Reload/pbx`. */
export function describeSupporting(changes: readonly Change[]): string {
  const byKind = new Map<string, Change[]>();
  for (const c of changes) {
    const list = byKind.get(c.kind);
    if (list) list.push(c);
    else byKind.set(c.kind, [c]);
  }
  return [...byKind].map(([kind, list]) => (list.length === 1 ? ref(list[0]!) : `${kind} ×${list.length}`)).join(', ');
}

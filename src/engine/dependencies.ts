// Dependencies between systems (pure): the order passes may run in, cycles refused, and which dependencies a pass still waits for.
import type { SystemName } from './types.ts';

/** System → the systems whose pass must converge on a revision before its own runs on it. */
export type DependencyGraph = ReadonlyMap<SystemName, readonly SystemName[]>;

/** A cycle in the graph as a path that returns to its start (`['a', 'b', 'a']`), or undefined when there is none. */
export function findCycle(graph: DependencyGraph): SystemName[] | undefined {
  const state = new Map<SystemName, 'visiting' | 'done'>();
  const path: SystemName[] = [];
  const visit = (s: SystemName): SystemName[] | undefined => {
    if (state.get(s) === 'done') return undefined;
    if (state.get(s) === 'visiting') return [...path.slice(path.indexOf(s)), s];
    state.set(s, 'visiting');
    path.push(s);
    for (const d of graph.get(s) ?? []) {
      const cycle = visit(d);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(s, 'done');
    return undefined;
  };
  for (const s of graph.keys()) {
    const cycle = visit(s);
    if (cycle) return cycle;
  }
  return undefined;
}

/** The graph restricted to the systems that run here: a dependency on a system not configured is not waited for. */
export function restrictGraph(graph: DependencyGraph, present: ReadonlySet<SystemName>): DependencyGraph {
  return new Map([...graph].filter(([s]) => present.has(s)).map(([s, deps]) => [s, deps.filter((d) => present.has(d))]));
}

/** The dependencies of `system` that have not converged on the revision yet (empty: it may run). */
export function waitingOn(system: SystemName, graph: DependencyGraph, converged: (dependency: SystemName) => boolean): SystemName[] {
  return (graph.get(system) ?? []).filter((d) => !converged(d));
}

/** The systems that depend on `system` directly. */
export function dependentsOf(system: SystemName, graph: DependencyGraph): SystemName[] {
  return [...graph].filter(([, deps]) => deps.includes(system)).map(([s]) => s);
}

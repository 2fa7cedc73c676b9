// Runs one pass per system, concurrently except where one depends on another: a dependent runs after its dependencies, and not at all when one did not converge.
import type { DependencyGraph } from './dependencies.ts';
import type { SystemName } from './types.ts';

export interface OrderedRun<R> {
  readonly result: R;
  /** The system converged on the revision (its dependents may run). */
  readonly converged: boolean;
}

/**
 * `run` is called at most once per system, after every dependency among `systems` has settled; when one of them did
 * not converge, `notRun` gives the system's result instead (naming them). Results come back in `systems` order.
 */
export async function runInDependencyOrder<R>(
  systems: readonly SystemName[],
  graph: DependencyGraph,
  run: (system: SystemName) => Promise<OrderedRun<R>>,
  notRun: (system: SystemName, notConverged: readonly SystemName[]) => R,
): Promise<R[]> {
  const present = new Set(systems);
  const runs = new Map<SystemName, Promise<OrderedRun<R>>>();
  const start = (system: SystemName): Promise<OrderedRun<R>> => {
    let p = runs.get(system);
    if (!p) {
      p = (async () => {
        const before = await Promise.all((graph.get(system) ?? []).filter((d) => present.has(d)).map(async (d) => [d, await start(d)] as const));
        const notConverged = before.filter(([, o]) => !o.converged).map(([d]) => d);
        if (notConverged.length > 0) return { result: notRun(system, notConverged), converged: false };
        return run(system);
      })();
      runs.set(system, p);
    }
    return p;
  };
  return Promise.all(systems.map(async (s) => (await start(s)).result));
}

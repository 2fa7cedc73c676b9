// Pure: whether policy lets infrasec take over an unowned live object. The one place every planner asks.
import type { Policy } from './types.ts';

/** `policy.adopt` names the object as `Kind/name`, or holds `*`. */
export function adoptable(policy: Pick<Policy, 'adopt'>, kind: string, name: string): boolean {
  return policy.adopt.includes('*') || policy.adopt.includes(`${kind}/${name}`);
}

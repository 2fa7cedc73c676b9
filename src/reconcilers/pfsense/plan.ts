// Pure: the whole pfSense plan (firewall then VPN). No client, clock or logger.
import type { ResolvedState } from '../../desired/model.ts';
import type { Plan, Policy } from '../../engine/types.ts';
import type { LivePfSense } from './model.ts';
import { change, type PlanContext, type PlanOutput, planFirewall } from './plan-firewall.ts';
import { planVpn } from './plan-vpn.ts';

export function planPfSense(desired: ResolvedState, live: LivePfSense, policy: Policy, ctx: PlanContext): Plan {
  const out: PlanOutput = { changes: [], conflicts: [], owned: 0 };
  planFirewall(desired, live, policy, ctx, out);
  planVpn(desired, live, policy, ctx, out);
  const fresh = live.pending.filter((p) => !live.stalePending.includes(p));
  if (live.applyOwed || fresh.length > 0) {
    const why = live.applyOwed ? 'an earlier pass wrote firewall changes that were never applied' : `changes saved on pfSense but not applied (${fresh.join(', ')})`;
    // The filter reload no YAML object owns: plumbing, folded into one line and not counted.
    out.changes.push(change('FirewallApply', 'filter', 'update', [{ path: 'running', before: 'behind config', after: 'config' }], why, { type: 'apply' }, { supporting: true }));
  }
  return { system: 'pfsense', changes: out.changes, conflicts: out.conflicts, ownedCount: out.owned };
}

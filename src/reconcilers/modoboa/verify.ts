// Re-reads Modoboa in bulk after apply and reports every applied change whose object does not look as planned.
import type { Diagnostic } from '../../desired/diagnostic.ts';
import type { Applied } from '../../engine/types.ts';
import type { LiveModoboa, ModoboaPayload } from './model.ts';
import { liveMailboxValues } from './plan.ts';
import { authenticationDifferences } from './plan-authentication.ts';

export function verifyAgainst(live: LiveModoboa, applied: readonly Applied[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const a of applied) {
    if (!a.ok || a.writes === 0) continue;
    const p = a.change.payload as unknown as ModoboaPayload;
    const src = 'source' in p ? p.source : undefined;
    const problem = (message: string) =>
      out.push({ file: src?.file ?? '', line: src?.line ?? 0, col: src?.col ?? 0, path: '', code: 'modoboa-verify', message: `${a.change.kind}/${a.change.name}: ${message}`, severity: 'error' });
    const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
    switch (p.op) {
      case 'authentication.update': {
        const fields = authenticationDifferences({ values: p.values, bindPassword: p.bindPassword }, live.authentication);
        if (fields.length > 0) problem(`Modoboa's authentication parameters differ from what was written (${fields.map((f) => f.path).join(', ')})`);
        break;
      }
      case 'domain.create':
      case 'domain.update': {
        const d = live.domains.get(p.name);
        if (!d) problem('the domain is not in Modoboa after apply');
        else if (!same({ q: d.quotaMB, m: d.defaultMailboxQuotaMB, e: d.enabled }, { q: p.values.quotaMB, m: p.values.defaultMailboxQuotaMB, e: p.values.enabled })) problem('the domain differs from what was written');
        break;
      }
      case 'mailbox.create':
      case 'mailbox.update': {
        const acc = live.accounts.get(p.address);
        if (!acc?.mailbox) problem('the mailbox is not in Modoboa after apply');
        else if (!same(liveMailboxValues(acc), p.values)) problem('the mailbox differs from what was written');
        break;
      }
      case 'alias.create':
      case 'alias.update': {
        const al = live.aliases.get(p.address);
        if (!al) problem('the alias is not in Modoboa after apply');
        else if (!same({ r: al.recipients, e: al.enabled, o: al.owned }, { r: [...p.values.recipients].sort(), e: p.values.enabled, o: true })) problem('the alias differs from what was written');
        break;
      }
      case 'domain.delete':
        if (live.domains.has(p.name)) problem('the domain is still in Modoboa');
        break;
      case 'mailbox.delete':
        if (live.accounts.has(p.address)) problem('the account is still in Modoboa');
        break;
      case 'alias.delete':
        if (live.aliases.has(p.address)) problem('the alias is still in Modoboa');
        break;
    }
  }
  return out;
}

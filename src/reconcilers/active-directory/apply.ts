// Turns each guarded Change into its LDAP writes, rank by rank, a few in flight within a rank; records every outcome.
import type { Logger } from 'pino';
import type { FingerprintStore } from '../../engine/fingerprints.ts';
import { isPrune } from '../../engine/guard.ts';
import type { Applied, ApplyHooks, Change, GuardedPlan } from '../../engine/types.ts';
import { REDACTED } from '../../desired/secret.ts';
import { type AdClient, describeLdapError } from './client.ts';
import { encodeUnicodePwd } from './encoding.ts';
import type { AdPayload, LdapModification, LdapWrite } from './model.ts';

export interface ApplyDeps {
  readonly client: AdClient;
  readonly fingerprints: FingerprintStore;
  readonly concurrency: number;
  readonly logger?: Logger;
}

/**
 * Changes of one rank and direction touch distinct objects, so they may run side by side; ranks run one after
 * another (an OU before the users in it, users before the memberships naming them).
 */
function waves(changes: readonly Change[]): Change[][] {
  const out: Change[][] = [];
  let current: Change[] = [];
  let sig = '';
  for (const c of changes) {
    const s = `${c.action === 'delete' || isPrune(c) ? 'back' : 'fwd'}:${c.rank}`;
    if (s !== sig && current.length > 0) {
      out.push(current);
      current = [];
    }
    sig = s;
    current.push(c);
  }
  if (current.length > 0) out.push(current);
  return out;
}

export async function applyPlan(plan: GuardedPlan, deps: ApplyDeps, signal: AbortSignal, hooks?: ApplyHooks): Promise<Applied[]> {
  const results: Applied[] = [];
  const total = plan.changes.length;
  // FingerprintStore implementations write a whole file per set(); keep those writes strictly one at a time.
  let fingerprintQueue: Promise<void> = Promise.resolve();
  const remember = (op: () => Promise<void>) => {
    const next = fingerprintQueue.then(op);
    // The caller receives a failure through `next`; the queue itself must keep serving the other changes.
    fingerprintQueue = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  };

  for (const wave of waves(plan.changes)) {
    const queue = [...wave];
    const waveResults = new Map<Change, Applied>();
    const worker = async () => {
      for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
        const applied = await applyChange(c, deps, signal, remember);
        waveResults.set(c, applied);
        results.push(applied);
        hooks?.onApplied?.(applied, results.length, total);
      }
    };
    await Promise.all(Array.from({ length: Math.min(deps.concurrency, wave.length) }, worker));
  }
  // Report in plan order, whatever order the pool finished in.
  const order = new Map(plan.changes.map((c, i) => [c, i]));
  return results.sort((a, b) => (order.get(a.change) ?? 0) - (order.get(b.change) ?? 0));
}

async function applyChange(
  change: Change,
  deps: ApplyDeps,
  signal: AbortSignal,
  remember: (op: () => Promise<void>) => Promise<void>,
): Promise<Applied> {
  const log = deps.logger?.child({ kind: change.kind, name: change.name, action: change.action });
  const payload = change.payload as unknown as AdPayload | undefined;
  if (!payload || !Array.isArray(payload.writes)) {
    return { change, ok: false, writes: 0, error: 'change has no active-directory payload (was it planned by this reconciler?)' };
  }
  if (signal.aborted) return { change, ok: false, writes: 0, error: 'aborted before this change was sent' };

  let writes = 0;
  for (const [i, write] of payload.writes.entries()) {
    const withPassword = i === 0 ? payload.password : undefined;
    try {
      await send(deps.client, write, withPassword?.secret.reveal());
      writes++;
    } catch (err) {
      const error = redact(`${write.op} ${write.dn} failed: ${describeLdapError(err)}`, payload);
      log?.warn({ event: 'apply.change.failed', writes, error }, 'change failed');
      return { change, ok: false, writes, error };
    }
  }
  // Only now is the password known to be in AD: record its fingerprint so the next plan does not set it again.
  try {
    if (payload.password) {
      const { fingerprintKey, fingerprint } = payload.password;
      await remember(() => deps.fingerprints.set(fingerprintKey, fingerprint));
    }
    if (payload.forgetFingerprintKey) {
      const k = payload.forgetFingerprintKey;
      await remember(() => deps.fingerprints.delete(k));
    }
  } catch (err) {
    const error = `written to AD, but the password fingerprint could not be stored (the next pass will set the password again): ${(err as Error).message}`;
    log?.warn({ event: 'apply.change.failed', writes, error }, 'fingerprint store failed');
    return { change, ok: false, writes, error };
  }
  log?.debug({ event: 'apply.change.done', writes }, 'change applied');
  return { change, ok: true, writes };
}

async function send(client: AdClient, write: LdapWrite, password: string | undefined): Promise<void> {
  switch (write.op) {
    case 'add': {
      const attrs: Array<[string, readonly (string | Buffer)[]]> = Object.entries(write.attributes).filter(([k]) => k !== 'pwdLastSet');
      if (password !== undefined) attrs.push(['unicodePwd', [encodeUnicodePwd(password)]]);
      // pwdLastSet=0 after the password: setting a password stamps pwdLastSet with the current time.
      const pwdLastSet = write.attributes['pwdLastSet'];
      if (pwdLastSet) attrs.push(['pwdLastSet', pwdLastSet]);
      await client.add(write.dn, attrs);
      return;
    }
    case 'modify': {
      const rest: LdapModification[] = write.changes.filter((c) => c.attribute !== 'pwdLastSet');
      const last = write.changes.filter((c) => c.attribute === 'pwdLastSet');
      const pwd = password !== undefined ? [{ operation: 'replace' as const, attribute: 'unicodePwd', values: [encodeUnicodePwd(password)] }] : [];
      await client.modify(write.dn, [...rest, ...pwd, ...last]);
      return;
    }
    case 'delete':
      await client.delete(write.dn);
      return;
  }
}

/** Belt and braces: LDAP servers do not echo passwords, but an error text must never carry one. */
function redact(message: string, payload: AdPayload): string {
  const secret = payload.password?.secret;
  if (!secret) return message;
  const value = secret.reveal();
  return value.length > 0 && message.includes(value) ? message.split(value).join(REDACTED) : message;
}

// Turns each guarded Change into its LDAP writes, rank by rank, a few in flight within a rank; records every outcome.
import type { Logger } from 'pino';
import type { FingerprintStore } from '../../state/fingerprints.ts';
import { isPrune } from '../../engine/guard.ts';
import type { Applied, ApplyHooks, GuardedPlan } from '../../engine/types.ts';
import type { AdChange } from './plan.ts';
import { REDACTED } from '../../desired/secret.ts';
import { ApplyHalt } from '../../engine/apply-halt.ts';
import { TargetUnavailableError } from '../../errors.ts';
import { type AdClient, AdOperationAbortedError, describeLdapError } from './client.ts';
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
function waves(changes: readonly AdChange[]): AdChange[][] {
  const out: AdChange[][] = [];
  let current: AdChange[] = [];
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

/** Fingerprints are written in batches: at most this many, or this long after the first one waits. */
export const FINGERPRINT_BATCH = { entries: 100, delayMs: 500 } as const;

/**
 * Batches fingerprint writes. One file rewrite per password would make a 2,000-user apply spend seconds of CPU
 * rewriting the state file; a crash loses at most one batch, and the next pass then holds those passwords as unknown
 * (AD already has the Git value; plan says so and names --reset-password). Each caller's promise resolves only once
 * its fingerprint is durable.
 */
class FingerprintCheckpoint {
  #batch: Array<{ entry: readonly [string, string]; done: () => void; fail: (err: unknown) => void }> = [];
  #timer: NodeJS.Timeout | undefined;
  #chain: Promise<void> = Promise.resolve();

  constructor(private readonly store: FingerprintStore) {}

  record(key: string, fingerprint: string): Promise<void> {
    return new Promise((done, fail) => {
      this.#batch.push({ entry: [key, fingerprint], done, fail });
      // flush() settles every waiting promise itself and never rejects, so it need not be awaited here.
      if (this.#batch.length >= FINGERPRINT_BATCH.entries) void this.flush();
      else this.#timer ??= setTimeout(() => void this.flush(), FINGERPRINT_BATCH.delayMs);
    });
  }

  forget(key: string): Promise<void> {
    return this.#serial(() => this.store.delete(key));
  }

  /** Writes what is waiting; resolves once everything recorded so far is durable (or has failed). */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#batch;
    this.#batch = [];
    if (batch.length === 0) return this.#serial(async () => undefined);
    return this.#serial(async () => {
      try {
        await this.store.setMany(batch.map((b) => b.entry));
      } catch (err) {
        for (const b of batch) b.fail(err);
        return;
      }
      for (const b of batch) b.done();
    });
  }

  #serial(op: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(op);
    // A failure reaches its caller through `next`; the chain must keep serving the others.
    this.#chain = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }
}

export async function applyPlan(plan: GuardedPlan<AdPayload>, deps: ApplyDeps, signal: AbortSignal, hooks?: ApplyHooks<AdPayload>): Promise<Applied<AdPayload>[]> {
  const results: Applied<AdPayload>[] = [];
  const total = plan.changes.length;
  const checkpoint = new FingerprintCheckpoint(deps.fingerprints);
  // Once AD is unreachable (or the pass gave up), the rest of the pass is not sent: each change would only wait out
  // its own timeout. They are recorded as not attempted, and the next pass (retried with backoff) sends them.
  const halt = new ApplyHalt();
  const finish = (a: Applied<AdPayload>) => {
    results.push(a);
    hooks?.onApplied?.(a, results.length, total);
  };

  for (const wave of waves(plan.changes)) {
    const queue = [...wave];
    const finishing: Promise<void>[] = [];
    // Workers are paced by the LDAP writes only; a change is reported once its fingerprint is stored as well.
    const worker = async () => {
      for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
        const sent = await sendChange(c, deps, signal, halt);
        finishing.push(settle(c, sent, checkpoint, deps.logger).then(finish));
      }
    };
    await Promise.all(Array.from({ length: Math.min(deps.concurrency, wave.length) }, worker));
    await checkpoint.flush();
    await Promise.all(finishing);
  }
  // Report in plan order, whatever order the pool finished in.
  const order = new Map(plan.changes.map((c, i) => [c, i]));
  return results.sort((a, b) => (order.get(a.change) ?? 0) - (order.get(b.change) ?? 0));
}

interface Sent {
  readonly ok: boolean;
  readonly writes: number;
  readonly error?: string;
  readonly notAttempted?: boolean;
  readonly payload?: AdPayload;
}

async function sendChange(change: AdChange, deps: ApplyDeps, signal: AbortSignal, halt: ApplyHalt): Promise<Sent> {
  const payload = change.payload;
  if (!payload || !Array.isArray(payload.writes)) {
    return { ok: false, writes: 0, error: 'change has no active-directory payload (was it planned by this reconciler?)' };
  }
  if (halt.checkSignal(signal)) {
    const { error } = halt.notAttempted(change);
    return { ok: false, writes: 0, notAttempted: true, error };
  }
  let writes = 0;
  for (const [i, write] of payload.writes.entries()) {
    const withPassword = i === 0 ? payload.password : undefined;
    try {
      await send(deps.client, write, withPassword?.secret.reveal(), signal);
      writes++;
    } catch (err) {
      const lost = err instanceof AdOperationAbortedError ? new TargetUnavailableError(describeLdapError(err), {}) : err;
      halt.failed(lost, signal, () => redact(`Active Directory became unavailable during the pass (${describeLdapError(err)})`, payload));
      return { ok: false, writes, error: redact(`${write.op} ${write.dn} failed: ${describeLdapError(err)}`, payload), payload };
    }
  }
  return { ok: true, writes, payload };
}

/** Records what AD now holds: only after the writes succeeded is a password's fingerprint stored. */
async function settle(change: AdChange, sent: Sent, checkpoint: FingerprintCheckpoint, logger: Logger | undefined): Promise<Applied<AdPayload>> {
  const log = logger?.child({ kind: change.kind, name: change.name, action: change.action });
  if (sent.notAttempted) return { change, ok: false, writes: 0, notAttempted: true, error: sent.error };
  if (!sent.ok) {
    log?.warn({ event: 'apply.change.failed', writes: sent.writes, error: sent.error }, 'change failed');
    return { change, ok: false, writes: sent.writes, error: sent.error };
  }
  try {
    if (sent.payload?.password) await checkpoint.record(sent.payload.password.fingerprintKey, sent.payload.password.fingerprint);
    if (sent.payload?.forgetFingerprintKey) await checkpoint.forget(sent.payload.forgetFingerprintKey);
  } catch (err) {
    const error = `written to AD, but the password fingerprint could not be stored (the next plan holds this password as unknown until --reset-password): ${(err as Error).message}`;
    log?.warn({ event: 'apply.change.failed', writes: sent.writes, error }, 'fingerprint store failed');
    return { change, ok: false, writes: sent.writes, error };
  }
  log?.debug({ event: 'apply.change.done', writes: sent.writes }, 'change applied');
  return { change, ok: true, writes: sent.writes };
}

async function send(client: AdClient, write: LdapWrite, password: string | undefined, signal: AbortSignal): Promise<void> {
  switch (write.op) {
    case 'add': {
      const attrs: Array<[string, readonly (string | Buffer)[]]> = Object.entries(write.attributes).filter(([k]) => k !== 'pwdLastSet');
      if (password !== undefined) attrs.push(['unicodePwd', [encodeUnicodePwd(password)]]);
      // pwdLastSet=0 after the password: setting a password stamps pwdLastSet with the current time.
      const pwdLastSet = write.attributes['pwdLastSet'];
      if (pwdLastSet) attrs.push(['pwdLastSet', pwdLastSet]);
      await client.add(write.dn, attrs, signal);
      return;
    }
    case 'modify': {
      const rest: LdapModification[] = write.changes.filter((c) => c.attribute !== 'pwdLastSet');
      const last = write.changes.filter((c) => c.attribute === 'pwdLastSet');
      const pwd = password !== undefined ? [{ operation: 'replace' as const, attribute: 'unicodePwd', values: [encodeUnicodePwd(password)] }] : [];
      await client.modify(write.dn, [...rest, ...pwd, ...last], signal);
      return;
    }
    case 'delete':
      await client.delete(write.dn, signal);
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

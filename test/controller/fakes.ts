// Test doubles for the controller loop: an in-memory source with scripted revisions and a keyed in-memory system with controllable failures.
import type { Diagnostic } from '../../src/desired/diagnostic.ts';
import type { ResolvedState } from '../../src/desired/model.ts';
import type { Resolved } from '../../src/desired/resolve.ts';
import type { Applied, ApplyHooks, Change, Conflict, GuardedPlan, Plan, Policy, Reconciler, SystemName } from '../../src/engine/types.ts';
import type { Notification, Notifier } from '../../src/notify/notification.ts';
import { SourceError, type SignatureState, type Source, type SourceSnapshot } from '../../src/sources/source.ts';

export interface FakeRevision {
  readonly users: Readonly<Record<string, string>>;
  readonly valid?: boolean;
  readonly signature?: SignatureState;
}

/**
 * A desired state whose `users` map is the fake's name → value map (what FakeSystem plans from); every other
 * collection is empty, as the loader would leave it.
 */
export function fakeResources(users: ReadonlyMap<string, string>): ResolvedState['resources'] {
  const none = () => new Map();
  return {
    users, groups: none(), extensions: none(), conferences: none(), vpnProfiles: none(), firewallAliases: none(), firewallRules: none(),
    portForwards: none(), mailDomains: none(), mailAliases: none(),
  } as unknown as ResolvedState['resources'];
}

export class FakeSource implements Source {
  readonly revisions = new Map<string, FakeRevision>();
  head = '';
  unreachable = false;
  syncs = 0;
  /** The next N loads throw (an unreadable key file, say), as opposed to an invalid commit. */
  loadFailures = 0;

  /** A new head commit holding `users` (name → value). */
  push(revision: string, users: Readonly<Record<string, string>>, extra: Omit<FakeRevision, 'users'> = {}): void {
    this.revisions.set(revision, { users, ...extra });
    this.head = revision;
  }

  describe() {
    return { kind: 'git' as const, location: 'fake://desired', ref: 'main', path: '.' };
  }

  async sync(): Promise<SourceSnapshot> {
    this.syncs++;
    if (this.unreachable) throw new SourceError('cannot fetch main from fake://desired: connection refused');
    return this.snapshot(this.head);
  }

  async checkout(revision: string): Promise<SourceSnapshot | undefined> {
    return this.revisions.has(revision) ? this.snapshot(revision) : undefined;
  }

  refusal(s: SourceSnapshot): string | undefined {
    return s.signature.state === 'untrusted' ? 'head commit is signed by a key that is not in the allowed signers' : undefined;
  }

  private snapshot(revision: string): SourceSnapshot {
    const r = this.revisions.get(revision);
    if (!r) throw new SourceError(`no revision ${revision}`);
    return { revision, root: revision, author: 'Ana Admin <ana@cod67.example>', subject: `commit ${revision}`, signature: { state: r.signature ?? 'good' } };
  }

  /** The loader for these revisions: invalid ones give a diagnostic, valid ones a ResolvedState holding the users map. */
  load = async (root: string, revision: string): Promise<Resolved> => {
    if (this.loadFailures > 0) {
      this.loadFailures--;
      throw new Error('EACCES: permission denied, open generator.key');
    }
    const r = this.revisions.get(root)!;
    if (r.valid === false) {
      const d: Diagnostic = { file: 'users/jdupont.yaml', line: 7, col: 3, path: 'spec.givenName', code: 'schema-type', message: 'must be a string', severity: 'error' };
      return { diagnostics: [d], files: ['users/jdupont.yaml'] };
    }
    const users = new Map(Object.entries(r.users));
    return { state: { resources: fakeResources(users), secrets: { get: () => undefined }, revision }, diagnostics: [], files: [] };
  };
}

/** Live state is name → value, all owned. Desired is the users map of a FakeSource revision. */
export class FakeSystem implements Reconciler<ResolvedState, Map<string, string>> {
  readonly live = new Map<string, string>();
  writes = 0;
  passes = 0;
  observeFailures = 0;
  /** observe blocks until its signal aborts. */
  hang = false;
  /** observe blocks, deaf to its signal, until this promise resolves (a client call with no deadline). */
  deafUntil: Promise<void> | undefined;
  applyDelayMs = 0;
  readonly applying: string[] = [];
  /** What plan reports as in the way, beside its changes. */
  conflicts: Conflict[] = [];

  constructor(readonly system: SystemName) {}

  async observe(signal: AbortSignal): Promise<Map<string, string>> {
    this.passes++;
    if (this.hang) {
      await new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    }
    if (this.deafUntil) await this.deafUntil;
    if (this.observeFailures > 0) {
      this.observeFailures--;
      throw new Error('connect ECONNREFUSED');
    }
    return new Map(this.live);
  }

  plan(desired: ResolvedState, live: Map<string, string>, _policy: Policy): Plan {
    const want = desired.resources.users as unknown as Map<string, string>;
    const changes: Change[] = [];
    for (const [name, value] of want) {
      const have = live.get(name);
      if (have === undefined) changes.push({ system: this.system, kind: 'User', name, key: `User/${name}`, action: 'create', prune: false, adopt: false, rank: 1, reason: 'missing', fields: [{ path: 'value', before: undefined, after: value }] });
      else if (have !== value) changes.push({ system: this.system, kind: 'User', name, key: `User/${name}`, action: 'update', prune: false, adopt: false, rank: 1, reason: 'differs', fields: [{ path: 'value', before: have, after: value }] });
    }
    for (const name of live.keys()) {
      if (!want.has(name)) changes.push({ system: this.system, kind: 'User', name, key: `User/${name}`, action: 'delete', prune: true, adopt: false, rank: 1, reason: 'left Git', fields: [] });
    }
    return { system: this.system, changes, conflicts: this.conflicts, ownedCount: live.size };
  }

  async apply(plan: GuardedPlan, signal: AbortSignal, hooks?: ApplyHooks): Promise<Applied[]> {
    const out: Applied[] = [];
    for (const change of plan.changes) {
      if (signal.aborted) {
        out.push({ change, ok: false, writes: 0, error: 'aborted before this change was sent' });
        continue;
      }
      this.applying.push(change.name);
      if (this.applyDelayMs) await new Promise((r) => setTimeout(r, this.applyDelayMs));
      if (change.action === 'delete') this.live.delete(change.name);
      else this.live.set(change.name, String(change.fields[0]?.after));
      this.writes++;
      const applied = { change, ok: true, writes: 1 };
      out.push(applied);
      hooks?.onApplied?.(applied, out.length, plan.changes.length);
    }
    return out;
  }

  async verify(): Promise<Diagnostic[]> {
    return [];
  }

  async close(): Promise<void> {}
}

export class RecordingNotifier implements Notifier {
  readonly sent: Notification[] = [];
  async send(n: Notification): Promise<boolean> {
    this.sent.push(n);
    return true;
  }
}

/** Polls until `check` returns a truthy value, or fails after `timeoutMs` (a generous bound, not a timing assertion). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

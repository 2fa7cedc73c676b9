// The audit trail: append-only JSONL where each entry carries the hash of the one before, a head file naming the last entry written, the verifier, and the start-up check that refuses to append after a gap until it is acknowledged.
import { createHash } from 'node:crypto';
import { copyFile, open, readFile, truncate } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InfrasecError } from '../errors.ts';
import { AUDIT_HEAD_RECOVERY } from '../state/state-catalog.ts';
import { readStateFile, writeFileAtomic } from '../state/state-file.ts';
import { stateLockPath } from '../state/state-lock.ts';
import type { Change, SystemName } from '../engine/types.ts';
import { changeToJson } from './plan.ts';

export const GENESIS = '0'.repeat(64);

/** pending: written before the change is sent (write-ahead); ok/failed follow once it is done. */
/** not-attempted: nothing was sent for the change (the system became unavailable earlier in the pass). */
export type AuditResult = 'pending' | 'ok' | 'failed' | 'not-attempted' | 'refused' | 'held' | 'rejected';

/** Who ran the pass: the controller, or a person with `infrasec apply` (their OS user). */
export interface Actor {
  readonly via: 'cli' | 'controller';
  readonly user: string;
}

/** What the controller and `infrasec apply` record; field values of sensitive fields are already redacted (see changeToJson). */
export interface AuditRecord {
  readonly time: string;
  readonly commit: string;
  readonly author: string | null;
  readonly signature: string;
  /** `audit` for events about the trail itself (a torn tail cut, a gap acknowledged). */
  readonly system: SystemName | 'source' | 'audit';
  /** `Kind/name`, or null for events about a whole system or commit. */
  readonly object: string | null;
  /** create / update / disable / delete, or refuse / reject for guard refusals and rejected commits. */
  readonly action: string;
  /** In the YAML's terms (`spec.nat`); `wire` holds what the system was sent, where that differs. */
  readonly fields: ReadonlyArray<Record<string, unknown>>;
  readonly wire?: ReadonlyArray<Record<string, unknown>>;
  /** `Kind/name` of the YAML object the change served (a group's membership, a profile's certificate). */
  readonly serves?: string;
  readonly result: AuditResult;
  /** The change was a correction of drift (live state moved away from an applied commit). */
  readonly drift: boolean;
  readonly reason?: string;
  readonly error?: string;
  readonly actor?: Actor;
  /** `commit` had uncommitted changes in the work tree that was applied. */
  readonly dirty?: boolean;
}

export interface AuditEntry extends AuditRecord {
  readonly seq: number;
  readonly prev: string;
  readonly hash: string;
}

export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

/** JSON with keys sorted at every level, so the hash does not depend on property order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Pure: the hash of an entry, over everything but the hash itself (seq and prev included). */
export function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const { hash: _ignored, ...rest } = entry as AuditEntry;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** Pure: chains records after `head`. */
export function chainEntries(head: AuditHead, records: readonly AuditRecord[]): AuditEntry[] {
  const out: AuditEntry[] = [];
  let { seq, hash } = head;
  for (const r of records) {
    const base = { ...r, seq: seq + 1, prev: hash };
    const entry = { ...base, hash: entryHash(base) };
    out.push(entry);
    seq = entry.seq;
    hash = entry.hash;
  }
  return out;
}

/** Pure: an audit record for one change of a pass. */
export function changeRecord(
  c: Change,
  ctx: { time: string; commit: string; author: string | null; signature: string; drift: boolean; actor?: Actor; dirty?: boolean },
  result: AuditResult,
  error?: string,
  reason?: string,
): AuditRecord {
  const json = changeToJson(c);
  return {
    time: ctx.time, commit: ctx.commit, author: ctx.author, signature: ctx.signature, system: c.system,
    object: `${c.kind}/${c.name}`, action: c.action, fields: json['fields'] as Array<Record<string, unknown>>,
    ...(json['wire'] ? { wire: json['wire'] as Array<Record<string, unknown>> } : {}), ...(c.serves ? { serves: c.serves } : {}),
    result, drift: ctx.drift, ...(reason ? { reason } : {}), ...(error ? { error } : {}),
    ...(ctx.actor ? { actor: ctx.actor } : {}), ...(ctx.dirty ? { dirty: true } : {}),
  };
}

export interface AuditProblem {
  /** 1-based line number in the file. */
  readonly line: number;
  readonly message: string;
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly entries: number;
  readonly problems: readonly AuditProblem[];
}

/**
 * Pure: checks the chain line by line. The first break is reported with its line (later lines follow from it).
 * `head` (the last seq/hash recorded beside the log) catches entries cut from the end, which a chain alone cannot.
 */
export function verifyAuditText(text: string, head?: AuditHead, from: AuditHead = { seq: 0, hash: GENESIS }): AuditVerification {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let prev: AuditHead = from;
  const fail = (line: number, message: string, entries: number): AuditVerification => ({ ok: false, entries, problems: [{ line, message }] });
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    let e: AuditEntry;
    try {
      e = JSON.parse(lines[i]!) as AuditEntry;
    } catch {
      return fail(n, 'not valid JSON (entry edited or torn)', i);
    }
    if (typeof e !== 'object' || e === null || typeof e.seq !== 'number' || typeof e.hash !== 'string' || typeof e.prev !== 'string') {
      return fail(n, 'not an audit entry (seq, prev or hash missing)', i);
    }
    if (entryHash(e) !== e.hash) return fail(n, `entry ${e.seq} was modified: its content does not match its hash`, i);
    if (e.seq !== prev.seq + 1) {
      return fail(n, e.seq > prev.seq + 1 ? `entry ${prev.seq + 1} is missing: line ${n} holds entry ${e.seq} (deleted)` : `entry ${e.seq} is out of order after entry ${prev.seq} (reordered or duplicated)`, i);
    }
    if (e.prev !== prev.hash) return fail(n, `entry ${e.seq} does not chain to the entry before it (reordered, replaced or deleted)`, i);
    prev = { seq: e.seq, hash: e.hash };
  }
  if (head && head.seq > prev.seq) return fail(lines.length + 1, `log ends at entry ${prev.seq} but ${head.seq} were written: entries cut from the end`, lines.length);
  if (head && head.seq === prev.seq && head.hash !== prev.hash) return fail(lines.length, `last entry ${prev.seq} does not match the recorded head (rewritten)`, lines.length);
  return { ok: true, entries: lines.length, problems: [] };
}

/**
 * The trails of a state directory, each its own hash chain with one writer at a time: `changes` (what the controller
 * and `infrasec apply` did, under the state lock) and `secrets` (every secret `infrasec secrets` revealed or exported,
 * under its own lock, so hand-overs are recorded while the controller runs).
 */
export const AUDIT_TRAILS = ['changes', 'secrets'] as const;
export type AuditTrail = (typeof AUDIT_TRAILS)[number];

/** The lock its writer holds: the state lock for `changes` (the controller, apply), a lock of its own for `secrets`. */
export function auditLockPath(stateDir: string, trail: AuditTrail): string {
  return trail === 'changes' ? stateLockPath(stateDir) : join(stateDir, `${trail}-audit.lock`);
}

export function auditPaths(stateDir: string, trail: AuditTrail = 'changes'): { log: string; head: string } {
  const base = trail === 'changes' ? 'audit' : `${trail}-audit`;
  return { log: join(stateDir, `${base}.jsonl`), head: join(stateDir, `${base}.head.json`) };
}

export async function verifyAuditFile(stateDir: string, trail: AuditTrail = 'changes'): Promise<AuditVerification> {
  const paths = auditPaths(stateDir, trail);
  let text = '';
  try {
    text = await readFile(paths.log, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return verifyAuditText(text, await readAuditHead(paths.head));
}

const checkHead = (v: unknown): string | undefined =>
  typeof v === 'object' && v !== null && typeof (v as AuditHead).seq === 'number' && Number.isInteger((v as AuditHead).seq) && (v as AuditHead).seq >= 0 && typeof (v as AuditHead).hash === 'string'
    ? undefined
    : 'not an audit head ({seq, hash})';

/** The recorded head (audit.head.json), or undefined when there is none; a corrupt one is refused with the recovery steps. */
export function readAuditHead(path: string): Promise<AuditHead | undefined> {
  return readStateFile<AuditHead>(path, { check: checkHead, recovery: AUDIT_HEAD_RECOVERY });
}

/** What the start-up check found in the log against its recorded head. */
export type AuditInspection =
  /** Consistent; `tornBytes` > 0 when a crash mid-append left an unfinished, never acknowledged last line (cut on open). */
  | { readonly ok: true; readonly head: AuditHead; readonly keepBytes: number; readonly tornBytes: number; readonly torn: string }
  /** A gap, a rewrite or a broken chain: `found` is the last entry that chains, `keepBytes` the length of the log up to it. */
  | { readonly ok: false; readonly problem: string; readonly expected: AuditHead | null; readonly found: AuditHead; readonly keepBytes: number; readonly dropBytes: number };

/**
 * Pure: checks the log against the head recorded after each append. The head may lag the log (a crash between the
 * append and the head write), never lead it: entries the head counts that the log lacks were cut. An unfinished last
 * line is a crash mid-append only when everything before it matches the head.
 */
export function inspectAudit(text: string, recorded: AuditHead | undefined): AuditInspection {
  const bytes = Buffer.from(text, 'utf8');
  const end = text.endsWith('\n') || text.length === 0 ? bytes.length : bytes.lastIndexOf(0x0a) + 1;
  const whole = bytes.subarray(0, end).toString('utf8');
  const torn = bytes.subarray(end).toString('utf8');
  const lines = whole.split('\n');
  lines.pop();
  let head: AuditHead = { seq: 0, hash: GENESIS };
  let keepBytes = 0;
  const hashes = new Map<number, string>();
  let problem: string | undefined;
  for (const [i, line] of lines.entries()) {
    const v = verifyAuditText(`${line}\n`, undefined, head);
    if (!v.ok) {
      problem = `line ${i + 1}: ${v.problems[0]!.message}`;
      break;
    }
    const e = JSON.parse(line) as AuditEntry;
    head = { seq: e.seq, hash: e.hash };
    hashes.set(e.seq, e.hash);
    keepBytes += Buffer.byteLength(line) + 1;
  }
  const damaged = (why: string): AuditInspection => ({ ok: false, problem: why, expected: recorded ?? null, found: head, keepBytes, dropBytes: bytes.length - keepBytes });
  if (problem) return damaged(problem);
  const tornNote = torn.length > 0 ? ` (and ${Buffer.byteLength(torn)} bytes of an unfinished line after it)` : '';
  if (!recorded) {
    if (bytes.length === 0) return { ok: true, head, keepBytes, tornBytes: 0, torn: '' };
    return damaged(`audit.head.json is missing: nothing tells whether entries were cut from the end of the log, which ends at entry ${head.seq}${tornNote}`);
  }
  if (recorded.seq > head.seq) {
    return damaged(`the log ends at entry ${head.seq} but entry ${recorded.seq} was written: entries ${head.seq + 1}-${recorded.seq} are missing${tornNote}`);
  }
  if (hashes.get(recorded.seq) !== recorded.hash && !(recorded.seq === 0 && recorded.hash === GENESIS)) {
    return damaged(`entry ${recorded.seq} does not match the recorded head (rewritten)${tornNote}`);
  }
  return { ok: true, head, keepBytes, tornBytes: Buffer.byteLength(torn), torn };
}

/** Appends are refused until the gap is acknowledged: the message says what is wrong and the command that records it. */
export class AuditDamagedError extends InfrasecError {
  constructor(readonly problem: string) {
    super('audit-damaged', `the audit trail is damaged (${problem}); nothing is appended, so no change is applied, until an admin records the gap with \`infrasec audit repair --acknowledge-gap\``);
  }
}

export async function readAuditEntries(stateDir: string, trail: AuditTrail = 'changes'): Promise<AuditEntry[]> {
  let text: string;
  try {
    text = await readFile(auditPaths(stateDir, trail).log, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEntry);
}

/** The writer. Appends are serialized (systems run concurrently), each batch is one write followed by fsync, then the head is updated. */
export class AuditLog {
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly paths: { log: string; head: string },
    private head: AuditHead,
    /** Bytes of an unfinished last line cut at open (a crash mid-append); recorded as an audit entry. */
    readonly recovered: number,
    /** Set when the log does not match its head: every append is refused until `infrasec audit repair`. */
    readonly damage: string | undefined,
  ) {}

  /**
   * Opens the log and checks it against its recorded head. An unfinished last line after a consistent log (a crash
   * mid-append, never acknowledged) is cut and the cut is itself audited; anything else (entries cut, a rewrite, a
   * broken chain, a missing head) leaves the files untouched and the log refusing appends.
   */
  static async open(stateDir: string, now: () => Date = () => new Date(), trail: AuditTrail = 'changes'): Promise<AuditLog> {
    const paths = auditPaths(stateDir, trail);
    const text = await readLog(paths.log);
    const found = inspectAudit(text, await readAuditHead(paths.head));
    if (!found.ok) return new AuditLog(paths, found.found, 0, found.problem);
    const log = new AuditLog(paths, found.head, found.tornBytes, undefined);
    if (found.tornBytes > 0) {
      await truncate(paths.log, found.keepBytes);
      await log.append([auditEvent(now(), 'cut-torn-tail', `a crash during an append left ${found.tornBytes} bytes of an unfinished entry after entry ${found.head.seq}; it was never acknowledged and was cut`, [
        { path: 'audit.torn', bytes: found.tornBytes, sha256: createHash('sha256').update(found.torn).digest('hex') },
      ])]);
    } else if (text.length > 0) {
      // The head may lag the log by the last batch (crash between the two writes): bring it level.
      await writeFileAtomic(paths.head, `${JSON.stringify(found.head)}\n`);
    }
    return log;
  }

  get current(): AuditHead {
    return this.head;
  }

  append(records: readonly AuditRecord[]): Promise<readonly AuditEntry[]> {
    if (this.damage) return Promise.reject(new AuditDamagedError(this.damage));
    if (records.length === 0) return Promise.resolve([]);
    const run = this.tail.then(async () => {
      const entries = chainEntries(this.head, records);
      try {
        const fh = await open(this.paths.log, 'a', 0o600);
        try {
          await fh.write(entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
          await fh.datasync();
        } finally {
          await fh.close();
        }
      } catch (err) {
        // Part of the batch may have reached the file: take the head from disk so the next batch chains onto what is there.
        const again = inspectAudit(await readLog(this.paths.log), undefined);
        this.head = again.ok ? again.head : again.found;
        throw err;
      }
      const last = entries[entries.length - 1]!;
      this.head = { seq: last.seq, hash: last.hash };
      await writeFileAtomic(this.paths.head, `${JSON.stringify(this.head)}\n`);
      return entries;
    });
    // A failed append fails its caller; the queue itself carries on for the next batch.
    this.tail = run.then(() => undefined, () => undefined);
    return run;
  }
}

/** Pure: an audit record about the trail itself. */
function auditEvent(time: Date, action: string, reason: string, fields: Array<Record<string, unknown>>, actor: string | null = null): AuditRecord {
  return { time: time.toISOString(), commit: 'none', author: actor, signature: 'none', system: 'audit', object: null, action, fields, result: 'ok', drift: false, reason };
}

async function readLog(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

export interface AuditRepair {
  readonly repaired: boolean;
  readonly problem?: string;
  /** Where the log was copied, as found, before anything was cut. */
  readonly keptAs?: string;
  readonly entry?: AuditEntry;
}

/**
 * `infrasec audit repair --acknowledge-gap` (run with the controller stopped, under the state lock): copies the damaged
 * log aside as evidence, keeps the entries that still chain, and appends an `acknowledge-gap` entry saying what was
 * lost (the head expected against the head found, the bytes dropped and their digest) before anything else is appended.
 */
export async function repairAudit(stateDir: string, actor: string, now: () => Date = () => new Date(), trail: AuditTrail = 'changes'): Promise<AuditRepair> {
  const paths = auditPaths(stateDir, trail);
  const text = await readLog(paths.log);
  const found = inspectAudit(text, await readAuditHead(paths.head).catch(() => undefined));
  if (found.ok) return { repaired: false };
  const keptAs = `${paths.log}.damaged-${now().toISOString().replace(/[:.]/g, '-')}`;
  await copyFile(paths.log, keptAs).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  const dropped = Buffer.from(text, 'utf8').subarray(found.keepBytes);
  const record = auditEvent(now(), 'acknowledge-gap', `${found.problem}; acknowledged by ${actor}`, [
    { path: 'audit.head', expected: found.expected, found: found.found },
    { path: 'audit.dropped', bytes: dropped.length, sha256: createHash('sha256').update(dropped).digest('hex'), keptIn: basename(keptAs) },
  ], actor);
  const [entry] = chainEntries(found.found, [record]);
  const fh = await open(paths.log, 'a', 0o600);
  try {
    await fh.truncate(found.keepBytes);
    await fh.write(`${JSON.stringify(entry)}\n`);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await writeFileAtomic(paths.head, `${JSON.stringify({ seq: entry!.seq, hash: entry!.hash })}\n`);
  return { repaired: true, problem: found.problem, keptAs, entry: entry! };
}

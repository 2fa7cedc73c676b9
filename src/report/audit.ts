// The audit trail: append-only JSONL where each entry carries the hash of the one before, plus the verifier that finds any edit, deletion or reordering.
import { createHash } from 'node:crypto';
import { open, readFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile, writeFileAtomic } from '../engine/state-file.ts';
import type { Change, SystemName } from '../engine/types.ts';
import { changeToJson } from './plan.ts';

export const GENESIS = '0'.repeat(64);

/** pending: written before the change is sent (write-ahead); ok/failed follow once it is done. */
export type AuditResult = 'pending' | 'ok' | 'failed' | 'refused' | 'held' | 'rejected';

/** What the controller records; field values of sensitive fields are already redacted (see changeToJson). */
export interface AuditRecord {
  readonly time: string;
  readonly commit: string;
  readonly author: string | null;
  readonly signature: string;
  readonly system: SystemName | 'source';
  /** `Kind/name`, or null for events about a whole system or commit. */
  readonly object: string | null;
  /** create / update / disable / delete, or refuse / reject for guard refusals and rejected commits. */
  readonly action: string;
  readonly fields: ReadonlyArray<Record<string, unknown>>;
  readonly result: AuditResult;
  /** The change was a correction of drift (live state moved away from an applied commit). */
  readonly drift: boolean;
  readonly reason?: string;
  readonly error?: string;
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
export function changeRecord(c: Change, ctx: { time: string; commit: string; author: string | null; signature: string; drift: boolean }, result: AuditResult, error?: string, reason?: string): AuditRecord {
  const json = changeToJson(c);
  return {
    time: ctx.time, commit: ctx.commit, author: ctx.author, signature: ctx.signature, system: c.system,
    object: `${c.kind}/${c.name}`, action: c.action, fields: json['fields'] as Array<Record<string, unknown>>,
    result, drift: ctx.drift, ...(reason ? { reason } : {}), ...(error ? { error } : {}),
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
export function verifyAuditText(text: string, head?: AuditHead): AuditVerification {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let prev: AuditHead = { seq: 0, hash: GENESIS };
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

export function auditPaths(stateDir: string): { log: string; head: string } {
  return { log: join(stateDir, 'audit.jsonl'), head: join(stateDir, 'audit.head.json') };
}

export async function verifyAuditFile(stateDir: string): Promise<AuditVerification> {
  const paths = auditPaths(stateDir);
  let text = '';
  try {
    text = await readFile(paths.log, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return verifyAuditText(text, await readJsonFile<AuditHead>(paths.head));
}

export async function readAuditEntries(stateDir: string): Promise<AuditEntry[]> {
  let text: string;
  try {
    text = await readFile(auditPaths(stateDir).log, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEntry);
}

/** The writer. Appends are serialized (systems run concurrently), each batch is one write followed by fsync, then the head is updated. */
export class AuditLog {
  private tail: Promise<void> = Promise.resolve();

  private constructor(private readonly paths: { log: string; head: string }, private head: AuditHead, readonly recovered: number) {}

  /** Opens the log at its last complete entry (see readHead for a torn final line). */
  static async open(stateDir: string): Promise<AuditLog> {
    const paths = auditPaths(stateDir);
    const { head, recovered } = await readHead(paths.log);
    return new AuditLog(paths, head, recovered);
  }

  get current(): AuditHead {
    return this.head;
  }

  append(records: readonly AuditRecord[]): Promise<readonly AuditEntry[]> {
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
        this.head = (await readHead(this.paths.log)).head;
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

/** The last complete entry of the log; a torn final line (crash mid-append, never acknowledged) is cut off first. */
async function readHead(path: string): Promise<{ head: AuditHead; recovered: number }> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  let recovered = 0;
  if (text.length > 0 && !text.endsWith('\n')) {
    const keep = text.lastIndexOf('\n') + 1;
    recovered = Buffer.byteLength(text.slice(keep));
    await truncate(path, Buffer.byteLength(text.slice(0, keep)));
    text = text.slice(0, keep);
  }
  const lines = text.split('\n').filter(Boolean);
  const last = lines[lines.length - 1];
  if (!last) return { head: { seq: 0, hash: GENESIS }, recovered };
  const e = JSON.parse(last) as AuditEntry;
  return { head: { seq: e.seq, hash: e.hash }, recovered };
}

// Unit and file-level: the hash-chained audit log — chaining, redaction, torn-line recovery, and detection of edits, deletions, reordering and truncation.
import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Change } from '../../src/engine/types.ts';
import { AuditLog, auditPaths, canonicalJson, chainEntries, changeRecord, GENESIS, verifyAuditFile, verifyAuditText, type AuditRecord } from '../../src/report/audit.ts';

const record = (n: number, over: Partial<AuditRecord> = {}): AuditRecord => ({
  time: `2026-03-01T12:00:${String(n).padStart(2, '0')}.000Z`, commit: 'a'.repeat(40), author: 'Ana <ana@cod>', signature: 'good',
  system: 'active-directory', object: `User/u${n}`, action: 'create', fields: [], result: 'ok', drift: false, ...over,
});

const textOf = (n: number) => chainEntries({ seq: 0, hash: GENESIS }, Array.from({ length: n }, (_, i) => record(i + 1))).map((e) => JSON.stringify(e)).join('\n') + '\n';
const lines = (t: string) => t.trimEnd().split('\n');

describe('chainEntries / verifyAuditText', () => {
  it('chains each entry to the hash of the one before and verifies', () => {
    const entries = chainEntries({ seq: 0, hash: GENESIS }, [record(1), record(2)]);
    expect(entries[0]!.prev).toBe(GENESIS);
    expect(entries[1]!.prev).toBe(entries[0]!.hash);
    expect(entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(verifyAuditText(textOf(5))).toEqual({ ok: true, entries: 5, problems: [] });
  });

  it('hashes independently of key order', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 2 }] } })).toBe('{"a":{"c":[3,{"e":2,"f":1}],"d":2},"b":1}');
  });

  it('detects an edited field and names the line', () => {
    const l = lines(textOf(5));
    l[2] = l[2]!.replace('"result":"ok"', '"result":"failed"');
    const v = verifyAuditText(l.join('\n') + '\n');
    expect(v.ok).toBe(false);
    expect(v.problems[0]).toMatchObject({ line: 3 });
    expect(v.problems[0]!.message).toMatch(/modified/);
  });

  it('detects a deleted line in the middle', () => {
    const l = lines(textOf(5));
    l.splice(1, 1);
    const v = verifyAuditText(l.join('\n') + '\n');
    expect(v.problems[0]).toMatchObject({ line: 2 });
    expect(v.problems[0]!.message).toMatch(/entry 2 is missing/);
  });

  it('detects a deleted first line', () => {
    const v = verifyAuditText(lines(textOf(3)).slice(1).join('\n') + '\n');
    expect(v.problems[0]).toMatchObject({ line: 1 });
  });

  it('detects two swapped lines', () => {
    const l = lines(textOf(5));
    [l[2], l[3]] = [l[3]!, l[2]!];
    const v = verifyAuditText(l.join('\n') + '\n');
    expect(v.ok).toBe(false);
    expect(v.problems[0]!.line).toBe(3);
  });

  it('detects an entry rewritten with a recomputed hash (the next entry no longer chains)', () => {
    const entries = chainEntries({ seq: 0, hash: GENESIS }, [record(1), record(2), record(3)]);
    const forged = chainEntries({ seq: 1, hash: entries[0]!.hash }, [record(2, { result: 'failed' })])[0]!;
    const text = [entries[0], forged, entries[2]].map((e) => JSON.stringify(e)).join('\n') + '\n';
    const v = verifyAuditText(text);
    expect(v.problems[0]).toMatchObject({ line: 3 });
    expect(v.problems[0]!.message).toMatch(/does not chain/);
  });

  it('detects entries cut from the end only with the recorded head', () => {
    const entries = chainEntries({ seq: 0, hash: GENESIS }, [record(1), record(2), record(3)]);
    const cut = entries.slice(0, 2).map((e) => JSON.stringify(e)).join('\n') + '\n';
    expect(verifyAuditText(cut).ok).toBe(true);
    const v = verifyAuditText(cut, { seq: 3, hash: entries[2]!.hash });
    expect(v.ok).toBe(false);
    expect(v.problems[0]).toMatchObject({ line: 3 });
    expect(v.problems[0]!.message).toMatch(/cut from the end/);
  });

  it('reports a line that is not JSON', () => {
    const l = lines(textOf(2));
    l.push('{"seq": 3,');
    expect(verifyAuditText(l.join('\n') + '\n').problems[0]).toMatchObject({ line: 3 });
  });
});

describe('changeRecord', () => {
  it('never carries the value of a sensitive field', () => {
    const c: Change = {
      system: 'active-directory', kind: 'User', name: 'jdupont', key: 'User/jdupont', action: 'update', prune: false, adopt: false, rank: 2, reason: 'password changed',
      fields: [{ path: 'password', before: 'Old-Pass-123', after: 'New-Pass-456', sensitive: true }, { path: 'title', before: 'a', after: 'b' }],
    };
    const r = changeRecord(c, { time: 't', commit: 'c', author: null, signature: 'good', drift: true }, 'ok');
    const text = JSON.stringify(r);
    expect(text).not.toContain('Old-Pass-123');
    expect(text).not.toContain('New-Pass-456');
    expect(r.object).toBe('User/jdupont');
    expect(r.drift).toBe(true);
    expect(r.fields[1]).toEqual({ path: 'title', before: 'a', after: 'b' });
  });
});

describe('AuditLog (file)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infrasec-audit-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the chain across concurrent appends and a reopen', async () => {
    const log = await AuditLog.open(dir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => log.append([record(i + 1)])));
    const again = await AuditLog.open(dir);
    await again.append([record(21), record(22)]);
    const v = await verifyAuditFile(dir);
    expect(v).toMatchObject({ ok: true, entries: 22 });
    const head = JSON.parse(await readFile(auditPaths(dir).head, 'utf8'));
    expect(head.seq).toBe(22);
  });

  it('cuts a torn final line left by a crash and chains on from the last whole entry', async () => {
    const log = await AuditLog.open(dir);
    await log.append([record(1), record(2)]);
    await appendFile(auditPaths(dir).log, '{"seq":3,"time":"2026-03-01T1');
    const reopened = await AuditLog.open(dir);
    expect(reopened.recovered).toBeGreaterThan(0);
    await reopened.append([record(3)]);
    // The cut itself is on record, between the last whole entry and the next one.
    expect(await verifyAuditFile(dir)).toMatchObject({ ok: true, entries: 4 });
    const cut = lines(await readFile(auditPaths(dir).log, 'utf8')).map((l) => JSON.parse(l))[2];
    expect(cut).toMatchObject({ seq: 3, system: 'audit', action: 'cut-torn-tail' });
  });

  it('fails verification after a line is removed from the file on disk', async () => {
    const log = await AuditLog.open(dir);
    await log.append([record(1), record(2), record(3)]);
    const l = lines(await readFile(auditPaths(dir).log, 'utf8'));
    await writeFile(auditPaths(dir).log, [l[0], l[2]].join('\n') + '\n');
    const v = await verifyAuditFile(dir);
    expect(v.ok).toBe(false);
    expect(v.problems[0]!.line).toBe(2);
  });

  it('verifies an absent log as empty and intact', async () => {
    expect(await verifyAuditFile(dir)).toEqual({ ok: true, entries: 0, problems: [] });
  });
});

// Unit: folding drift passes into the persisted report (first/last seen, corrected, report/ignore policy, retention) and its three renderings.
import { describe, expect, it } from 'vitest';
import type { PassResult } from '../../src/engine/pass.ts';
import { DEFAULT_POLICY, type Change, type Policy } from '../../src/engine/types.ts';
import { clearOpenDrift, EMPTY_DRIFT_REPORT, openDrift, renderDriftHtml, renderDriftJson, renderDriftMarkdown, updateDriftReport } from '../../src/report/drift.ts';

const REV = 'c0ffee'.padEnd(40, '0');
const t = (min: number) => new Date(Date.UTC(2026, 2, 1, 12, min));

const titleChange: Change = {
  system: 'active-directory', kind: 'User', name: 'jdupont', key: 'User/jdupont', action: 'update', prune: false, adopt: false, rank: 2, reason: 'drift',
  fields: [{ path: 'title', before: 'Stagiaire', after: 'Opérateur' }, { path: 'password', before: 'Hunter2!', after: 'S3cret!', sensitive: true }],
};
const groupChange: Change = { system: 'active-directory', kind: 'Group', name: 'cod-terrain', key: 'Group/cod-terrain', action: 'create', prune: false, adopt: false, rank: 1, reason: 'deleted by hand', fields: [] };

function result(changes: Change[], over: Partial<PassResult> = {}): PassResult {
  return {
    system: 'active-directory', mode: 'apply', revision: REV, status: 'changes', changes, held: [], conflicts: [], refused: [], applied: [], verify: [],
    startedAt: t(0).toISOString(), durationMs: 10, writes: 0, ...over,
  };
}
const corrected = (changes: Change[]) => result(changes, { status: 'applied', applied: changes.map((change) => ({ change, ok: true, writes: 1 })) });
const policy = (drift: Policy['drift']): Policy => ({ ...DEFAULT_POLICY, drift });

describe('updateDriftReport', () => {
  it('lists expected and actual per field, with sensitive values redacted', () => {
    const r = updateDriftReport(EMPTY_DRIFT_REPORT, result([titleChange]), policy({ '*': 'report' }), t(1));
    expect(r.entries).toHaveLength(1);
    const e = r.entries[0]!;
    expect(e).toMatchObject({ kind: 'User', name: 'jdupont', mode: 'report', corrected: false, firstSeen: t(1).toISOString(), revision: REV });
    expect(e.fields[0]).toEqual({ path: 'title', expected: 'Opérateur', actual: 'Stagiaire', sensitive: false });
    expect(e.fields[1]).toEqual({ path: 'password', expected: '(sensitive)', actual: '(sensitive)', sensitive: true });
    expect(JSON.stringify(r)).not.toMatch(/Hunter2|S3cret/);
    expect(r.systems['active-directory']).toMatchObject({ open: 1 });
  });

  it('keeps firstSeen while the drift persists and moves lastSeen', () => {
    const p = policy({ '*': 'report' });
    const r1 = updateDriftReport(EMPTY_DRIFT_REPORT, result([titleChange]), p, t(1));
    const r2 = updateDriftReport(r1, result([titleChange]), p, t(5));
    expect(r2.entries[0]).toMatchObject({ firstSeen: t(1).toISOString(), lastSeen: t(5).toISOString() });
  });

  it('marks drift corrected when the pass applied it, and keeps it listed within the retention', () => {
    const p = policy({ '*': 'correct' });
    const r1 = updateDriftReport(EMPTY_DRIFT_REPORT, corrected([titleChange]), p, t(1));
    expect(r1.entries[0]).toMatchObject({ corrected: true, correctedAt: t(1).toISOString() });
    expect(openDrift(r1, 'active-directory')).toHaveLength(0);
    const r2 = updateDriftReport(r1, result([], { status: 'in-sync' }), p, t(30));
    expect(r2.entries).toHaveLength(1);
    const r3 = updateDriftReport(r2, result([], { status: 'in-sync' }), p, new Date(t(1).getTime() + 25 * 3600_000));
    expect(r3.entries).toHaveLength(0);
  });

  it('starts a new firstSeen when drift reappears after a correction', () => {
    const p = policy({ '*': 'correct' });
    const r1 = updateDriftReport(EMPTY_DRIFT_REPORT, corrected([titleChange]), p, t(1));
    const r2 = updateDriftReport(r1, result([titleChange], { status: 'failed', applied: [{ change: titleChange, ok: false, writes: 0, error: 'insufficient rights' }] }), p, t(9));
    expect(r2.entries[0]).toMatchObject({ firstSeen: t(9).toISOString(), corrected: false, error: 'insufficient rights' });
  });

  it('drops uncorrected drift that went away (fixed by hand) and leaves ignored kinds out', () => {
    const p = policy({ '*': 'report', Group: 'ignore' });
    const r1 = updateDriftReport(EMPTY_DRIFT_REPORT, result([titleChange, groupChange]), p, t(1));
    expect(r1.entries.map((e) => e.kind)).toEqual(['User']);
    const r2 = updateDriftReport(r1, result([], { status: 'in-sync' }), p, t(2));
    expect(r2.entries).toHaveLength(0);
  });

  it('keeps what it knew when the system could not be read', () => {
    const p = policy({ '*': 'report' });
    const r1 = updateDriftReport(EMPTY_DRIFT_REPORT, result([titleChange]), p, t(1));
    const r2 = updateDriftReport(r1, result([], { status: 'failed', error: { code: 'target-unavailable', message: 'connect ECONNREFUSED', class: 'transient' } }), p, t(2));
    expect(r2.entries).toEqual(r1.entries);
    expect(r2.systems['active-directory']).toMatchObject({ error: 'connect ECONNREFUSED', open: 1 });
  });

  it('a pass failed by a blocking conflict still read the system: its drift and what it cannot read are reported', () => {
    const p = policy({ '*': 'report' });
    const r1 = updateDriftReport(EMPTY_DRIFT_REPORT, result([titleChange]), p, t(1));
    const blocked = result([], { status: 'failed', error: { code: 'conflict', message: '1 conflict(s) keep desired objects out of service', class: 'transient' }, unreadable: ['User/*: password'] });
    const r2 = updateDriftReport(r1, blocked, p, t(2));
    expect(r2.entries).toEqual([]);
    expect(r2.systems['active-directory']).toMatchObject({ error: '1 conflict(s) keep desired objects out of service', open: 0, unreadable: ['User/*: password'] });
    expect(renderDriftMarkdown(r2)).toContain('- User/*: password');
    expect(renderDriftHtml(r2)).toContain('<li>User/*: password</li>');
  });

  it('records a guard refusal as the reason drift under correct was not corrected', () => {
    const r = updateDriftReport(EMPTY_DRIFT_REPORT, result([groupChange], { status: 'refused', refused: ['above the threshold'] }), policy({ '*': 'correct' }), t(1));
    expect(r.entries[0]).toMatchObject({ corrected: false, error: 'above the threshold' });
  });

  it('clearOpenDrift drops open entries of one system after a new commit converged', () => {
    const r1 = updateDriftReport(EMPTY_DRIFT_REPORT, result([titleChange]), policy({ '*': 'report' }), t(1));
    expect(clearOpenDrift(r1, 'active-directory', t(2)).entries).toHaveLength(0);
  });
});

describe('renderings', () => {
  const hostile: Change = { ...titleChange, name: 'x<script>alert(1)</script>', fields: [{ path: 'title', before: '<img src=x onerror=alert(1)>', after: 'ok' }, titleChange.fields[1]!] };
  const report = updateDriftReport(EMPTY_DRIFT_REPORT, result([hostile, groupChange]), policy({ '*': 'report' }), t(1));

  it('HTML is one self-contained page with every value escaped and secrets hidden', () => {
    const html = renderDriftHtml(report);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<img|src=["']?http|<link/i);
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toMatch(/Hunter2|S3cret/);
    expect(html).toContain('(changed)');
  });

  it('Markdown shows a row per field with expected and actual', () => {
    const md = renderDriftMarkdown(report);
    expect(md).toContain('| expected | actual |');
    expect(md).toMatch(/\| title \| "ok" \| "<img src=x onerror=alert\(1\)>" \|/);
    expect(md).toContain('`Group/cod-terrain`');
    expect(md).not.toMatch(/Hunter2|S3cret/);
  });

  it('JSON round-trips the report', () => {
    expect(JSON.parse(renderDriftJson(report))).toEqual(report);
  });

  it('says so when no drift pass has run', () => {
    expect(renderDriftMarkdown(EMPTY_DRIFT_REPORT)).toContain('No drift pass has run yet.');
    expect(renderDriftHtml(EMPTY_DRIFT_REPORT)).toContain('No drift pass has run yet.');
  });
});

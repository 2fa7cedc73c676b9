import { describe, expect, it } from 'vitest';
import { Secret, sha256Hex } from '../../src/desired/secret.ts';
import type { PassResult } from '../../src/engine/pass.ts';
import type { Change } from '../../src/engine/types.ts';
import { renderReport, type Report } from '../../src/report/plan.ts';

const PASSWORD = 'Tr0ub4dor&3-do-not-print';
const secret = new Secret(PASSWORD, 'encrypted', sha256Hex('ciphertext'));

const changes: Change[] = [
  { system: 'active-directory', kind: 'User', name: 'jdupont', key: 'User/jdupont', action: 'create', prune: false, adopt: false, rank: 3, reason: 'not in AD',
    fields: [{ path: 'givenName', before: undefined, after: 'Jean' }, { path: 'password', before: '(sensitive)', after: '(sensitive)', sensitive: true }],
    payload: { password: secret } },
  { system: 'active-directory', kind: 'User', name: 'amuller', key: 'User/amuller', action: 'update', prune: false, adopt: false, rank: 3, reason: 'differs', fields: [{ path: 'title', before: 'Opératrice', after: 'Cheffe de salle' }] },
  // A reconciler that wrongly put a live secret in a sensitive field must still not leak it.
  { system: 'active-directory', kind: 'User', name: 'leaky', key: 'User/leaky', action: 'update', prune: false, adopt: false, rank: 3, reason: 'differs', fields: [{ path: 'password', before: PASSWORD, after: secret, sensitive: true }] },
  { system: 'active-directory', kind: 'User', name: 'old', key: 'User/old', action: 'disable', prune: false, adopt: false, rank: 3, reason: 'left Git', fields: [{ path: 'enabled', before: true, after: false }] },
];

const result = (over: Partial<PassResult> = {}): PassResult => ({
  system: 'active-directory', mode: 'plan', revision: '0123456789abcdef0123', status: 'changes', changes, held: [], conflicts: [],
  refused: [], applied: [], verify: [], startedAt: '2026-11-22T00:00:00.000Z', durationMs: 5, writes: 0, ...over,
});

const report = (over: Partial<Report> = {}): Report => ({ mode: 'plan', revision: '0123456789abcdef0123', results: [result()], skipped: [{ system: 'pfsense', reason: 'not configured' }], ...over });

describe('renderReport', () => {
  it.each(['text', 'json', 'markdown'] as const)('never prints a secret value in %s', (format) => {
    const out = renderReport(report(), format);
    expect(out).not.toContain(PASSWORD);
  });

  it('prints one line per change with field-level before → after and a Terraform-like summary', () => {
    const out = renderReport(report(), 'text');
    expect(out).toContain('+ User/jdupont  create');
    expect(out).toContain('givenName: (none) → "Jean"');
    expect(out).toContain('password: (changed)');
    expect(out).toContain('title: "Opératrice" → "Cheffe de salle"');
    expect(out.trim().split('\n').pop()).toBe('Plan: 1 to create, 2 to update, 1 to disable, 0 to delete. Skipped: pfsense (not configured).');
  });

  it('gives every JSON change system, kind, name, action and fields with path, before and after', () => {
    const json = JSON.parse(renderReport(report(), 'json'));
    const c = json.systems[0].changes[0];
    expect(c).toMatchObject({ system: 'active-directory', kind: 'User', name: 'jdupont', action: 'create' });
    expect(c.fields[0]).toEqual({ path: 'givenName', before: null, after: 'Jean' });
    expect(c.fields[1]).toEqual({ path: 'password', before: '(sensitive)', after: '(sensitive)', sensitive: true });
    expect(json.skipped).toEqual([{ system: 'pfsense', reason: 'not configured' }]);
  });

  it('renders a Markdown table and escapes pipes in values', () => {
    const md = renderReport(report({ results: [result({ changes: [{ ...changes[1]!, fields: [{ path: 'title', before: 'a|b', after: 'c' }] }] })] }), 'markdown');
    expect(md).toContain('| ~ | `User/amuller` | update | title | "a\\|b" | "c" |');
  });

  it('marks a conflict that keeps an object out of service and lists what cannot be read back', () => {
    const r = result({
      status: 'failed', changes: [], error: { code: 'conflict', message: '1 conflict(s) keep desired objects out of service (Extension/ext-200)', class: 'transient' },
      conflicts: [{ system: 'asterisk', kind: 'Extension', name: 'ext-200', message: 'add #tryinclude x.conf', blocking: true }],
      unreadable: ['Extension/*: spec.voicemail.pin'],
    });
    const text = renderReport(report({ results: [r] }), 'text');
    expect(text).toContain('? Extension/ext-200  conflict (out of service until resolved): add #tryinclude x.conf');
    expect(text).toContain('~ not readable from the running system, so drift there goes unseen: Extension/*: spec.voicemail.pin');
    expect(text).toContain('error [conflict]');
    expect(JSON.parse(renderReport(report({ results: [r] }), 'json')).systems[0].unreadable).toEqual(['Extension/*: spec.voicemail.pin']);
    expect(renderReport(report({ results: [r] }), 'markdown')).toContain('**conflict, out of service until resolved** `Extension/ext-200`');
  });

  it('says when a guard refused the plan, and why', () => {
    const out = renderReport(report({ results: [result({ status: 'refused', refused: ['plan would delete or disable 40 objects in active-directory, above the threshold of 10'] })] }), 'text');
    expect(out).toContain('refused: plan would delete or disable 40 objects');
    expect(out).toContain('refused by a guard');
  });

  it('summarizes an apply by what succeeded and counts failures', () => {
    const applied = [{ change: changes[0]!, ok: true, writes: 2 }, { change: changes[1]!, ok: false, writes: 0, error: 'insufficient access' }];
    const out = renderReport(report({ mode: 'apply', results: [result({ mode: 'apply', status: 'failed', applied, error: { code: 'apply-failed', message: '1 of 2 change(s) failed', class: 'transient' } })] }), 'text');
    expect(out).toContain('(FAILED: insufficient access)');
    expect(out.trim().split('\n').pop()).toMatch(/^Apply complete: 1 created, 0 updated, 0 disabled, 0 deleted; 1 failed\./);
  });

  it('says plainly when there is nothing to do', () => {
    const out = renderReport(report({ results: [result({ status: 'in-sync', changes: [] })], skipped: [] }), 'text');
    expect(out).toContain('no changes: live state matches the desired state');
    expect(out.trim().split('\n').pop()).toBe('Plan: 0 to create, 0 to update, 0 to disable, 0 to delete.');
  });
});

describe('renderReport for apply', () => {
  it('prints one line per applied change without repeating the fields the plan showed', () => {
    const applied = [{ change: changes[1]!, ok: true, writes: 1 }];
    const out = renderReport(report({ mode: 'apply', results: [result({ mode: 'apply', status: 'applied', changes: [changes[1]!], applied })] }), 'text');
    expect(out).toContain('~ User/amuller  update');
    expect(out).not.toContain('Cheffe de salle');
  });
});

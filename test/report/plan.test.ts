import { describe, expect, it } from 'vitest';
import { Secret, sha256Hex } from '../../src/desired/secret.ts';
import type { PassResult } from '../../src/engine/pass.ts';
import type { Change } from '../../src/engine/types.ts';
import { renderFailure, renderReport, type Report } from '../../src/report/plan.ts';

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

  it('prints one line per object, updates field by field with before → after, and a Terraform-like summary', () => {
    const out = renderReport(report(), 'text');
    expect(out).toContain('+ User/jdupont  create');
    // A create is its YAML document (the diff shows it): its fields only with --detail.
    expect(out).not.toContain('givenName: (none) → "Jean"');
    const detail = renderReport(report(), 'text', { detail: true });
    expect(detail).toContain('givenName: (none) → "Jean"');
    expect(detail).toContain('password: (changed)');
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
    expect(md).toContain('| ~ | `User/amuller` | update | title: "a&#124;b" → "c" |');
  });

  it('leads a merge-request comment with the summary, folds each system, and keeps YAML text inert', () => {
    const hostile = '<b>x</b> <img src=x onerror=alert(1)> [link](http://evil) **bold** `code` | pipe\nnext line';
    const md = renderReport(report({ results: [result({ changes: [{ ...changes[1]!, fields: [{ path: 'spec.title', before: 'a', after: hostile }] }] })] }), 'markdown');
    const lines = md.split('\n');
    expect(lines[2]).toBe('**Plan: 0 to create, 1 to update, 0 to disable, 0 to delete. Skipped: pfsense (not configured).**');
    expect(md).toContain('<details><summary><b>active-directory</b>: changes — 1 to update</summary>');
    expect(md).not.toContain('<b>x</b>');
    expect(md).not.toContain('<img');
    expect(md).toContain('\\[link\\](http://evil)');
    expect(md).not.toMatch(/[^\\]\]\(http/);
    expect(md).toContain('&lt;b&gt;x&lt;/b&gt;');
    // One table row per change, whatever the value held.
    expect(lines.filter((l) => l.includes('User/amuller'))).toHaveLength(1);
  });

  it('keeps a big plan small: new objects in one line each, updates field by field up to a few', () => {
    const many: Change[] = Array.from({ length: 200 }, (_, i) => ({
      system: 'asterisk', kind: 'Extension', name: `ext-${i}`, key: `Extension/ext-${i}`, action: 'create', prune: false, adopt: false, rank: 1, reason: 'missing',
      fields: Array.from({ length: 22 }, (_, k) => ({ path: `pjsip:endpoint[${i}].field${k}`, before: undefined, after: `value-${k}` })),
    }));
    const md = renderReport(report({ results: [result({ system: 'asterisk', changes: many })] }), 'markdown');
    expect(md.length).toBeLessThan(15_000);
    expect(md).toContain('| + | `Extension/ext-199` | create | new |');
    const text = renderReport(report({ results: [result({ system: 'asterisk', changes: many })] }), 'text');
    expect(text.split('\n').filter((l) => l.includes('field'))).toEqual([]);
    expect(text.split('\n')).toHaveLength(1 + 200 + 1);
    // The system's own fields are one flag away.
    const detail = renderReport(report({ results: [result({ system: 'asterisk', changes: many })] }), 'text', { detail: true });
    expect(detail.split('\n').filter((l) => l.includes('pjsip:endpoint[199].field'))).toHaveLength(22);
  });

  it('opens the section of a system that failed or has conflicts', () => {
    const r = result({ status: 'failed', changes: [], error: { code: 'authentication-failed', message: 'bind refused', class: 'stalled' } });
    const md = renderReport(report({ results: [r] }), 'markdown');
    expect(md).toContain('<details open><summary><b>active-directory</b>: failed');
    expect(md).toContain('- **error** `authentication-failed`: bind refused');
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
    expect(out.trim().split('\n').pop()).toMatch(/ Refused by a guard: active-directory\. Skipped: pfsense \(not configured\)\.$/);
  });

  it('summarizes an apply by what succeeded and counts failures', () => {
    const applied = [{ change: changes[0]!, ok: true, writes: 2 }, { change: changes[1]!, ok: false, writes: 0, error: 'insufficient access' }];
    const out = renderReport(report({ mode: 'apply', results: [result({ mode: 'apply', status: 'failed', applied, error: { code: 'apply-failed', message: '1 of 2 change(s) failed', class: 'transient' } })] }), 'text');
    expect(out).toContain('(FAILED: insufficient access)');
    expect(out.trim().split('\n').pop()).toBe('Apply FAILED for 1 of 1 system(s): active-directory [apply-failed]. Applied: 1 created, 0 updated, 0 disabled, 0 deleted; 1 failed. Skipped: pfsense (not configured).');
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

describe('the summary line', () => {
  const last = (r: Report) => renderReport(r, 'text').trim().split('\n').pop();
  const unreachable = (system: string) => result({ system, status: 'failed', changes: [], error: { code: 'target-unavailable', message: `cannot reach ${system}`, class: 'transient' } });

  it.each([
    {
      name: 'a system that failed before planning does not read as an empty plan',
      report: report({ results: [unreachable('active-directory')], skipped: [] }),
      line: 'Plan FAILED for 1 of 1 system(s): active-directory [target-unavailable]. Nothing was planned.',
    },
    {
      name: 'one failed system of two leads, then what the other planned, then the skipped ones and why',
      report: report({ results: [unreachable('active-directory'), result({ system: 'asterisk' })] }),
      line: 'Plan FAILED for 1 of 2 system(s): active-directory [target-unavailable]. Elsewhere: 1 to create, 2 to update, 1 to disable, 0 to delete. Skipped: pfsense (not configured).',
    },
    {
      name: 'a drift run that failed says nothing was compared',
      report: report({ mode: 'drift', results: [unreachable('asterisk')], skipped: [] }),
      line: 'Drift FAILED for 1 of 1 system(s): asterisk [target-unavailable]. Nothing was compared.',
    },
    {
      name: 'a suspended system is listed with the skipped ones, with its reason',
      report: report({ results: [result({ system: 'asterisk', status: 'skipped', changes: [], refused: ['system asterisk is suspended by policy'] })] }),
      line: 'Plan: 0 to create, 0 to update, 0 to disable, 0 to delete. Skipped: asterisk (system asterisk is suspended by policy), pfsense (not configured).',
    },
    {
      name: 'conflicts to resolve are counted apart from advisory notes',
      report: report({
        results: [result({
          status: 'in-sync', changes: [],
          conflicts: [
            { system: 'active-directory', kind: 'User', name: 'svcbackup', message: 'exists, not managed' },
            { system: 'active-directory', kind: 'VpnProfile', name: 'vpn-a', message: 'unsupported: totp', advisory: true },
            { system: 'active-directory', kind: 'VpnProfile', name: 'vpn-b', message: 'unsupported: totp', advisory: true },
          ],
        })],
        skipped: [],
      }),
      line: 'Plan: 0 to create, 0 to update, 0 to disable, 0 to delete; 1 conflict(s) to resolve, 2 note(s).',
    },
  ])('$name', ({ report: r, line }) => {
    expect(last(r)).toBe(line);
  });

  it('prints an advisory conflict as a note and a conflict with a question mark', () => {
    const out = renderReport(report({
      results: [result({
        status: 'in-sync', changes: [],
        conflicts: [
          { system: 'active-directory', kind: 'User', name: 'svcbackup', message: 'exists, not managed' },
          { system: 'active-directory', kind: 'VpnProfile', name: 'vpn-a', message: 'unsupported: totp', advisory: true },
        ],
      })],
    }), 'text');
    expect(out).toContain('  ? User/svcbackup  conflict: exists, not managed');
    expect(out).toContain('  i VpnProfile/vpn-a  note: unsupported: totp');
  });

  it('is the JSON summary too', () => {
    const r = report({ results: [unreachable('active-directory')], skipped: [] });
    const json = JSON.parse(renderReport(r, 'json'));
    expect(json.summary).toBe(last(r));
    expect(json.systems[0]).toMatchObject({ status: 'failed', error: { code: 'target-unavailable', message: 'cannot reach active-directory' } });
  });
});

describe('renderFailure', () => {
  const diagnostic = { file: 'users/x.yaml', line: 3, col: 5, path: 'spec.givenNmae', code: 'schema-unknown-field', message: 'unknown field ```</details>', severity: 'error' as const };

  it('is one JSON document with the same keys as a report, the error and the diagnostics', () => {
    const json = JSON.parse(renderFailure({ mode: 'plan', error: { code: 'validation-failed', message: 'desired-state: invalid' }, diagnostics: [diagnostic] }, 'json'));
    expect(json).toEqual({
      mode: 'plan', revision: null, summary: 'Plan FAILED: desired-state: invalid', error: { code: 'validation-failed', message: 'desired-state: invalid' },
      diagnostics: [diagnostic], systems: [], skipped: [],
    });
  });

  it('fences every message in Markdown, so none closes the fence or reads as HTML', () => {
    const md = renderFailure({ mode: 'apply', error: { code: 'validation-failed', message: 'invalid' }, diagnostics: [diagnostic] }, 'markdown');
    const lines = md.split('\n');
    expect(lines[0]).toBe('### infrasec apply failed');
    expect(lines.filter((l) => l.startsWith('```'))).toEqual(['````text', '````']);
    expect(md).toContain("users/x.yaml:3:5 spec.givenNmae: unknown field '''</details> [schema-unknown-field]");
  });
});

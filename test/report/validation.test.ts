import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/desired/diagnostic.ts';
import type { Kind } from '../../src/desired/model.ts';
import { renderValidation, summarizeCounts, type ValidationReport } from '../../src/report/validation.ts';

const counts: Record<Kind, number> = {
  User: 13, Group: 7, Extension: 13, Conference: 2, VpnProfile: 7, FirewallAlias: 9, FirewallRule: 10, PortForward: 1, MailDomain: 1, MailAlias: 5,
};
const error: Diagnostic = { file: 'users/a.yaml', line: 8, col: 11, path: 'spec.groups[1]', code: 'ref-missing', message: 'group "rh" is not defined', severity: 'error' };
const warning: Diagnostic = { file: 'groups.yaml', line: 3, col: 1, path: '', code: 'group-empty', message: 'group has no members', severity: 'warning' };
const report = (over: Partial<ValidationReport> = {}): ValidationReport => ({ root: 'desired-state', files: ['a.yaml', 'b.yaml'], diagnostics: [], ...over });

describe('summarizeCounts', () => {
  it('lists every kind, in the model order, with its plural', () => {
    expect(summarizeCounts(counts)).toBe('13 users, 7 groups, 13 extensions, 2 conferences, 7 VPN profiles, 9 firewall aliases, 10 firewall rules, 1 port forwards, 1 mail domains, 5 mail aliases');
  });
});

describe('renderValidation', () => {
  describe('text', () => {
    it('prints a one-line summary for a valid state', () => {
      expect(renderValidation(report({ counts }), 'text')).toBe(`desired-state: valid — 2 files: ${summarizeCounts(counts)}`);
    });

    it('prints each diagnostic on its own line, then the error count', () => {
      const out = renderValidation(report({ diagnostics: [error, { ...error, line: 9, path: 'spec.email', code: 'mail-domain-undeclared', message: 'domain "x.fr" is not a declared MailDomain' }] }), 'text');
      expect(out.split('\n')).toEqual([
        'users/a.yaml:8:11 spec.groups[1]: group "rh" is not defined [ref-missing]',
        'users/a.yaml:9:11 spec.email: domain "x.fr" is not a declared MailDomain [mail-domain-undeclared]',
        'desired-state: invalid — 2 error(s) in 2 files',
      ]);
    });

    it('counts warnings apart from errors', () => {
      expect(renderValidation(report({ diagnostics: [error, warning] }), 'text').split('\n').at(-1)).toBe('desired-state: invalid — 1 error(s), 1 warning(s) in 2 files');
    });

    it('is still valid with warnings only, and says how many', () => {
      const out = renderValidation(report({ diagnostics: [warning], counts }), 'text').split('\n');
      expect(out[0]).toBe('groups.yaml:3:1: warning: group has no members [group-empty]');
      expect(out[1]).toBe(`desired-state: valid — 2 files: ${summarizeCounts(counts)}; 1 warning(s)`);
    });
  });

  describe('json', () => {
    it('holds validity, counts and the diagnostics as data', () => {
      const out = JSON.parse(renderValidation(report({ diagnostics: [warning], counts }), 'json'));
      expect(out).toEqual({ valid: true, root: 'desired-state', files: 2, errors: 0, warnings: 1, counts, diagnostics: [warning] });
    });

    it('is invalid with any error and then has no counts', () => {
      const out = JSON.parse(renderValidation(report({ diagnostics: [error] }), 'json'));
      expect(out).toMatchObject({ valid: false, errors: 1, warnings: 0, counts: null, diagnostics: [error] });
    });
  });

  describe('github', () => {
    it('prints one annotation per diagnostic, with paths from the repository root, then a summary', () => {
      expect(renderValidation(report({ diagnostics: [error, warning] }), 'github').split('\n')).toEqual([
        '::error file=desired-state/users/a.yaml,line=8,col=11,title=ref-missing::spec.groups[1]: group "rh" is not defined',
        '::warning file=desired-state/groups.yaml,line=3,col=1,title=group-empty::group has no members',
        'desired-state: 1 error(s) in 2 files',
      ]);
    });

    it('says valid when there are no errors', () => {
      expect(renderValidation(report({ counts }), 'github')).toBe('desired-state: valid (2 files)');
    });

    it('keeps each annotation on one line whatever the message holds', () => {
      const out = renderValidation(report({ diagnostics: [{ ...error, message: 'a\r\n::error::forged' }] }), 'github');
      expect(out.split('\n')).toHaveLength(2);
      expect(out).toContain('::spec.groups[1]: a%0D%0A::error::forged');
    });
  });
});

describe('renderValidation gitlab (Code Quality report for merge requests)', () => {
  it('gives each finding a path from the repository root, its line, a severity and a stable fingerprint', () => {
    const issues = JSON.parse(renderValidation(report({ root: './desired-state/', diagnostics: [error, warning] }), 'gitlab'));
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatchObject({
      description: 'spec.groups[1]: group "rh" is not defined', check_name: 'ref-missing', severity: 'major',
      location: { path: 'desired-state/users/a.yaml', lines: { begin: 8 } },
    });
    expect(issues[1]).toMatchObject({ severity: 'minor', location: { path: 'desired-state/groups.yaml', lines: { begin: 3 } } });
    expect(issues[0].fingerprint).toMatch(/^[0-9a-f]{64}$/);
    // The same finding in the next pipeline keeps its fingerprint; another one does not share it.
    expect(JSON.parse(renderValidation(report({ root: 'desired-state', diagnostics: [error] }), 'gitlab'))[0].fingerprint).toBe(issues[0].fingerprint);
    expect(issues[1].fingerprint).not.toBe(issues[0].fingerprint);
  });

  it('is an empty list for a valid state (GitLab then shows no finding)', () => {
    expect(JSON.parse(renderValidation(report({ counts }), 'gitlab'))).toEqual([]);
  });
});

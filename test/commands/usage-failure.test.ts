// Pure: which document a refused plan/apply/drift command line asks for, read from its words.
import { describe, expect, it } from 'vitest';
import { requestedDocument, usageFailureDocument } from '../../src/commands/usage-failure.ts';

describe('requestedDocument', () => {
  it.each([
    [['plan', '--format', 'json', '--bogus'], { mode: 'plan', format: 'json' }],
    [['apply', '--format=markdown'], { mode: 'apply', format: 'markdown' }],
    [['drift', '-fjson', '--system'], { mode: 'drift', format: 'json' }],
    [['plan', '-f', 'json', 'desired', '--format', 'markdown'], { mode: 'plan', format: 'markdown' }],
  ])('%j asks for %j', (argv, wanted) => {
    expect(requestedDocument(argv)).toEqual(wanted);
  });

  it.each([
    [['plan', '--bogus']],
    [['plan', '--format', 'text', '--bogus']],
    [['plan', '--format']],
    [['plan', '--', '--format', 'json']],
    [['validate', '--format', 'json', '--bogus']],
    [['--format', 'json']],
  ])('%j asks for none', (argv) => {
    expect(requestedDocument(argv)).toBeUndefined();
  });
});

describe('usageFailureDocument', () => {
  it('gives validate --format json its own document shape, not valid, with the error', () => {
    const doc = JSON.parse(usageFailureDocument(['validate', '--format', 'json', '--bogus'], "error: unknown option '--bogus'")!);
    expect(doc).toEqual({ valid: false, root: null, files: 0, errors: 1, warnings: 0, counts: null, diagnostics: [], error: { code: 'usage', message: "unknown option '--bogus'" } });
    expect(usageFailureDocument(['validate', '--format', 'github', '--bogus'], 'error: x')).toBeUndefined();
    expect(usageFailureDocument(['validate', '--bogus'], 'error: x')).toBeUndefined();
  });

  it('is the failure document without commander\'s "error:" prefix', () => {
    const doc = JSON.parse(usageFailureDocument(['plan', '--format', 'json', '--bogus'], "error: unknown option '--bogus'")!);
    expect(doc).toEqual({ mode: 'plan', revision: null, summary: "Plan FAILED: unknown option '--bogus'", error: { code: 'usage', message: "unknown option '--bogus'" }, diagnostics: [], systems: [], skipped: [] });
  });
});

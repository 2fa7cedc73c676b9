import { describe, expect, it } from 'vitest';
import { compareDiagnostics, formatDiagnostic, formatGithubAnnotation, formatPath, quoteFileName, quoteText, type Diagnostic } from '../../src/desired/diagnostic.ts';

const diag = (over: Partial<Diagnostic> = {}): Diagnostic => ({
  file: 'users/jdupont.yaml', line: 12, col: 5, path: 'spec.groups[1]', code: 'ref-missing', message: 'group "rh" is not defined', severity: 'error', ...over,
});

describe('formatPath', () => {
  it.each<[ReadonlyArray<string | number>, string]>([
    [[], ''],
    [['spec'], 'spec'],
    [['spec', 'groups', 1], 'spec.groups[1]'],
    [['spec', 'members', 2, 'name'], 'spec.members[2].name'],
    [['spec', 'voicemail', 'pin'], 'spec.voicemail.pin'],
    [[0], '[0]'],
    [['metadata', 'labels', 'app.kubernetes.io/name'], 'metadata.labels["app.kubernetes.io/name"]'],
    [['spec', 'a b'], 'spec["a b"]'],
    [['spec', '1st'], 'spec["1st"]'],
    [['spec', 'x-y_z$'], 'spec.x-y_z$'],
    [['spec', ''], 'spec[""]'],
  ])('prints %j as %j', (segments, expected) => {
    expect(formatPath(segments)).toBe(expected);
  });

  it('escapes control characters in a key instead of printing them', () => {
    const out = formatPath(['spec', 'evil\r\nAction: Originate']);
    expect(out).toBe('spec["evil\\r\\nAction: Originate"]');
    expect(out).not.toMatch(/[\r\n]/);
  });
});

describe('formatDiagnostic', () => {
  it('prints file:line:col path: message [code]', () => {
    expect(formatDiagnostic(diag())).toBe('users/jdupont.yaml:12:5 spec.groups[1]: group "rh" is not defined [ref-missing]');
  });

  it('leaves the path out for a finding about the whole document', () => {
    expect(formatDiagnostic(diag({ path: '', code: 'yaml-syntax', message: 'Missing closing "quote' }))).toBe('users/jdupont.yaml:12:5: Missing closing "quote [yaml-syntax]');
  });

  it('says "(desired state)" for a finding tied to no file', () => {
    expect(formatDiagnostic(diag({ file: '', path: '', code: 'path-invalid', message: 'x is not a directory' }))).toBe('(desired state): x is not a directory [path-invalid]');
  });

  it('marks warnings', () => {
    expect(formatDiagnostic(diag({ severity: 'warning' }))).toBe('users/jdupont.yaml:12:5 spec.groups[1]: warning: group "rh" is not defined [ref-missing]');
  });

  it('escapes any control character a message or path would carry to the terminal (ESC, CSI, CR, LF, line separator)', () => {
    const out = formatDiagnostic(diag({ path: 'spec["a\u009bb"]', message: 'x\u001b[2J\r\nforged.yaml:1:1: ok [ok]\u2028' }));
    expect(out).toBe('users/jdupont.yaml:12:5 spec["a\\u009bb"]: x\\u001b[2J\\u000d\\u000aforged.yaml:1:1: ok [ok]\\u2028 [ref-missing]');
  });
});

describe('quoteText and formatPath', () => {
  it('quote a name with every control character escaped, C1 and line separators included, and cut a long one', () => {
    expect(quoteText('a\r\n\u009b\u2028b')).toBe('"a\\r\\n\\u009b\\u2028b"');
    expect(quoteText('x'.repeat(100))).toBe(`"${'x'.repeat(64)}…"`);
    expect(formatPath(['spec', 'a\u0085b', 0])).toBe('spec["a\\u0085b"][0]');
  });
});

describe('formatGithubAnnotation', () => {
  it('prints a workflow error command with file, line, col and the code as title', () => {
    expect(formatGithubAnnotation(diag())).toBe('::error file=users/jdupont.yaml,line=12,col=5,title=ref-missing::spec.groups[1]: group "rh" is not defined');
  });

  it('prefixes the file with the validated root so GitHub finds it in the checkout', () => {
    expect(formatGithubAnnotation(diag(), 'desired-state/')).toMatch(/^::error file=desired-state\/users\/jdupont\.yaml,/);
  });

  it('prints warnings as ::warning', () => {
    expect(formatGithubAnnotation(diag({ severity: 'warning' }))).toMatch(/^::warning /);
  });

  it('has no file properties for a finding tied to no file', () => {
    expect(formatGithubAnnotation(diag({ file: '', path: '', code: 'path-invalid', message: 'nope' }))).toBe('::error title=path-invalid::nope');
  });

  it.each([
    ['%', '100% sure', '100%25 sure'],
    ['CR and LF', 'line one\r\nAction: Originate', 'line one%0D%0AAction: Originate'],
    ['a lone LF', 'a\nb', 'a%0Ab'],
    ['an escape sequence and a C1 CSI', 'a\u001b[2J\u009bb', 'a\\u001b[2J\\u009bb'],
  ])('escapes %s in the message so it cannot start a new command', (_what, message, escaped) => {
    const out = formatGithubAnnotation(diag({ path: '', message }));
    expect(out).toBe(`::error file=users/jdupont.yaml,line=12,col=5,title=ref-missing::${escaped}`);
    expect(out).not.toMatch(/[\r\n]/);
  });

  it('escapes %, CR, LF, ":" and "," in properties so a file name cannot add or end properties', () => {
    const out = formatGithubAnnotation(diag({ file: 'a,line=1:b%\r\n.yaml', code: 'x:y,z' }));
    expect(out).toBe('::error file=a%2Cline=1%3Ab%25%0D%0A.yaml,line=12,col=5,title=x%3Ay%2Cz::spec.groups[1]: group "rh" is not defined');
  });

  it('does not escape ":" and "," in the message, where GitHub does not need it', () => {
    expect(formatGithubAnnotation(diag({ path: '', message: 'a: b, c' }))).toMatch(/::a: b, c$/);
  });
});

describe('compareDiagnostics', () => {
  it('orders by file, then line, then column, then code', () => {
    const list = [
      diag({ file: 'b.yaml', line: 1 }),
      diag({ file: 'a.yaml', line: 9, col: 1 }),
      diag({ file: 'a.yaml', line: 2, col: 7, code: 'z' }),
      diag({ file: 'a.yaml', line: 2, col: 7, code: 'a' }),
      diag({ file: 'a.yaml', line: 2, col: 3 }),
    ];
    expect([...list].sort(compareDiagnostics).map((d) => `${d.file}:${d.line}:${d.col}:${d.code}`)).toEqual([
      'a.yaml:2:3:ref-missing', 'a.yaml:2:7:a', 'a.yaml:2:7:z', 'a.yaml:9:1:ref-missing', 'b.yaml:1:5:ref-missing',
    ]);
  });
});

describe('quoteFileName', () => {
  it.each([
    ['users/jdupont.yaml', 'users/jdupont.yaml'],
    ['équipes/opérateurs.yaml', 'équipes/opérateurs.yaml'],
    ['a\nb.yaml', '"a\\u000ab.yaml"'],
    ['\u001b[31mred.yaml', '"\\u001b[31mred.yaml"'],
    ['csi\u009b2J.yaml', '"csi\\u009b2J.yaml"'],
    ['line\u2028sep.yaml', '"line\\u2028sep.yaml"'],
    ['two words.yaml', '"two words.yaml"'],
    ['fake.yaml:1:1', '"fake.yaml:1:1"'],
    ['q"b\\.yaml', '"q\\"b\\\\.yaml"'],
  ])('%j prints as %s', (name, shown) => {
    expect(quoteFileName(name)).toBe(shown);
  });

  it('is used for the file of every formatted diagnostic', () => {
    expect(formatDiagnostic({ file: 'x\n.yaml', line: 1, col: 2, path: '', code: 'c', message: 'm', severity: 'error' })).toBe('"x\\u000a.yaml":1:2: m [c]');
  });
});

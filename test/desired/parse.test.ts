import { describe, expect, it } from 'vitest';
import { LIMITS, excessiveNestingOffset, parseFile } from '../../src/desired/parse.ts';
import { lineOf } from './documents.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const parse = (text: string | Uint8Array) => parseFile('f.yaml', typeof text === 'string' ? bytes(text) : text);
const findings = (text: string | Uint8Array) => parse(text).diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`);

describe('parseFile', () => {
  it('reads every document of a stream with its index, skipping empty ones', () => {
    const r = parse('# comment\n---\na: 1\n---\n---\nb: [x, y]\n---\n');
    expect(r.diagnostics).toEqual([]);
    expect(r.documents.map((d) => [d.index, d.value])).toEqual([[0, { a: 1 }], [2, { b: ['x', 'y'] }]]);
  });

  it('keeps an explicit null document (~) for the loader to refuse', () => {
    expect(parse('a: 1\n---\n~\n').documents.map((d) => d.value)).toEqual([{ a: 1 }, null]);
  });

  it('skips a trailing --- followed only by a comment', () => {
    expect(parse('a: 1\n---\n# the end\n').documents.map((d) => d.value)).toEqual([{ a: 1 }]);
  });

  it('skips a leading byte order mark', () => {
    expect(parse('\ufeffa: 1\n').documents[0]!.value).toEqual({ a: 1 });
  });

  it('resolves anchors and aliases used within the limit', () => {
    const r = parse('base: &b {x: 1}\none: *b\ntwo: *b\n');
    expect(r.diagnostics).toEqual([]);
    expect(r.documents[0]!.value).toEqual({ base: { x: 1 }, one: { x: 1 }, two: { x: 1 } });
  });

  it('does not apply merge keys (<<), which stay ordinary keys for the schema to refuse', () => {
    expect(parse('a: &a {x: 1}\nb: {<<: *a}\n').documents[0]!.value).toEqual({ a: { x: 1 }, b: { '<<': { x: 1 } } });
  });

  describe('duplicate keys', () => {
    it.each([
      ['a block mapping', 'a: 1\nb: 2\na: 3\n', ['3:1 a duplicate-key: key "a" is written twice in this mapping (first on line 1); keep one']],
      ['a flow mapping', 'a: {x: 1, y: 2, x: 3}\n', ['1:17 a.x duplicate-key: key "x" is written twice in this mapping (first on line 1); keep one']],
      ['a mapping inside a sequence', 'l:\n  - k: 1\n    k: 2\n', ['3:5 l[0].k duplicate-key: key "k" is written twice in this mapping (first on line 2); keep one']],
      ['a mapping used as a key', '? {a: 1, a: 2}\n: v\n', ['1:10 a duplicate-key: key "a" is written twice in this mapping (first on line 1); keep one']],
      ['keys that JavaScript names alike (1 and "1")', '1: a\n"1": b\n', ['2:1 ["1"] duplicate-key: key "1" is written twice in this mapping (first on line 1); keep one']],
      ['two mappings at once', 'a: 1\na: 2\nb: {c: 1, c: 2}\n', [
        '2:1 a duplicate-key: key "a" is written twice in this mapping (first on line 1); keep one',
        '3:11 b.c duplicate-key: key "c" is written twice in this mapping (first on line 3); keep one',
      ]],
    ])('rejects one in %s at the repeated key, naming it and where it was first', (_where, text, expected) => {
      const r = parse(text);
      expect(r.documents).toEqual([]);
      expect(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.path} ${d.code}: ${d.message}`).sort()).toEqual(expected);
    });

    it('quotes a repeated key holding control characters and cuts a long one', () => {
      const r = parse(`"a\\u009b\\r\\nb": 1\n"a\\u009b\\r\\nb": 2\n${'k'.repeat(100)}: 1\n${'k'.repeat(100)}: 2\n`);
      const messages = r.diagnostics.map((d) => d.message);
      expect(messages).toEqual([
        'key "a\\u009b\\r\\nb" is written twice in this mapping (first on line 1); keep one',
        `key "${'k'.repeat(64)}…" is written twice in this mapping (first on line 3); keep one`,
      ]);
      expect(JSON.stringify(messages)).not.toMatch(/\u009b/);
    });

    it('accepts equal keys in different mappings', () => {
      expect(parse('a: {k: 1}\nb: {k: 2}\nl: [{k: 1}, {k: 2}]\n').diagnostics).toEqual([]);
    });

    it('finds a duplicate at the end of a mapping of 20,000 keys', () => {
      const lines = Array.from({ length: 20_000 }, (_, i) => `k${i}: ${i}`);
      lines.push('k7: again');
      expect(findings(lines.join('\n'))).toEqual(['20001:1 duplicate-key']);
    });
  });

  describe('syntax errors', () => {
    it.each([
      ['an unclosed flow sequence', 'a: 1\nb: [1, 2\nc: 3\n', 'c: 3'],
      ['a mapping nested in a compact mapping', 'a: 1\nb: c: d\n', 'b: c'],
      ['a tab used as indentation', 'a:\n\tb: 1\n', '\tb'],
      ['a stray closing bracket', 'a: 1\n]\n', ']'],
      ['an unknown escape', 'a: 1\nb: "x\\qy"\n', 'x\\q'],
    ])('reports %s as yaml-syntax on its line', (_what, text, needle) => {
      const r = parse(text);
      expect(r.documents).toEqual([]);
      expect(r.diagnostics.length).toBeGreaterThan(0);
      expect(r.diagnostics[0]!.code).toBe('yaml-syntax');
      expect(r.diagnostics[0]!.line).toBe(lineOf(text, needle));
    });

    it('reports one finding per refused document, at the cause, not the parser\'s cascade after a tab', () => {
      const user = 'apiVersion: infrasec/v1\nkind: User\nmetadata:\n  name: mlefebvre\nspec:\n  givenName: Marie\n\tsurname: L\n  title: x\n  department: y\n';
      const r = parse(`${user}---\n${user.replace('mlefebvre', 'pschmitt').replace('\tsurname', '   surname')}`);
      expect(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.path} ${d.code}`)).toEqual(['7:1 spec.surname yaml-syntax', '17:4 spec.surname yaml-syntax']);
      expect(r.diagnostics[0]!.message).toBe('YAML indentation must use spaces, not tabs: replace the tab at the start of this line with spaces');
    });

    it('keeps the identity of a refused document where it can be read, so what refers to it is not reported missing', () => {
      const r = parse('apiVersion: infrasec/v1\nkind: User\nmetadata:\n  name: mlefebvre\nspec:\n  a: 1\n   b: 2\n---\nkind: Group\nmetadata: {name: g}\nspec: {a: 1, a: 2}\n---\nkind: [\n');
      expect(r.broken).toEqual([{ kind: 'User', name: 'mlefebvre' }, { kind: 'Group', name: 'g' }]);
    });

    it('reports an unknown tag such as !!js/function', () => {
      const r = parse('run: !!js/function "function () { return 1 }"\n');
      expect(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.code} ${d.message}`)).toEqual(['1:6 yaml-syntax Unresolved tag']);
    });

    // yaml quotes the offending source in some messages; in a secret field that source is the secret.
    it.each([
      ['a tag', '  password: !S3CRET-tag x\n'],
      ['a block scalar header', '  password: |S3CRET-header\n'],
      ['a folded block scalar header', '  password: >S3CRET-folded x\n'],
      ['an escape sequence', '  password: "\\US3CRET-escape"\n'],
      ['an alias to no anchor', '  password: *S3CRET-alias\n'],
      ['a stray token', '  password: x\n]S3CRET-stray\n'],
    ])('does not print the source of %s in its message', (_what, line) => {
      const r = parse(`spec:\n${line}`);
      expect(r.diagnostics.length).toBeGreaterThan(0);
      expect(JSON.stringify(r.diagnostics)).not.toContain('S3CRET');
    });
  });

  describe('aliases', () => {
    const laughs = (levels: number) => {
      const lines = ['lol0: &l0 "lol"'];
      for (let i = 1; i <= levels; i++) lines.push(`lol${i}: &l${i} [${Array(9).fill(`*l${i - 1}`).join(', ')}]`);
      return `# billion laughs\n${lines.join('\n')}\n`;
    };

    it('rejects a billion-laughs alias bomb as alias-limit, without expanding it', () => {
      const r = parse(laughs(9));
      expect(r.documents).toEqual([]);
      expect(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual(['2:1 alias-limit']);
    });

    it('rejects an alias to an anchor never defined as alias-unresolved, not as a bomb', () => {
      expect(findings('a: 1\nb: *nowhere\n')).toEqual(['1:1 alias-unresolved']);
    });
  });

  describe('nesting', () => {
    const flow = (n: number) => '['.repeat(n) + ']'.repeat(n);

    it(`accepts ${LIMITS.maxDepth} nested flow sequences`, () => {
      expect(parse(flow(LIMITS.maxDepth)).diagnostics).toEqual([]);
    });

    it.each([
      ['33 nested flow sequences', `a: 1\nb: ${flow(33)}\n`, '2:36'],
      ['10,000 nested flow sequences', flow(10_000), '1:33'],
      ['10,000 nested flow mappings', '{a: '.repeat(10_000) + '1' + '}'.repeat(10_000), '1:129'],
      ['1 MiB of unclosed [ (exhausted the heap before the lexer check)', '['.repeat(LIMITS.maxFileBytes - 1), '1:33'],
      ['flow nesting hidden in a key', `? ${flow(40)}\n: v\n`, '1:35'],
      ['40 compact block sequences on one line', `x: 1\n${'- '.repeat(40)}v\n`, '2:65'],
    ])('rejects %s as nesting-too-deep where the limit is crossed', (_what, text, at) => {
      expect(findings(text)).toEqual([`${at} nesting-too-deep`]);
    });

    it('rejects 40 indented block mappings at the deepest one', () => {
      const text = Array.from({ length: 40 }, (_, i) => `${' '.repeat(i * 2)}k${i}:`).join('\n') + ' v\n';
      const r = parse(text);
      expect(r.diagnostics).toHaveLength(1);
      expect(r.diagnostics[0]!.code).toBe('nesting-too-deep');
      expect(r.diagnostics[0]!.line).toBe(LIMITS.maxDepth + 1);
    });

    it('rejects 1,000 indented block levels (deep enough to overflow the composer) as nesting-too-deep', () => {
      const text = Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n');
      const r = parse(text);
      expect(r.documents).toEqual([]);
      expect(r.diagnostics.map((d) => d.code)).toEqual(['nesting-too-deep']);
      expect(r.diagnostics[0]!.message).toBe(`nesting deeper than ${LIMITS.maxDepth} levels`);
    });

    it.each([
      ['a double-quoted string', `title: "${'['.repeat(100)}"\n`],
      ['a single-quoted string', `title: '${'{'.repeat(100)}'\n`],
      ['a plain scalar', `title: x ${'['.repeat(100)}\n`],
      ['a comment', `a: 1 # ${'['.repeat(100)}\n`],
      ['a block scalar', `text: |\n  ${'['.repeat(100)}\n  ${'- '.repeat(100)}\n`],
      ['many shallow collections', `a: [${Array(1000).fill('[1]').join(', ')}]\n`],
      ['many block sequence items', `${'- x\n'.repeat(1000)}`],
    ])('does not count brackets or dashes inside %s as nesting', (_what, text) => {
      expect(parse(text).diagnostics).toEqual([]);
    });
  });

  describe('size and encoding', () => {
    it('rejects a file above the size limit without parsing it', () => {
      const r = parse(new Uint8Array(LIMITS.maxFileBytes + 1).fill(0x7b)); // '{' x 1 MiB + 1
      expect(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual(['1:1 file-too-large']);
    });

    it.each([
      ['a lone 0xff byte', [0xff]],
      ['a truncated two-byte sequence', [0xc3]],
      ['an overlong encoding of "/"', [0xc0, 0xaf]],
      ['an encoded UTF-16 surrogate', [0xed, 0xa0, 0x80]],
      ['Latin-1 "é"', [0xe9, 0x74, 0xe9]],
    ])('rejects %s as encoding-invalid on its line', (_what, bad) => {
      const head = bytes('a: 1\nb: 2\nc: ');
      const file = new Uint8Array([...head, ...bad, 0x0a]);
      const r = parse(file);
      expect(r.documents).toEqual([]);
      expect(r.diagnostics.map((d) => `${d.line} ${d.code}`)).toEqual(['3 encoding-invalid']);
      expect(r.diagnostics[0]!.message).toMatch(/^file is not valid UTF-8 \(byte \d+\)$/);
    });

    it('names the offset of a lone invalid byte', () => {
      const r = parse(new Uint8Array([...bytes('a: 1\nb: '), 0xff, 0x0a]));
      expect(r.diagnostics[0]!.message).toBe('file is not valid UTF-8 (byte 8)');
    });

    it('accepts multi-byte UTF-8 (accents, CJK, emoji)', () => {
      expect(parse('title: Opératrice — 指令 🚒\n').documents[0]!.value).toEqual({ title: 'Opératrice — 指令 🚒' });
    });

    it('rejects more documents than the limit', () => {
      const r = parse('a: 1\n---\n'.repeat(LIMITS.maxDocumentsPerFile + 1));
      expect(r.diagnostics.map((d) => d.code)).toEqual(['too-many-documents']);
      expect(r.documents).toEqual([]);
    });
  });
});

describe('ParsedDocument.sourceOf', () => {
  it.each([
    ['the plain subset', 'spec:\n  number: 0201\n  nat: yes\n  list: [1, 2]\n'],
    ['the yaml library (an anchor puts the file outside the plain subset)', 'spec: &s\n  number: 0201\n  nat: yes\n  list: [1, 2]\n'],
  ])('gives a scalar as written, read through %s', (_what, text) => {
    const [doc] = parse(text).documents;
    expect(doc!.value).toMatchObject({ spec: { number: 201, nat: 'yes' } });
    expect(doc!.sourceOf(['spec', 'number'])).toBe('0201');
    expect(doc!.sourceOf(['spec', 'list', 1])).toBe('2');
    expect(doc!.sourceOf(['spec', 'list'])).toBeUndefined();
    expect(doc!.sourceOf(['spec', 'missing'])).toBeUndefined();
  });
});

describe('excessiveNestingOffset', () => {
  it.each([
    ['[]', undefined],
    ['[[[]]]', undefined],
    [`a: ${'['.repeat(33)}`, 3 + 32],
    [`${'{a: '.repeat(33)}`, 4 * 32],
    [`# c\n${'- '.repeat(33)}x`, 4 + 2 * 32],
    // A document start resets the count: two documents of 20 levels each are fine.
    [`${'['.repeat(20)}\n---\n${'['.repeat(20)}\n`, undefined],
  ])('finds the offset of the level past the limit in %j', (text, offset) => {
    expect(excessiveNestingOffset(text)).toBe(offset);
  });
});

describe.each([
  ['in the plain subset', ''],
  // A tag is outside the plain subset: the yaml library reads this one from the start.
  ['outside the plain subset', 'extra: !!str x\n'],
])('positions %s', (_where, tail) => {
  const text = `apiVersion: infrasec/v1\nkind: User\nspec:\n  groups:\n    - ops\n    - rh\n  mailbox:\n    quotaMB: 10\n${tail}`;
  const doc = parse(text).documents[0]!;
  const at = (path: Array<string | number>) => doc.at(path);

  it('starts the document at its first key', () => {
    expect(doc.start).toEqual({ line: 1, col: 1 });
  });

  it.each<[Array<string | number>, { line: number; col: number }]>([
    [[], { line: 1, col: 1 }],
    [['kind'], { line: 2, col: 7 }],
    [['spec', 'groups', 1], { line: 6, col: 7 }],
    [['spec', 'mailbox', 'quotaMB'], { line: 8, col: 14 }],
  ])('finds %j at its own node', (path, pos) => {
    expect(at(path)).toEqual(pos);
  });

  it('falls back to the closest ancestor that exists', () => {
    expect(at(['spec', 'groups', 7])).toEqual({ line: 5, col: 5 });
    expect(at(['spec', 'password', 'encrypted'])).toEqual({ line: 4, col: 3 });
  });
});

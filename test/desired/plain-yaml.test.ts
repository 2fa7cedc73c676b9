// The plain-YAML reader against the yaml library: whatever it accepts, the library must read without a finding, to the same
// documents, values (key order included) and start positions; whatever is outside its subset, it must decline.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIMITS, parseWithLibrary } from '../../src/desired/parse.ts';
import { readPlainYaml } from '../../src/desired/plain-yaml.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const limits = { maxDepth: LIMITS.maxDepth, maxDocuments: LIMITS.maxDocumentsPerFile };
const read = (text: string) => readPlainYaml(text, limits);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
    .map((t) => (t.charCodeAt(0) === 0xfeff ? t.slice(1) : t));
}

/** Text → what the library makes of it, in the plain reader's terms; undefined when the library has any finding. */
function library(text: string) {
  const r = parseWithLibrary('f.yaml', text);
  if (r.diagnostics.length > 0) return undefined;
  return r.documents.map((d) => ({ index: d.index, json: JSON.stringify(d.value), value: d.value, line: d.start.line, col: d.start.col }));
}

/** When the plain reader accepts `text`, the library reads it to exactly the same. Returns whether it was accepted. */
function expectAgreement(text: string): boolean {
  const plain = read(text);
  if (plain === undefined) return false;
  const lib = library(text);
  expect(lib, `the library has findings in ${JSON.stringify(text)}, which the plain reader accepted`).toBeDefined();
  const mine = plain.map((d) => ({ index: d.index, json: JSON.stringify(d.value), value: d.value, line: d.line, col: d.col }));
  expect(mine, JSON.stringify(text)).toStrictEqual(lib);
  return true;
}

const users = (n: number) =>
  `# ${n} generated users\n` +
  Array.from({ length: n }, (_, i) =>
    `---\napiVersion: infrasec/v1\nkind: User\nmetadata:\n  name: bench${i}\nspec:\n  givenName: Prénom${i}\n  surname: Nom-${i}\n` +
      `  title: Opérateur de salle\n  department: Cellule de crise\n  email: bench${i}@cod67.example.fr\n  telephoneNumber: "+33 3 88 ${i}"\n`,
  ).join('');

const LITERAL = `apiVersion: infrasec/v1
kind: User
metadata:
  name: jdupont
spec:
  givenName: Jean   # trailing comment
  surname: 'Dupont'
  password:
    encrypted: |
      -----BEGIN AGE ENCRYPTED FILE-----
      YWdlLWVuY3J5cHRpb24ub3JnL3YxCg==
      -----END AGE ENCRYPTED FILE-----

  groups:
  - ops
  - "rh"
  mailbox: { quotaMB: 100, aliases: x }
  list:
    - a: 1
      b: [1, -2, +3, 007, x y, "q,uoted", 'single']
    -
      c: ~
    - - deeper
  empty: {}
  none: []
  nothing:
  flags: [true, False, NULL, null, ~, yes, no, on]
  strings: [10.8.0.0/24, 2025-12-31, 1_000, 0b1, v1.2, +33 3 88, -x]
  colon: a:b
  trailing: "x"   # c
`;

describe('readPlainYaml accepts the desired state as written, to the same values and positions as the yaml library', () => {
  it.each(filesUnder(join(ROOT, 'desired-state')).map((t, i) => [i, t]))('example file %i', (_i, text) => {
    expect(expectAgreement(text)).toBe(true);
  });

  it('2,000 generated users (bench/cli.ts) in one file', () => {
    expect(expectAgreement(users(2000))).toBe(true);
  });

  it('literal block scalars, flow collections, compact mappings in sequences, comments and core-schema scalars', () => {
    expect(expectAgreement(LITERAL.replace('    - - deeper\n', ''))).toBe(true);
  });

  it.each([
    ['documents and empty ones', '# c\n---\na: 1\n---\n---\nb: [x, y]\n---\n'],
    ['a document at the end without a newline', 'a: 1\n---\nb: 2'],
    ['content before the first ---', 'a: 1\n---\nb: 2\n'],
    ['a comment between --- and the first key', '---\n# c\n\n  # d\na: 1\n'],
    ['a sequence at its key\'s column', 'k:\n- a\n- b\nz: 1\n'],
    ['a compact mapping with a nested sequence at its column', 'l:\n- a:\n  - x\n  b: 2\n'],
    ['extra spaces after a dash', 'l:\n  -   a: 1\n      b: 2\n'],
    ['a null item', 'l:\n  -\n  - x\n'],
    ['a strip block scalar then a comment', 'a: |-\n  x\n  y\n\n# c\nb: 1'],
    ['a clip block scalar at the end without a newline', 'a: |\n  x'],
    ['a block scalar keeping its trailing spaces and quotes', 'a: |\n  x: "y"  \n  \'z\' # not a comment\n'],
    ['a block scalar in a sequence', 'l:\n  - |\n    x\n  - y\n'],
    ['a no-break space kept at the end of a value', 'a: x\u00a0\n'],
    ['non-ASCII text', 'title: Opératrice — 指令 🚒\n'],
    ['a hash inside a value', 'a: b#c\nd: "#e"\n'],
    ['brackets and braces inside a plain value', 'a: x [y] {z}, w\n'],
    ['keys with dots, slashes and dashes', 'app.kubernetes.io/name: x\nx-y_z: 1\n'],
    ['an empty value followed by a shallower key', 'a:\n  b:\nc: 1\n'],
  ])('%s', (_what, text) => {
    expect(expectAgreement(text)).toBe(true);
  });
});

describe('readPlainYaml declines what is outside its subset', () => {
  it.each([
    ['an anchor and an alias', 'a: &x 1\nb: *x\n'],
    ['a tag', 'a: !!str 1\n'],
    ['a directive', '%YAML 1.2\n---\na: 1\n'],
    ['a document end marker', 'a: 1\n...\n'],
    ['content on the --- line', '--- a: 1\n'],
    ['a multi-line plain scalar', 'a: x\n  y\n'],
    ['a multi-line quoted scalar', 'a: "x\n  y"\n'],
    ['an escape in double quotes', 'a: "x\\ty"\n'],
    ['an escaped single quote', "a: 'it''s'\n"],
    ['a tab', 'a:\n\tb: 1\n'],
    ['CRLF line ends', 'a: 1\r\nb: 2\r\n'],
    ['a NUL', 'a: x\u0000y\n'],
    ['a NEL', 'a: x\u0085y\n'],
    ['a line separator', 'a: x\u2028y\n'],
    ['a duplicate key', 'a: 1\nb: 2\na: 3\n'],
    ['a duplicate key in a flow mapping', 'a: {x: 1, x: 2}\n'],
    ['a quoted key', '"a": 1\n'],
    ['a key that is not a string', '1: a\n'],
    ['a bool key', 'true: a\n'],
    ['__proto__', '__proto__: {x: 1}\n'],
    ['an explicit key', '? a\n: b\n'],
    ['a space before the colon', 'a : 1\n'],
    ['octal, hexadecimal and float', 'a: 0o17\n'],
    ['hexadecimal', 'a: 0x1F\n'],
    ['a float', 'a: 1.5\n'],
    ['an exponent', 'a: 1e3\n'],
    ['infinity', 'a: .inf\n'],
    ['a top-level sequence', '- a\n- b\n'],
    ['a top-level scalar', 'hello\n'],
    ['an indented top-level mapping', '  a: 1\n'],
    ['a nested flow collection', 'a: [[1]]\n'],
    ['a multi-line flow sequence', 'a: [1,\n  2]\n'],
    ['a trailing comma', 'a: [1, 2, ]\n'],
    ['a folded block scalar', 'a: >\n  x\n'],
    ['a keep block scalar', 'a: |+\n  x\n'],
    ['a block scalar with an indentation indicator', 'a: |2\n  x\n'],
    ['a block scalar with a blank line inside', 'a: |\n  x\n\n  y\n'],
    ['a block scalar with a deeper line', 'a: |\n  x\n    y\n'],
    ['a nested compact sequence', 'a:\n  - - x\n'],
    ['a mapping nested in a compact mapping', 'a: b: c\n'],
    ['a value ending with a colon', 'a: b:\n'],
    ['a comment without a space before it', "a: 'x'#c\n"],
    ['a reserved indicator', 'a: @x\n'],
    ['an unexpected deeper line', 'a: 1\n  b: 2\n'],
    ['a sequence item under a key with a value', 'a: 1\n- b\n'],
    [`more than ${LIMITS.maxDepth} nested mappings`, Array.from({ length: 40 }, (_, i) => `${' '.repeat(i * 2)}k${i}:`).join('\n') + ' v\n'],
    [`more than ${LIMITS.maxDocumentsPerFile} documents`, 'a: 1\n---\n'.repeat(LIMITS.maxDocumentsPerFile + 1)],
  ])('%s', (_what, text) => {
    expect(read(text)).toBeUndefined();
  });

  it('declines every file of the hostile corpus that the library finds a problem in', () => {
    for (const text of filesUnder(join(ROOT, 'test', 'hostile', 'corpus'))) {
      if (library(text) === undefined) expect(read(text), text).toBeUndefined();
      else expectAgreement(text);
    }
  });
});

describe('readPlainYaml agrees with the yaml library on mutated documents', () => {
  // Small random edits of real files: most leave the subset or break the YAML, and then the plain reader must decline; the
  // ones it still accepts must read as the library reads them.
  const TOKENS = [' ', '  ', ':', ': ', '- ', '-', '#', ' #', '"', "'", '[', ']', '{', '}', ',', '|', '|-', '\n', '\n  ', '---\n', '...',
    '~', 'null', 'true', '0o7', '0x1', '1.5', '1e3', '.inf', '-1', '*a', '&a ', '!!str ', '\u00a0', 'é', '%', '@', '`', '?', '>', 'x', '  - ', '\t', '\r'];
  const bases = [...filesUnder(join(ROOT, 'desired-state')), users(3), LITERAL];

  function* random(seed: number): Generator<number> {
    let s = seed >>> 0;
    for (;;) {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      yield ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    }
  }

  function mutate(text: string, next: () => number): string {
    const pick = (n: number) => Math.floor(next() * n);
    const at = pick(text.length + 1);
    switch (pick(5)) {
      case 0:
        return text.slice(0, at) + text.slice(at + 1 + pick(3));
      case 1:
        return text.slice(0, at) + TOKENS[pick(TOKENS.length)]! + text.slice(at);
      case 2: {
        const lines = text.split('\n');
        const i = pick(lines.length);
        lines[i] = next() < 0.5 ? ` ${lines[i]}` : lines[i]!.replace(/^ {1,2}/, '');
        return lines.join('\n');
      }
      case 3: {
        const lines = text.split('\n');
        const i = pick(lines.length);
        lines.splice(pick(lines.length), 0, lines[i]!);
        return lines.join('\n');
      }
      default: {
        const lines = text.split('\n');
        const [i, j] = [pick(lines.length), pick(lines.length)];
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        return lines.join('\n');
      }
    }
  }

  it('on 3,000 mutations, accepting only what reads the same', () => {
    const rng = random(20240611);
    const next = () => rng.next().value as number;
    let accepted = 0;
    for (let n = 0; n < 3000; n++) {
      let text = bases[n % bases.length]!;
      for (let k = 1 + Math.floor(next() * 3); k > 0; k--) text = mutate(text, next);
      if (expectAgreement(text)) accepted++;
    }
    // Enough of them stay in the subset for the comparison to mean something.
    expect(accepted).toBeGreaterThan(600);
  });
});

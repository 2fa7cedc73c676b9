import { describe, expect, it } from 'vitest';
import { LineCounter, parseAllDocuments } from 'yaml';
import { hintForYamlErrors, scanIndentation } from '../../src/desired/yaml-hints.ts';

const HEAD = 'apiVersion: infrasec/v1\nkind: User\nmetadata:\n  name: x\nspec:\n';

/** The hint for the first document of `text`, from the errors the yaml library really gives for it. */
function hint(text: string) {
  const lineCounter = new LineCounter();
  const [doc] = parseAllDocuments(text, { lineCounter, uniqueKeys: false, strict: true, version: '1.2' }) as ReturnType<typeof parseAllDocuments> & unknown[];
  const errors = [...(doc as { errors: Array<{ code: string; pos: [number, number]; message: string }> }).errors]
    .sort((a, b) => a.pos[0] - b.pos[0])
    .map((e) => ({ code: e.code, ...lineCounter.linePos(e.pos[0]), message: e.message }));
  expect(errors.length).toBeGreaterThan(0);
  const h = hintForYamlErrors(text.split('\n'), 1, errors);
  return h && `${h.line}:${h.col} ${h.path}: ${h.message}`;
}

const spaces = (n: number) => `${n} space${n === 1 ? '' : 's'}`;
const DEEPER = (n: number, m: number) => `this line is indented by ${spaces(n)}, the line above by ${spaces(m)}: fields of one mapping start at the same column, and YAML reads a deeper line as part of the value above`;
const BETWEEN = (n: number, levels: string) => `this line is indented by ${spaces(n)}, which lines up with no line above it (${levels} spaces): fields of one mapping start at the same column`;
const TAB = 'YAML indentation must use spaces, not tabs: replace the tab at the start of this line with spaces';

describe('hintForYamlErrors', () => {
  it.each([
    ['a field indented one space deeper than the one above', `${HEAD}  givenName: Marie\n   surname: L\n  title: x\n`, `7:4 spec.surname: ${DEEPER(3, 2)}`],
    ['a field indented two spaces deeper', `${HEAD}  givenName: Marie\n    surname: L\n`, `7:5 spec.surname: ${DEEPER(4, 2)}`],
    ['a field indented one space less', `${HEAD}  givenName: Marie\n surname: L\n  title: x\n`, `7:2 spec.surname: ${BETWEEN(1, '0 or 2')}`],
    ['a nested field indented deeper', `${HEAD}  mailbox:\n    quotaMB: 1\n     aliases: [a]\n`, `8:6 spec.mailbox.aliases: ${DEEPER(5, 4)}`],
    ['a nested field between two levels', `${HEAD}  mailbox:\n    quotaMB: 1\n   aliases: [a]\n  title: x\n`, `8:4 spec.mailbox.aliases: ${BETWEEN(3, '0 or 2 or 4')}`],
    ['a list item between two levels', `${HEAD}  groups:\n    - a\n   - b\n`, `8:4 spec.groups: ${BETWEEN(3, '0 or 2 or 4')}`],
    ['a field of a list item indented deeper', `${HEAD}  x:\n    - name: a\n      value: b\n       other: c\n`, `9:8 spec.x[0].other: ${DEEPER(7, 6)}`],
    ['a top-level field indented', 'apiVersion: infrasec/v1\nkind: User\n metadata:\n  name: x\n', `3:2 metadata: ${DEEPER(1, 0)}`],
    ['a tab as indentation', `${HEAD}  givenName: Marie\n\tsurname: L\n  title: x\n  department: y\n`, `7:1 spec.surname: ${TAB}`],
    ['a tab before a list item', `${HEAD}  groups:\n    - a\n\t- b\n`, `8:1 spec.groups: ${TAB}`],
    ['a field without its colon', `${HEAD}  givenName Marie\n  surname: L\n`, '6:3 spec: this line is not a "field: value" pair: a colon and a space are missing after the field name'],
    ['a deeper line after a comment line', `${HEAD}  givenName: Marie  # first name\n  # a comment\n   surname: L\n`, `8:4 spec.surname: ${DEEPER(3, 2)}`],
  ])('blames the line that causes %s, in plain words', (_what, text, expected) => {
    expect(hint(text)).toBe(expected);
  });

  it.each([
    ['a block scalar with deeper lines', `${HEAD}  description: |\n    some text\n      deeper text\n  givenName: Marie\n   surname: L\n`, `10:4 spec.surname: ${DEEPER(3, 2)}`],
    ['a flow list over two lines', `${HEAD}  groups: [a,\n      b]\n  givenName: Marie\n   surname: L\n`, `9:4 spec.surname: ${DEEPER(3, 2)}`],
    ['a quoted value over two lines whose text looks like a field', `${HEAD}  title: "first\n    S3CRET: x"\n  givenName: Marie\n   surname: L\n`, `9:4 spec.surname: ${DEEPER(3, 2)}`],
    ['a plain value continued on a deeper line (valid YAML)', `${HEAD}  title: long\n    continued\n  givenName: Marie\n surname: L\n`, `9:2 spec.surname: ${BETWEEN(1, '0 or 2')}`],
  ])('is not misled by %s before the mistake', (_what, text, expected) => {
    expect(hint(text)).toBe(expected);
  });

  it.each([
    ['an unclosed flow list', `${HEAD}  groups: [a, b\n  title: x\n`],
    ['an unknown escape sequence', `${HEAD}  givenName: "a\\qb"\n`],
  ])('leaves %s to the parser, whose message says it already', (_what, text) => {
    expect(hint(text)).toBeUndefined();
  });

  it('names no value of the document, only line numbers, indents and field names', () => {
    const text = `${HEAD}  password:\n    encrypted: S3CRET\n     generate: S3CRET2\n`;
    expect(hint(text)).not.toContain('S3CRET');
  });
});

describe('scanIndentation', () => {
  it('stops at lastLine', () => {
    const lines = 'a:\n  b: 1\n   c: 2\n  d: 3\n     e: 4\n'.split('\n');
    expect(scanIndentation(lines, 1).map((a) => a.line)).toEqual([3, 5]);
    expect(scanIndentation(lines, 1, 4).map((a) => a.line)).toEqual([3]);
  });

  it('stays linear on a hostile line of a mebibyte without a colon', () => {
    const lines = ['a:', `  x${' '.repeat(1024 * 1024)}y`, '  b: 1'];
    expect(scanIndentation(lines, 1)).toEqual([expect.objectContaining({ line: 2, kind: 'no-colon' })]);
  });
});

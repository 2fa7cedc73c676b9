// Reads the plain subset of YAML that desired-state files are written in, an order of magnitude faster than the yaml library;
// declines anything outside it (undefined), which the yaml library then reads, so every error and every doubtful case is its.
//
// The subset: `---` documents whose top is a block mapping at column 0; block mappings and sequences indented with spaces;
// simple keys (letters, digits, `_ . / -`); values that are single-line plain scalars, quoted scalars without escapes, one-line
// flow sequences and mappings of such scalars, or literal block scalars (`|`, `|-`) of evenly indented lines; comments and
// blank lines. It declines tabs, CR, control characters, anchors, aliases, tags, directives, multi-line plain or quoted
// scalars, escapes, nested flow collections, complex keys, duplicate keys, collections nested deeper than `maxDepth`, more
// documents than `maxDocuments`, and any indentation it does not expect. What it accepts, it reads to the same value as
// parseAllDocuments + toJS (YAML 1.2 core schema); test/desired/plain-yaml.test.ts checks that against the yaml library.

export interface PlainDocument {
  /** Position of the document in the stream, counting empty documents, as parseAllDocuments numbers them. */
  readonly index: number;
  readonly value: Record<string, unknown>;
  /** Where the document's top mapping starts (its first key), 1-based. */
  readonly line: number;
  readonly col: number;
}

export interface PlainLimits {
  readonly maxDepth: number;
  readonly maxDocuments: number;
}

/** Thrown inside the reader when the text leaves the subset; never escapes readPlainYaml. */
const DECLINED: unique symbol = Symbol('outside the plain YAML subset');

// Tab, CR and every other C0 control, DEL, C1 (NEL is a line break to YAML 1.1), U+2028/2029 and a BOM past the start.
const UNSUPPORTED_CHARS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;
const KEY = /^[A-Za-z0-9_][A-Za-z0-9_./-]*/;
const MAX_KEY_LENGTH = 256;

// YAML 1.2 core schema, as the yaml library resolves a plain scalar (schema/core/*.js): null, bool and decimal int are read
// here; octal, hexadecimal and float forms are left to the library; whatever matches none of them is a string.
const NULL = /^(?:~|[Nn]ull|NULL)$/;
const TRUE = /^(?:[Tt]rue|TRUE)$/;
const FALSE = /^(?:[Ff]alse|FALSE)$/;
const INT = /^[-+]?[0-9]+$/;
const OTHER_NUMBERS = [
  /^0o[0-7]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
];

function decline(): never {
  throw DECLINED;
}

function resolvePlain(text: string): unknown {
  const c = text.charCodeAt(0);
  // Only these can start a null, a bool or a number; anything else is a string at once.
  if (!(c <= 0x39 || c === 0x7e || c === 0x4e || c === 0x6e || c === 0x54 || c === 0x74 || c === 0x46 || c === 0x66)) return text;
  if (NULL.test(text)) return null;
  if (TRUE.test(text)) return true;
  if (FALSE.test(text)) return false;
  if (INT.test(text)) return parseInt(text, 10);
  for (const re of OTHER_NUMBERS) if (re.test(text)) decline();
  return text;
}

/** A key as the yaml library names it in toJS: only keys that resolve to a string are read here. */
function resolveKey(text: string): string {
  if (text.length > MAX_KEY_LENGTH || text === '__proto__' || typeof resolvePlain(text) !== 'string') decline();
  return text;
}

// Characters that cannot start a plain scalar (YAML indicators), or that make it something other than a plain scalar.
const NOT_PLAIN_START = new Set([...'-?:,[]{}#&*!|>\'"%@`']);

/** A single-line plain scalar in block context, `text` already cut before any comment and trimmed. */
function blockPlain(text: string): unknown {
  const first = text[0]!;
  // `-5`, `-x`: a dash followed by a non-space starts a plain scalar; `- x` would be a sequence here, declined above.
  if (NOT_PLAIN_START.has(first) && !(first === '-' && text.length > 1 && text[1] !== ' ')) decline();
  // `a: b: c` nests a mapping in a compact mapping (an error), `a: b:` too.
  if (text.includes(': ') || text.endsWith(':')) decline();
  return resolvePlain(text);
}

/** Index where a comment starts (` #`) in `line` from `from`, or the line's length. */
function commentStart(line: string, from: number): number {
  for (let i = line.indexOf('#', from); i !== -1; i = line.indexOf('#', i + 1)) {
    if (i === from || line.charCodeAt(i - 1) === 0x20) return i;
  }
  return line.length;
}

/** Only spaces, then optionally a comment, from `from` to the end of the line. */
function restIsBlank(line: string, from: number): boolean {
  let i = from;
  while (i < line.length && line.charCodeAt(i) === 0x20) i++;
  return i === line.length || (line.charCodeAt(i) === 0x23 && i > from);
}

class Reader {
  private readonly lines: string[];
  private i = 0;

  constructor(text: string, private readonly limits: PlainLimits) {
    this.lines = text.split('\n');
  }

  read(): PlainDocument[] {
    const docs: PlainDocument[] = [];
    let index = 0;
    this.skipTrivia();
    // Content before the first `---` is a document of its own; comments alone are not.
    if (this.i < this.lines.length && !this.atMarker()) docs.push(this.document(index++));
    while (this.i < this.lines.length) {
      // skipTrivia stopped on a marker: every `---` starts a document, empty or not.
      this.i++;
      this.skipTrivia();
      if (this.i < this.lines.length && !this.atMarker()) docs.push(this.document(index));
      index++;
      if (index > this.limits.maxDocuments) decline(); // the library reports it
    }
    return docs;
  }

  private document(index: number): PlainDocument {
    const line = this.i;
    if (this.indentOf(line) !== 0) decline();
    const value = this.mapping(0, 1, 0);
    this.skipTrivia();
    if (this.i < this.lines.length && !this.atMarker()) decline();
    return { index, value, line: line + 1, col: 1 };
  }

  private atMarker(): boolean {
    return this.lines[this.i] === '---';
  }

  /** Moves past blank and comment lines; stops on content or on a `---` line. Declines other document-level syntax. */
  private skipTrivia(): void {
    for (; this.i < this.lines.length; this.i++) {
      const line = this.lines[this.i]!;
      const indent = this.indentOf(this.i);
      if (indent === line.length || line.charCodeAt(indent) === 0x23) continue;
      // `...`, `--- x`, `%YAML`: document markers and directives other than a bare `---` are the library's.
      if (indent === 0 && (line.startsWith('---') || line.startsWith('...') || line.startsWith('%')) && line !== '---') decline();
      return;
    }
  }

  private indentOf(n: number): number {
    const line = this.lines[n]!;
    let i = 0;
    while (i < line.length && line.charCodeAt(i) === 0x20) i++;
    return i;
  }

  /** Indentation of the next content line, or -1 at a `---` or the end (both close every block). Leaves `i` on it. */
  private nextIndent(): number {
    this.skipTrivia();
    if (this.i >= this.lines.length || this.atMarker()) return -1;
    return this.indentOf(this.i);
  }

  /**
   * A block mapping whose keys are at column `indent`. Its first entry is on line `i` from column `indent` (after `- ` for a
   * mapping inside a sequence entry), the others on lines indented exactly `indent`.
   */
  private mapping(indent: number, depth: number, firstCol: number): Record<string, unknown> {
    if (depth > this.limits.maxDepth) decline();
    const map: Record<string, unknown> = {};
    let col = firstCol;
    for (;;) {
      const line = this.lines[this.i]!;
      const key = KEY.exec(line.slice(col, col + MAX_KEY_LENGTH + 2))?.[0];
      if (key === undefined) decline();
      const colon = col + key.length;
      if (line.charCodeAt(colon) !== 0x3a || (colon + 1 < line.length && line.charCodeAt(colon + 1) !== 0x20)) decline();
      const name = resolveKey(key);
      if (Object.hasOwn(map, name)) decline(); // the library reports duplicates, with their position
      this.i++;
      map[name] = this.value(line, colon + 1, indent, depth, true);
      const next = this.nextIndent();
      if (next < indent) return map;
      if (next > indent) decline();
      col = indent;
    }
  }

  /** A block sequence whose `-` are at column `indent`, starting on line `i`. */
  private sequence(indent: number, depth: number): unknown[] {
    if (depth > this.limits.maxDepth) decline();
    const seq: unknown[] = [];
    for (;;) {
      const line = this.lines[this.i]!;
      if (!isItem(line, indent)) decline();
      let start = indent + 1;
      while (start < line.length && line.charCodeAt(start) === 0x20) start++;
      if (this.isEntry(line, start)) {
        // `- key: value`: a mapping whose keys are at the column of this first key.
        seq.push(this.mapping(start, depth + 1, start));
      } else {
        this.i++;
        seq.push(this.value(line, indent + 1, indent, depth, false));
      }
      const next = this.nextIndent();
      // A line at this column that is no `-` item ends a sequence that sat at its key's column; elsewhere the caller declines it.
      if (next < indent || (next === indent && !isItem(this.lines[this.i]!, indent))) return seq;
      if (next > indent) decline();
    }
  }

  /** Whether `line` from `col` is `key:` followed by a space or the end of the line. */
  private isEntry(line: string, col: number): boolean {
    const key = KEY.exec(line.slice(col, col + MAX_KEY_LENGTH + 2))?.[0];
    if (key === undefined) return false;
    const colon = col + key.length;
    return line.charCodeAt(colon) === 0x3a && (colon + 1 === line.length || line.charCodeAt(colon + 1) === 0x20);
  }

  /**
   * The value after `key:` or `-` (from column `from` of `line`, the line already consumed) of a collection at `indent`:
   * inline on that line, or a block on the following lines, or null. A sequence may sit at the key's own indentation.
   */
  private value(line: string, from: number, indent: number, depth: number, inMapping: boolean): unknown {
    let start = from;
    while (start < line.length && line.charCodeAt(start) === 0x20) start++;
    if (start === line.length || line.charCodeAt(start) === 0x23) return this.nested(indent, depth, inMapping);
    switch (line[start]) {
      case '"':
      case "'":
        return this.quoted(line, start, line.length, true).value;
      case '[':
        return this.flowSequence(line, start, depth + 1);
      case '{':
        return this.flowMapping(line, start, depth + 1);
      case '|':
        return this.literal(line, start, indent);
      default: {
        const end = commentStart(line, start);
        return blockPlain(trimSpaces(line.slice(start, end)));
      }
    }
  }

  /** The block under an entry with no inline value: deeper lines, a sequence at a key's own column, or nothing (null). */
  private nested(indent: number, depth: number, inMapping: boolean): unknown {
    const next = this.nextIndent();
    if (next > indent) return this.block(next, depth + 1);
    if (next === indent && inMapping && isItem(this.lines[this.i]!, indent)) return this.sequence(indent, depth + 1);
    return null;
  }

  private block(indent: number, depth: number): unknown {
    return isItem(this.lines[this.i]!, indent) ? this.sequence(indent, depth) : this.mapping(indent, depth, indent);
  }

  /** `"..."` or `'...'` on one line, no escapes; `end` bounds the search. Returns the value and the index after it. */
  private quoted(line: string, start: number, end: number, lastOnLine: boolean): { value: string; next: number } {
    const quote = line[start]!;
    const close = line.indexOf(quote, start + 1);
    if (close === -1 || close >= end) decline();
    const text = line.slice(start + 1, close);
    if (quote === '"' && text.includes('\\')) decline();
    if (quote === "'" && line[close + 1] === "'") decline(); // '' is an escaped quote
    if (lastOnLine && !restIsBlank(line, close + 1)) decline();
    return { value: text, next: close + 1 };
  }

  /** A scalar inside a one-line flow collection: quoted, or plain without `, [ ] { } # :`. Returns it and where it ends. */
  private flowScalar(line: string, start: number): { value: unknown; next: number } {
    const c = line[start];
    if (c === '"' || c === "'") return this.quoted(line, start, line.length, false);
    let end = start;
    while (end < line.length && !',[]{}#:"'.includes(line[end]!)) end++;
    const text = trimSpaces(line.slice(start, end));
    if (text === '') decline();
    const first = text[0]!;
    if (NOT_PLAIN_START.has(first) && !(first === '-' && text.length > 1 && text[1] !== ' ')) decline();
    return { value: resolvePlain(text), next: end };
  }

  private flowSequence(line: string, start: number, depth: number): unknown[] {
    if (depth > this.limits.maxDepth) decline();
    const seq: unknown[] = [];
    let i = skipSpaces(line, start + 1);
    if (line[i] !== ']') {
      for (;;) {
        const item = this.flowScalar(line, i);
        seq.push(item.value);
        i = skipSpaces(line, item.next);
        if (line[i] === ']') break;
        if (line[i] !== ',') decline();
        i = skipSpaces(line, i + 1);
      }
    }
    if (!restIsBlank(line, i + 1)) decline();
    return seq;
  }

  private flowMapping(line: string, start: number, depth: number): Record<string, unknown> {
    if (depth > this.limits.maxDepth) decline();
    const map: Record<string, unknown> = {};
    let i = skipSpaces(line, start + 1);
    if (line[i] !== '}') {
      for (;;) {
        const key = KEY.exec(line.slice(i, i + MAX_KEY_LENGTH + 2))?.[0];
        if (key === undefined || line[i + key.length] !== ':' || line[i + key.length + 1] !== ' ') decline();
        const name = resolveKey(key);
        if (Object.hasOwn(map, name)) decline();
        const item = this.flowScalar(line, skipSpaces(line, i + key.length + 1));
        map[name] = item.value;
        i = skipSpaces(line, item.next);
        if (line[i] === '}') break;
        if (line[i] !== ',') decline();
        i = skipSpaces(line, i + 1);
      }
    }
    if (!restIsBlank(line, i + 1)) decline();
    return map;
  }

  /**
   * `|` (clip: one final line break) or `|-` (strip: none), alone after its key; the text is the following lines, all indented
   * alike and deeper than `indent`, none blank or starting with `#`; after them only empty lines, then a shallower line.
   */
  private literal(line: string, start: number, indent: number): string {
    const header = line.slice(start);
    if (header !== '|' && header !== '|-') decline();
    const first = this.i;
    const width = first < this.lines.length ? this.indentOf(first) : 0;
    if (width <= indent) decline(); // an empty block scalar: the library's
    const parts: string[] = [];
    for (; this.i < this.lines.length; this.i++) {
      const l = this.lines[this.i]!;
      if (l === '') break;
      const w = this.indentOf(this.i);
      if (w <= indent) break;
      if (w !== width || w === l.length || l.charCodeAt(w) === 0x23) decline();
      parts.push(l.slice(width));
    }
    // Trailing empty lines belong to the scalar (chomped away); a line with spaces there or a deeper line is the library's.
    for (let j = this.i; j < this.lines.length; j++) {
      const l = this.lines[j]!;
      if (l === '') continue;
      if (this.indentOf(j) > indent) decline();
      break;
    }
    return parts.join('\n') + (header === '|' ? '\n' : '');
  }
}

/** Whether `line` has a sequence item (`-` then a space or the end of the line) at column `indent`. */
function isItem(line: string, indent: number): boolean {
  return line.charCodeAt(indent) === 0x2d && (indent + 1 === line.length || line.charCodeAt(indent + 1) === 0x20);
}

/** Trailing spaces off: only U+0020 (YAML's white space is space and tab; trimEnd() would also take U+00A0 and others). */
function trimSpaces(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x20) end--;
  return text.slice(0, end);
}

function skipSpaces(line: string, i: number): number {
  while (i < line.length && line.charCodeAt(i) === 0x20) i++;
  return i;
}

/** The documents of `text` (BOM already removed), or undefined when it is not entirely in the plain subset. */
export function readPlainYaml(text: string, limits: PlainLimits): PlainDocument[] | undefined {
  if (UNSUPPORTED_CHARS.test(text)) return undefined;
  try {
    return new Reader(text, limits).read();
  } catch (err) {
    if (err === DECLINED) return undefined;
    throw err;
  }
}

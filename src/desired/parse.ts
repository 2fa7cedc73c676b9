// Reads desired-state files into positioned YAML documents, rejecting hostile input (size, encoding, aliases, depth, keys):
// the plain subset through plain-yaml.ts, anything else through the yaml library, which also gives positions on demand.
import { createRequire } from 'node:module';
import type { Document, LineCounter, Node } from 'yaml';
import { formatPath, quoteText, type Diagnostic } from './diagnostic.ts';
import { readPlainYaml } from './plain-yaml.ts';
import { hintForYamlErrors, type YamlError } from './yaml-hints.ts';

let library: typeof import('yaml') | undefined;
/** The yaml library, loaded at first use: a state written in the plain subset needs it only to position a finding. */
const yaml = (): typeof import('yaml') => (library ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));

export const LIMITS = {
  /** Bytes per file. A COD's whole state is a few hundred KiB; anything bigger is a mistake or an attack. */
  maxFileBytes: 1024 * 1024,
  maxFiles: 5000,
  maxDocumentsPerFile: 2000,
  /** Alias expansions per document (billion-laughs defence). */
  maxAliasCount: 50,
  maxDepth: 32,
  maxStringLength: 16 * 1024,
} as const;

type Position = { line: number; col: number };

export interface ParsedDocument {
  readonly file: string;
  readonly index: number;
  readonly value: unknown;
  /** Where the document's content starts. */
  readonly start: Position;
  /** Position of the node at a field path, or of its closest ancestor that exists (positionInDocument). */
  readonly at: (path: ReadonlyArray<string | number>) => Position;
  /** The source text of the scalar at a field path as written (`0201`, where the value is 201); undefined for anything else. */
  readonly sourceOf: (path: ReadonlyArray<string | number>) => string | undefined;
}

/** kind and metadata.name of a document that could not be read, when they could: it is defined, only broken. */
export interface BrokenIdentity {
  readonly kind: string;
  readonly name: string;
}

export interface ParseResult {
  readonly documents: ParsedDocument[];
  readonly diagnostics: Diagnostic[];
  /** Identities of documents refused here; references to them are not reported missing (their own error is the cause). */
  readonly broken?: readonly BrokenIdentity[];
}

const error = (file: string, line: number, col: number, path: string, code: string, message: string): Diagnostic => ({
  file, line, col, path, code, message, severity: 'error',
});

/** Position of a byte offset in a file, 1-based. */
export function positionOf(lineCounter: LineCounter, offset: number): { line: number; col: number } {
  const pos = lineCounter.linePos(offset);
  return { line: pos.line, col: pos.col };
}

/** Position of the node at `path` in a document, or the closest ancestor that exists. */
export function positionInDocument(doc: Document.Parsed, lineCounter: LineCounter, path: ReadonlyArray<string | number>): { line: number; col: number } {
  const { isMap, isNode, isScalar } = yaml();
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return positionOf(lineCounter, node.range[0]);
    // A map key that exists without a node value: point at its key.
    if (n > 0) {
      const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[n - 1]);
        if (pair && isNode(pair.key) && pair.key.range) return positionOf(lineCounter, pair.key.range[0]);
      }
    }
  }
  return { line: 1, col: 1 };
}

/** Depth of a YAML node tree, walked iteratively so hostile nesting cannot blow the stack. */
function nodeDepth(root: Node | null | undefined): { depth: number; deepest?: Node } {
  const { isMap, isSeq } = yaml();
  let max = 0;
  let deepest: Node | undefined;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (isMap(node) || isSeq(node)) {
      if (depth > max) {
        max = depth;
        deepest = node;
      }
      if (depth > LIMITS.maxDepth) break;
      for (const item of node.items as unknown[]) {
        if (isMap(node)) {
          const pair = item as { key: unknown; value: unknown };
          stack.push([pair.key, depth + 1], [pair.value, depth + 1]);
        } else stack.push([item, depth + 1]);
      }
    }
  }
  return { depth: max, deepest };
}

/** A key written twice in one mapping: the repeat, the first one, and the path of the mapping holding both. */
interface DuplicateKey {
  readonly key: Node;
  readonly first: Node;
  readonly name: string;
  readonly path: ReadonlyArray<string | number>;
}

/**
 * Second and later occurrences of a scalar key in the same mapping, in one pass with a Map per mapping (yaml's own
 * uniqueKeys check rescans every earlier key: quadratic, minutes for a 1 MiB file of short keys). Depth is already bounded.
 */
function duplicateKeys(root: Node): DuplicateKey[] {
  const { isMap, isScalar, isSeq } = yaml();
  const found: DuplicateKey[] = [];
  const stack: Array<[unknown, Array<string | number>]> = [[root, []]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (isMap(node)) {
      const seen = new Map<string, Node>();
      for (const pair of node.items) {
        // As toJS will name it: `1` and "1" become the same property.
        const name = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (name !== undefined) {
          const first = seen.get(name);
          if (first) found.push({ key: pair.key as Node, first, name, path });
          else seen.set(name, pair.key as Node);
        }
        stack.push([pair.key, path], [pair.value, name === undefined ? path : [...path, name]]);
      }
    } else if (isSeq(node)) node.items.forEach((item, i) => stack.push([item, [...path, i]]));
  }
  return found;
}

// The lexer's zero-width markers (document start, flow cut off by indentation, scalar start): not characters of the source.
const LEXER_MARKERS = new Set(['\x02', '\x18', '\x1f']);

/**
 * Offset where nesting first goes deeper than the limit, found with yaml's iterative lexer before any tree is built:
 * the parser spends about 1 GB per MiB of `[[[[...` and can exhaust the heap long before the composed document's depth
 * could be checked. Counts flow levels, and block indicators (`- - - x`) on one line, which nest just as cheaply.
 */
export function excessiveNestingOffset(text: string): number | undefined {
  let flow = 0;
  let compact = 0;
  let offset = 0;
  for (const token of new (yaml().Lexer)().lex(text)) {
    if (token === '[' || token === '{') {
      if (++flow > LIMITS.maxDepth) return offset;
    } else if (token === ']' || token === '}') flow = Math.max(0, flow - 1);
    else if (token === '\x02' || token === '\x18') flow = 0;
    else if (flow === 0 && (token === '-' || token === '?' || token === ':')) {
      if (++compact > LIMITS.maxDepth) return offset;
    }
    if (token.includes('\n')) compact = 0;
    if (!LEXER_MARKERS.has(token)) offset += token.length;
  }
  return undefined;
}

/** Parses one file's bytes. Never throws for bad input: every problem becomes a diagnostic. */
export function parseFile(file: string, bytes: Uint8Array): ParseResult {
  if (bytes.byteLength > LIMITS.maxFileBytes) {
    return { documents: [], diagnostics: [error(file, 1, 1, '', 'file-too-large', `file is ${bytes.byteLength} bytes, above the limit of ${LIMITS.maxFileBytes}`)] };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const line = bytes.subarray(0, offset).reduce((n, b) => (b === 0x0a ? n + 1 : n), 1);
    return { documents: [], diagnostics: [error(file, line, 1, '', 'encoding-invalid', `file is not valid UTF-8 (byte ${offset})`)] };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const plain = readPlainYaml(text, { maxDepth: LIMITS.maxDepth, maxDocuments: LIMITS.maxDocumentsPerFile });
  if (plain) {
    // Positions are needed only for a finding: the yaml library reads the file then, once, and gives the same ones as ever.
    let positioned: Map<number, ParsedDocument> | undefined;
    const library = (index: number) => (positioned ??= new Map(parseWithLibrary(file, text).documents.map((d) => [d.index, d]))).get(index);
    const documents = plain.map(({ index, value, line, col }): ParsedDocument => {
      const start = { line, col };
      const at = (path: ReadonlyArray<string | number>) => library(index)?.at(path) ?? start;
      const sourceOf = (path: ReadonlyArray<string | number>) => library(index)?.sourceOf(path);
      return { file, index, value, start, at, sourceOf };
    });
    return { documents, diagnostics: [] };
  }
  return parseWithLibrary(file, text);
}

/** Parses decoded text with the yaml library, with every hostile-input check: what parseFile does outside the plain subset. Never throws. */
export function parseWithLibrary(file: string, text: string): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const tooDeepAt = excessiveNestingOffset(text);
  if (tooDeepAt !== undefined) {
    const line = lineOf(text, tooDeepAt);
    const col = tooDeepAt - text.lastIndexOf('\n', tooDeepAt - 1);
    return { documents: [], diagnostics: [error(file, line, col, '', 'nesting-too-deep', `nesting deeper than ${LIMITS.maxDepth} levels`)] };
  }

  const { LineCounter, isScalar, parseAllDocuments } = yaml();
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: false, prettyErrors: false, strict: true, merge: false, version: '1.2' });
  const list = Array.isArray(docs) ? docs : [];
  if (list.length > LIMITS.maxDocumentsPerFile) {
    return { documents: [], diagnostics: [error(file, 1, 1, '', 'too-many-documents', `file holds ${list.length} documents, above the limit of ${LIMITS.maxDocumentsPerFile}`)] };
  }

  const documents: ParsedDocument[] = [];
  const broken: BrokenIdentity[] = [];
  list.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      diagnostics.push(syntaxFinding(file, text, lineCounter, doc));
      const identity = identityOf(doc);
      if (identity) broken.push(identity);
      return;
    }
    for (const e of doc.warnings) {
      const { line, col } = positionOf(lineCounter, e.pos[0]);
      diagnostics.push(error(file, line, col, '', 'yaml-syntax', withoutSource(e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''))));
    }
    // Empty document (a trailing `---`, or one holding only comments): yaml gives a null scalar with no source text.
    // An explicit `~` or `null` has source text and is kept, for the loader to refuse.
    if (doc.contents === null) return;
    const c = doc.contents;
    if (isScalar(c) && c.value === null && c.range !== undefined && c.range[0] === c.range[1]) return;

    const { depth, deepest } = nodeDepth(doc.contents);
    if (depth > LIMITS.maxDepth) {
      const { line, col } = deepest?.range ? positionOf(lineCounter, deepest.range[0]) : { line: 1, col: 1 };
      diagnostics.push(error(file, line, col, '', 'nesting-too-deep', `nesting deeper than ${LIMITS.maxDepth} levels`));
      return;
    }
    const duplicates = duplicateKeys(doc.contents);
    for (const { key, first, name, path } of duplicates) {
      const { line, col } = key.range ? positionOf(lineCounter, key.range[0]) : { line: 1, col: 1 };
      const firstLine = first.range ? positionOf(lineCounter, first.range[0]).line : undefined;
      diagnostics.push(error(file, line, col, formatPath([...path, name]), 'duplicate-key',
        `key ${quoteText(name)} is written twice in this mapping${firstLine === undefined ? '' : ` (first on line ${firstLine})`}; keep one`));
    }
    if (duplicates.length > 0) {
      const identity = identityOf(doc);
      if (identity) broken.push(identity);
      return;
    }

    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: LIMITS.maxAliasCount });
    } catch (err) {
      const { line, col } = doc.contents.range ? positionOf(lineCounter, doc.contents.range[0]) : { line: 1, col: 1 };
      const text = String((err as Error).message);
      // The alias name is not printed: a plaintext secret written as `*s3cret` would otherwise end up in CI logs.
      if (/excessive alias/i.test(text)) {
        diagnostics.push(error(file, line, col, '', 'alias-limit', `YAML aliases expand beyond the limit of ${LIMITS.maxAliasCount} (alias bomb?)`));
      } else if (/unresolved alias/i.test(text)) {
        diagnostics.push(error(file, line, col, '', 'alias-unresolved', 'a YAML alias (*name) refers to no anchor (&name) defined before it'));
      } else diagnostics.push(error(file, line, col, '', 'yaml-syntax', 'document cannot be read'));
      return;
    }
    const at = (path: ReadonlyArray<string | number>) => positionInDocument(doc, lineCounter, path);
    const sourceOf = (path: ReadonlyArray<string | number>) => {
      const node = doc.getIn(path, true);
      return isScalar(node) && node.range ? text.slice(node.range[0], node.range[1]) : undefined;
    };
    documents.push({ file, index, value, start: at([]), at, sourceOf });
  });
  return { documents, diagnostics, broken };
}

/**
 * One finding for a document the parser refused: a plain-words hint at the line that causes it (tab, indentation, missing
 * colon) when yaml-hints.ts finds one, else the parser's first error. Its other errors follow from the same mistake.
 */
function syntaxFinding(file: string, text: string, lineCounter: LineCounter, doc: Document.Parsed): Diagnostic {
  const errors: YamlError[] = [...doc.errors]
    .sort((a, b) => a.pos[0] - b.pos[0])
    .map((e) => ({ code: e.code, ...positionOf(lineCounter, e.pos[0]), message: e.message }));
  // RESOURCE_EXHAUSTION: yaml caught its own stack overflow on nesting too deep for the lexer check (indented blocks).
  const exhausted = errors.find((e) => e.code === 'RESOURCE_EXHAUSTION');
  if (exhausted) return error(file, exhausted.line, exhausted.col, '', 'nesting-too-deep', `nesting deeper than ${LIMITS.maxDepth} levels`);
  const from = doc.range ? text.lastIndexOf('\n', doc.range[0] - 1) + 1 : 0;
  const to = doc.range ? doc.range[2] : text.length;
  const hint = hintForYamlErrors(text.slice(from, to).split('\n'), positionOf(lineCounter, from).line, errors);
  if (hint) return error(file, hint.line, hint.col, hint.path, 'yaml-syntax', hint.message);
  const first = errors[0]!;
  return error(file, first.line, first.col, '', 'yaml-syntax', withoutSource(first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')));
}

/** kind and metadata.name of a refused document, read from its syntax tree where the parser got that far (never toJS: no warnings, no aliases). */
function identityOf(doc: Document.Parsed): BrokenIdentity | undefined {
  const { isMap } = yaml();
  if (!isMap(doc.contents)) return undefined;
  const kind = doc.get('kind');
  const name = doc.getIn(['metadata', 'name']);
  return typeof kind === 'string' && typeof name === 'string' ? { kind, name } : undefined;
}

// yaml quotes source text in some messages (tags, block scalar headers, stray tokens, escapes, anchors, directives).
// That text can be a plaintext secret (`password: !Passw0rd` is an unresolved tag), so keep only the message's own words.
const SOURCE_ECHO: ReadonlyArray<[RegExp, string]> = [
  [/^(Unresolved tag|Block scalar header includes extra characters|Not a YAML token|Not a valid tag|Could not resolve tag|Anchor must not contain whitespace or control characters): .*$/s, '$1'],
  [/^(Invalid escape sequence|Unknown directive|Unsupported YAML version) .*$/s, '$1'],
  [/^Verbatim tags aren't resolved.*$/s, "Verbatim tags aren't resolved"],
  [/^The .* tag has no suffix$/s, 'A tag has no suffix'],
  [/^(.*?): ".*"$/s, '$1'],
];

function withoutSource(message: string): string {
  for (const [pattern, replacement] of SOURCE_ECHO) if (pattern.test(message)) return message.replace(pattern, replacement);
  return message;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  let lo = 0;
  let hi = bytes.byteLength;
  // Binary search the shortest invalid prefix; streaming mode lets a prefix end inside a valid multi-byte sequence.
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid + 1), { stream: true });
      lo = mid + 1;
    } catch {
      hi = mid;
    }
  }
  return lo;
}

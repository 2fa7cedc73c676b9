// Reads desired-state files into positioned YAML documents, rejecting hostile input (size, encoding, aliases, depth, keys):
// the plain subset through plain-yaml.ts, anything else through the yaml library, which also gives positions on demand.
import { createRequire } from 'node:module';
import type { Document, LineCounter, Node } from 'yaml';
import type { Diagnostic } from './diagnostic.ts';
import { readPlainYaml } from './plain-yaml.ts';

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
}

export interface ParseResult {
  readonly documents: ParsedDocument[];
  readonly diagnostics: Diagnostic[];
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

/**
 * Second and later occurrences of a scalar key in the same mapping, in one pass with a Set per mapping (yaml's own
 * uniqueKeys check rescans every earlier key: quadratic, minutes for a 1 MiB file of short keys). Depth is already bounded.
 */
function duplicateKeys(root: Node): Node[] {
  const { isMap, isScalar, isSeq } = yaml();
  const found: Node[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          // As toJS will name it: `1` and "1" become the same property.
          const name = String(pair.key.value);
          if (seen.has(name)) found.push(pair.key);
          else seen.add(name);
        }
        stack.push(pair.key, pair.value);
      }
    } else if (isSeq(node)) for (const item of node.items) stack.push(item);
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
    const documents = plain.map(({ index, value, line, col }): ParsedDocument => {
      const start = { line, col };
      const at = (path: ReadonlyArray<string | number>) => {
        positioned ??= new Map(parseWithLibrary(file, text).documents.map((d) => [d.index, d]));
        return positioned.get(index)?.at(path) ?? start;
      };
      return { file, index, value, start, at };
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
  list.forEach((doc, index) => {
    const problems = [...doc.errors, ...doc.warnings];
    for (const e of problems) {
      const { line, col } = positionOf(lineCounter, e.pos[0]);
      // RESOURCE_EXHAUSTION: yaml caught its own stack overflow on nesting too deep for the lexer check (indented blocks).
      const code = e.code === 'DUPLICATE_KEY' ? 'duplicate-key' : e.code === 'RESOURCE_EXHAUSTION' ? 'nesting-too-deep' : 'yaml-syntax';
      const message = e.code === 'RESOURCE_EXHAUSTION' ? `nesting deeper than ${LIMITS.maxDepth} levels`
        : withoutSource(e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''));
      diagnostics.push(error(file, line, col, '', code, message));
    }
    if (doc.errors.length > 0) return;
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
    for (const key of duplicates) {
      const { line, col } = key.range ? positionOf(lineCounter, key.range[0]) : { line: 1, col: 1 };
      diagnostics.push(error(file, line, col, '', 'duplicate-key', 'Map keys must be unique'));
    }
    if (duplicates.length > 0) return;

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
    documents.push({ file, index, value, start: at([]), at });
  });
  return { documents, diagnostics };
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

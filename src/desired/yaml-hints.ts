// Pure: one finding in plain words for a YAML document the parser refused — a tab, a line indented differently than
// expected, a missing colon — at the line that causes it, instead of the parser's cascade of follow-on errors.
import { formatPath } from './diagnostic.ts';

/** One error of the yaml library, positioned (1-based), in source order. */
export interface YamlError {
  readonly code: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export interface YamlHint {
  readonly line: number;
  readonly col: number;
  /** Field path the line most likely meant, e.g. `spec.surname`; '' when unknown. */
  readonly path: string;
  readonly message: string;
}

/** Errors the parser gives for a line indented differently than the lines around it (it blames the line before, too). */
const INDENTATION_ERRORS = new Set(['BAD_INDENT', 'BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY', 'MISSING_CHAR']);

type Anomaly = { line: number; col: number; path: string; kind: 'tab' } | { line: number; col: number; path: string; kind: 'deeper' | 'between' | 'no-colon'; message: string };

const spaces = (n: number) => `${n} space${n === 1 ? '' : 's'}`;

/**
 * The finding for a document whose parse failed with `errors` (never empty), or undefined to keep the parser's first
 * error: `lines` are the document's lines, `firstLine` the file line of lines[0].
 */
export function hintForYamlErrors(lines: readonly string[], firstLine: number, errors: readonly YamlError[]): YamlHint | undefined {
  const first = errors[0];
  if (!first) return undefined;
  const tab = errors.find((e) => e.code === 'TAB_AS_INDENT');
  // The parser blames a line itself or the one before it (a deeper line reads as the continuation of the value above).
  const next = nextContentLine(lines, firstLine, first.line);
  const anomalies = scanIndentation(lines, firstLine, tab ? tab.line : next);
  if (tab) {
    const at = anomalies.find((a) => a.kind === 'tab' && a.line === tab.line);
    return { line: tab.line, col: tab.col, path: at?.path ?? '', message: 'YAML indentation must use spaces, not tabs: replace the tab at the start of this line with spaces' };
  }
  if (!INDENTATION_ERRORS.has(first.code)) return undefined;
  const cause = anomalies.find((a) => a.kind !== 'tab' && a.line >= first.line && a.line <= next);
  return cause && cause.kind !== 'tab' ? { line: cause.line, col: cause.col, path: cause.path, message: cause.message } : undefined;
}

/** The next line holding content is a `key:` line at exactly this indent. */
function nextIsKeyAt(lines: readonly string[], i: number, indent: number): boolean {
  for (let j = i + 1; j < lines.length; j++) {
    const text = lines[j]!;
    if (/^\s*(#.*)?$/.test(text)) continue;
    const lead = /^ */.exec(text)![0].length;
    return lead === indent && keyOf(text.slice(lead)) !== undefined;
  }
  return false;
}

/** File line of the first line after `line` holding more than blanks or a comment (or `line` itself when none). */
function nextContentLine(lines: readonly string[], firstLine: number, line: number): number {
  for (let i = line - firstLine + 1; i < lines.length; i++) if (!/^\s*(#.*)?$/.test(lines[i]!)) return firstLine + i;
  return line;
}

interface Level {
  readonly indent: number;
  /** The key or item index last seen at this level: the level's segment in a field path. */
  seg: string | number | undefined;
}

interface LineShape {
  /** Column (0-based) of each `- ` item, then of the key, on this line. */
  readonly parts: ReadonlyArray<{ col: number; key?: string }>;
  /** Nothing after the last `key:` or `-`: the next deeper line is its value. */
  readonly opens: boolean;
  /** A `|` or `>` block scalar starts here: deeper lines are its text. */
  readonly block: boolean;
  /** Flow brackets left open at the end of the line. */
  readonly flowDepth: number;
  /** The quote character of a quoted value left open at the end of the line: the next lines are its text. */
  readonly openQuote: string | undefined;
}

/**
 * The key of a `key: value` line and where its value starts, found without a backtracking regex (a hostile line of a
 * mebibyte must stay linear): a quoted key, or plain text up to the first `: ` (or final `:`) before any ` #` comment.
 */
function keyOf(text: string): { key: string; valueAt: number } | undefined {
  let end: number;
  let key: string;
  if (text.startsWith('"') || text.startsWith("'")) {
    end = text.indexOf(text[0]!, 1);
    if (end === -1) return undefined;
    key = text.slice(1, end);
    end++;
    while (text[end] === ' ') end++;
    if (text[end] !== ':') return undefined;
  } else {
    if (/^[\s[\]{}#&*!|>%@`,]/.test(text) || /^-(\s|$)/.test(text)) return undefined;
    end = text.search(/:(\s|$)/);
    if (end === -1 || text.slice(0, end).includes(' #')) return undefined;
    key = text.slice(0, end).trimEnd();
  }
  const after = text.slice(end + 1);
  return { key, valueAt: end + 1 + (after.length - after.trimStart().length) };
}

/** The structure of one line's content (after its indentation), enough to follow block levels. */
function shapeOf(content: string, indent: number): LineShape {
  const parts: Array<{ col: number; key?: string }> = [];
  let rest = content;
  let col = indent;
  for (let m = /^-(\s+|$)/.exec(rest); m; m = /^-(\s+|$)/.exec(rest)) {
    parts.push({ col });
    col += m[0].length;
    rest = rest.slice(m[0].length);
  }
  const key = keyOf(rest);
  let value = rest;
  if (key) {
    parts.push({ col, key: key.key });
    value = rest.slice(key.valueAt);
  }
  value = value.replace(/(^|\s)#.*$/, '').trim();
  const block = /^[|>][-+0-9]*$/.test(value);
  const opens = parts.length > 0 && (value === '' || /^[&!][^\s]*$/.test(value));
  const { depth, quote } = scanFlow(value);
  return { parts, opens, block, flowDepth: Math.max(0, depth), openQuote: quote };
}

/** Flow brackets opened minus closed in a line's text outside quotes, and the quote left open at its end if any. */
function scanFlow(text: string, startQuote?: string): { depth: number; quote: string | undefined } {
  let depth = 0;
  let quote = startQuote;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
  }
  return { depth, quote };
}

/**
 * Follows the block structure of a document line by line and lists the lines that break it: a tab in the indentation, a
 * line deeper than the line above without that line opening a block, a line between two levels, a line in a mapping that is
 * not `key: value`. Only consulted after the parser refused the document, so valid oddities (a plain scalar continued on a
 * deeper line) are listed without harm: the caller keeps only an anomaly where the parser failed. Stops after `lastLine`.
 */
export function scanIndentation(lines: readonly string[], firstLine: number, lastLine = firstLine + lines.length - 1): Anomaly[] {
  const out: Anomaly[] = [];
  const stack: Level[] = [];
  let prev: LineShape | undefined;
  /** Skip deeper lines: the text of a block scalar owned by a line at this indent. */
  let blockOwner: number | undefined;
  let flowDepth = 0;
  /** Inside a quoted scalar spanning lines: its text is not structure (nor anything to name in a path). */
  let openQuote: string | undefined;
  const pathWith = (levels: readonly Level[], key: string | undefined) => {
    const segs = levels.map((l) => l.seg).filter((s): s is string | number => s !== undefined);
    return formatPath(key === undefined ? segs : [...segs, key]);
  };
  for (let i = 0; i < Math.min(lines.length, lastLine - firstLine + 1); i++) {
    const text = lines[i]!;
    const line = firstLine + i;
    const lead = /^[ \t]*/.exec(text)![0];
    const content = text.slice(lead.length);
    if (content === '' || content.startsWith('#')) continue;
    if (blockOwner !== undefined) {
      if (lead.length > blockOwner) continue;
      blockOwner = undefined;
    }
    if (openQuote !== undefined || flowDepth > 0) {
      const flow = scanFlow(openQuote === undefined ? content.replace(/(^|\s)#.*$/, '') : content, openQuote);
      flowDepth = Math.max(0, flowDepth + flow.depth);
      openQuote = flow.quote;
      continue;
    }
    if (lead.length === 0 && /^(---|\.\.\.|%)/.test(content)) continue;
    const shape = shapeOf(content, lead.length);
    const ownKey = shape.parts.find((p) => p.key !== undefined)?.key;
    if (lead.includes('\t')) {
      // Read as the sibling of the line above, where the admin most likely meant it.
      out.push({ line, col: lead.indexOf('\t') + 1, path: pathWith(stack.slice(0, -1), ownKey), kind: 'tab' });
      prev = shape;
      continue;
    }
    const indent = lead.length;
    const top = stack[stack.length - 1];
    if (!top || indent > top.indent) {
      if (!top || prev?.opens) stack.push({ indent, seg: undefined });
      else {
        out.push({ line, col: indent + 1, path: pathWith(stack.slice(0, -1), ownKey), kind: 'deeper',
          message: `this line is indented by ${spaces(indent)}, the line above by ${spaces(top.indent)}: fields of one mapping start at the same column, and YAML reads a deeper line as part of the value above` });
      }
    } else if (indent < top.indent) {
      const levels = [...new Set(stack.map((l) => l.indent))];
      while (stack.length > 0 && stack[stack.length - 1]!.indent > indent) stack.pop();
      if (stack[stack.length - 1]?.indent !== indent) {
        out.push({ line, col: indent + 1, path: pathWith(stack, ownKey), kind: 'between',
          message: `this line is indented by ${spaces(indent)}, which lines up with no line above it (${levels.join(' or ')} spaces): fields of one mapping start at the same column` });
        stack.push({ indent, seg: undefined });
      }
    }
    // A line without `key:` among lines with one (before or after it at its indent) lost its colon; YAML joins it to the next.
    if (shape.parts.length === 0 && !/^[[{]/.test(content) && (!prev?.opens || nextIsKeyAt(lines, i, indent))) {
      out.push({ line, col: indent + 1, path: pathWith(stack.slice(0, -1), undefined), kind: 'no-colon',
        message: 'this line is not a "field: value" pair: a colon and a space are missing after the field name' });
    }
    // This line's own segments: each `- ` item counts at its column, the key at its own, nested levels opened on the way.
    const level = stack[stack.length - 1]!;
    shape.parts.forEach((part, n) => {
      const target = n === 0 ? level : stack[stack.length - 1]!.indent === part.col ? stack[stack.length - 1]! : (stack.push({ indent: part.col, seg: undefined }), stack[stack.length - 1]!);
      if (part.key !== undefined) target.seg = part.key;
      else target.seg = typeof target.seg === 'number' ? target.seg + 1 : 0;
    });
    if (shape.block) blockOwner = shape.parts[shape.parts.length - 1]?.col ?? indent;
    flowDepth = shape.flowDepth;
    openQuote = shape.openQuote;
    prev = shape;
  }
  return out;
}

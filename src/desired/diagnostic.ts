// The one shape every finding takes (schema, cross-reference, hostile input, verify) and its printers.
export type Severity = 'error' | 'warning';

export interface Diagnostic {
  /** File path relative to the desired-state root, or '' when not tied to a file. */
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Field path inside the document, e.g. `spec.groups[1]`. Empty for the document itself. */
  readonly path: string;
  readonly code: string;
  readonly message: string;
  readonly severity: Severity;
}

/** Formats a path of keys and indexes the way every message prints it: `spec.members[2].name`. */
export function formatPath(segments: ReadonlyArray<string | number>): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${quoteText(seg, Infinity)}]`;
  }
  return out;
}

// C0, DEL, C1 (U+009B is a terminal's CSI), the Unicode line and paragraph separators.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * A file name as text output prints it: bare when it is plainly printable, else double-quoted with `"`, `\` and every
 * control character escaped, so a name cannot forge an output line or send escape sequences to the terminal.
 */
export function quoteFileName(name: string): string {
  if (!/[\s"\\:]/u.test(name) && !new RegExp(UNPRINTABLE.source).test(name)) return name;
  const escaped = name.replace(/["\\]/g, '\\$&').replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `"${escaped}"`;
}

/**
 * A name (field, key, kind) as a message quotes it: a JSON string literal, with C1 controls and Unicode line separators escaped too
 * (JSON.stringify leaves them raw), cut at 64 characters.
 */
export function quoteText(text: string, max = 64): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text).replace(/[\u007f-\u009f\u2028\u2029]/g, escapeChar);
}

const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Last line of defence of the printers: a message or path never carries a raw control character to a terminal or log. */
const printable = (text: string) => text.replace(UNPRINTABLE, escapeChar);

/** `users/jdupont.yaml:12:5 spec.groups[1]: group "rh" is not defined [ref-missing]` */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${quoteFileName(d.file)}:${d.line}:${d.col}` : '(desired state)';
  const path = d.path ? ` ${printable(d.path)}` : '';
  const sev = d.severity === 'warning' ? 'warning: ' : '';
  return `${where}${path}: ${sev}${printable(d.message)} [${printable(d.code)}]`;
}

/** GitHub workflow command annotation for one diagnostic. */
export function formatGithubAnnotation(d: Diagnostic, root = ''): string {
  const esc = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const escProp = (s: string) => esc(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
  const level = d.severity === 'warning' ? 'warning' : 'error';
  const file = root && d.file ? `${root.replace(/\/$/, '')}/${d.file}` : d.file;
  const props = d.file ? `file=${escProp(file)},line=${d.line},col=${d.col},title=${escProp(d.code)}` : `title=${escProp(d.code)}`;
  const path = d.path ? `${d.path}: ` : '';
  return `::${level} ${props}::${printable(esc(path + d.message))}`;
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.code.localeCompare(b.code);
}

// C-string semantics the Asterisk code relies on (ASCII-only strcasecmp, ast_strip, ast_strsep, ast_true, sscanf %d).
//
// All strings handled by the emulator are "binary" strings: one JS char per byte (latin1), so bytes such as a
// bare CR or UTF-8 sequences survive the wire, the config files and the responses unchanged.

/** ASCII-only lower-casing, like tolower() in the C locale (bytes >= 0x80 are left alone). */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** strcasecmp(a, b) == 0 */
export function strcaseeq(a: string, b: string): boolean {
  return a.length === b.length && asciiLower(a) === asciiLower(b);
}

/** isspace() in the C locale */
export function isCSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\v' || ch === '\f' || ch === '\r';
}

/** ast_strip(): trim leading and trailing isspace() characters. */
export function astStrip(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isCSpace(s[start])) start++;
  while (end > start && isCSpace(s[end - 1])) end--;
  return s.slice(start, end);
}

/** ast_skip_blanks(): skip every leading byte below 33 (space, tab, CR, other control bytes). */
export function astSkipBlanks(s: string): string {
  let i = 0;
  while (i < s.length && s.charCodeAt(i) < 33) i++;
  return s.slice(i);
}

/** ast_true(): yes/true/y/t/1/on, case-insensitive. */
export function astTrue(s: string | null | undefined): boolean {
  if (!s) return false;
  const v = asciiLower(s);
  return v === 'yes' || v === 'true' || v === 'y' || v === 't' || v === '1' || v === 'on';
}

/** ast_false(): no/false/n/f/0/off, case-insensitive. */
export function astFalse(s: string | null | undefined): boolean {
  if (!s) return false;
  const v = asciiLower(s);
  return v === 'no' || v === 'false' || v === 'n' || v === 'f' || v === '0' || v === 'off';
}

/** sscanf(s, "%30d"): leading isspace skipped, optional sign, at least one digit; null when nothing matched. */
export function scanInt(s: string): number | null {
  const m = /^[ \t\n\v\f\r]*([+-]?\d{1,29})/.exec(s);
  if (!m || m[1] === undefined) return null;
  const n = Number.parseInt(m[1], 10);
  return Number.isFinite(n) ? n | 0 : null;
}

/** ast_strip_quoted(s, "'\"", "'\""): trim, then drop one pair of matching surrounding quotes. */
export function astStripQuoted(s: string): string {
  let r = astStrip(s);
  const q = r[0];
  if (q === '"' || q === "'") {
    if (r[r.length - 1] === q) {
      // For a single quote character the start and end coincide: the result is empty.
      r = r.length === 1 ? '' : r.slice(1, -1);
    }
  }
  return r;
}

/** Cursor over a string being split by astStrsep(); `rest === null` is the C NULL pointer. */
export interface StrsepCursor {
  rest: string | null;
}

/**
 * ast_strsep(&cursor, sep, AST_STRSEP_STRIP): quote-aware split (separators inside '..' or "..", nested, are
 * ignored; a backslash protects the next character), then trim and strip one pair of quotes.
 * Returns null when the cursor is exhausted (C NULL); an empty string is a real (empty) token.
 */
export function astStrsep(cursor: StrsepCursor, sep: string, strip = true): string | null {
  const st = cursor.rest;
  if (st === null) return null;
  if (st === '') {
    cursor.rest = null;
    return st;
  }
  const stack: string[] = [''];
  let inquote = 0;
  let found = -1;
  for (let i = 0; i < st.length; i++) {
    if (st[i] === '\\') {
      i++;
      if (i >= st.length) break;
      i++;
      if (i >= st.length) break;
    }
    const c = st[i];
    if (c === "'" || c === '"') {
      if (c === stack[inquote]) {
        stack[inquote] = '';
        inquote--;
      } else {
        inquote++;
        if (inquote >= 8) return null;
        stack[inquote] = c;
      }
    }
    if (c === sep && inquote === 0) {
      found = i;
      break;
    }
  }
  let token: string;
  if (found >= 0) {
    token = st.slice(0, found);
    cursor.rest = st.slice(found + 1);
  } else {
    token = st;
    cursor.rest = null;
  }
  return strip ? astStripQuoted(token) : token;
}

/** Convert a binary (latin1) string to the UTF-8 text it encodes, for the public, test-facing API. */
export function binaryToUtf8(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

/** Convert UTF-8 text to the binary (latin1) representation used internally. */
export function utf8ToBinary(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

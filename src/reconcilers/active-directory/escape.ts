// Pure: LDAP string escaping — DN attribute values (RFC 4514), filter assertion values (RFC 4515), DN parsing and comparison.

/** One attribute type/value pair of an RDN, value unescaped. */
export interface Ava {
  readonly type: string;
  readonly value: string;
}
/** An RDN: usually one AVA, several when joined by `+`. */
export type Rdn = readonly Ava[];

const DN_SPECIALS = new Set(['"', '+', ',', ';', '<', '>', '\\', '=']);

/**
 * Escapes a string for use as an RDN attribute value (RFC 4514 section 2.4). Besides the characters the RFC
 * requires, `=` is escaped (allowed by the grammar, and it keeps naive splitters honest), and control characters
 * are hex-escaped so a DN never carries a raw NUL or newline.
 */
export function escapeDnValue(value: string): string {
  let out = '';
  const chars = [...value];
  chars.forEach((ch, i) => {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).padStart(2, '0')}`;
    else if (DN_SPECIALS.has(ch)) out += `\\${ch}`;
    else if (i === 0 && (ch === ' ' || ch === '#')) out += `\\${ch}`;
    else if (i === chars.length - 1 && ch === ' ') out += '\\ ';
    else out += ch;
  });
  return out;
}

/**
 * Escapes a string for use as an assertion value inside a filter (RFC 4515 section 3): `*`, `(`, `)`, `\` and NUL
 * become `\2a`, `\28`, `\29`, `\5c`, `\00`. Other characters, UTF-8 included, are legal as they are.
 */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case '*': out += '\\2a'; break;
      case '(': out += '\\28'; break;
      case ')': out += '\\29'; break;
      case '\\': out += '\\5c'; break;
      case '\0': out += '\\00'; break;
      default: out += ch;
    }
  }
  return out;
}

/** `(attr=value)` with the value escaped. */
export function equalityFilter(attribute: string, value: string): string {
  return `(${attribute}=${escapeFilterValue(value)})`;
}

const isHex = (c: string | undefined) => c !== undefined && /^[0-9A-Fa-f]$/.test(c);

/**
 * Parses a DN string (RFC 4514, tolerating the spaces after separators that RFC 2253 writers emit) into RDNs with
 * unescaped values. Hex escapes are collected as bytes so multi-byte UTF-8 sequences (`\c3\a9`) decode correctly.
 */
export function parseDn(dn: string): Rdn[] {
  const rdns: Rdn[] = [];
  if (dn.trim() === '') return rdns;
  let avas: Ava[] = [];
  let i = 0;
  const n = dn.length;
  while (i < n) {
    while (i < n && dn[i] === ' ') i++;
    const eq = dn.indexOf('=', i);
    if (eq < 0) throw new SyntaxError(`invalid DN: missing "=" after position ${i}`);
    const type = dn.slice(i, eq).trim();
    if (!/^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)*)$/.test(type)) throw new SyntaxError(`invalid DN: bad attribute type "${type}"`);
    i = eq + 1;
    const bytes: number[] = [];
    // Length of `bytes` up to the last escaped character: unescaped trailing spaces beyond it are dropped.
    let keep = 0;
    let separator = '';
    while (i < n) {
      const ch = dn[i] as string;
      if (ch === '\\') {
        const a = dn[i + 1];
        const b = dn[i + 2];
        if (isHex(a) && isHex(b)) {
          bytes.push(Number.parseInt(`${a}${b}`, 16));
          i += 3;
        } else if (a !== undefined) {
          const cp = dn.codePointAt(i + 1) ?? 0;
          const s = String.fromCodePoint(cp);
          bytes.push(...Buffer.from(s, 'utf8'));
          i += 1 + s.length;
        } else {
          throw new SyntaxError('invalid DN: dangling "\\" at the end');
        }
        keep = bytes.length;
        continue;
      }
      if (ch === ',' || ch === '+' || ch === ';') {
        separator = ch;
        i++;
        break;
      }
      const cp = dn.codePointAt(i) ?? 0;
      const s = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(s, 'utf8'));
      if (ch !== ' ') keep = bytes.length;
      i += s.length;
    }
    avas.push({ type, value: Buffer.from(bytes.slice(0, keep)).toString('utf8') });
    if (separator !== '+') {
      rdns.push(avas);
      avas = [];
    }
    if (separator !== '' && i >= n) throw new SyntaxError('invalid DN: ends with a separator');
  }
  if (avas.length > 0) rdns.push(avas);
  return rdns;
}

/** Formats RDNs back into a DN string, escaping each value. */
export function formatDn(rdns: readonly Rdn[]): string {
  return rdns.map((rdn) => rdn.map((ava) => `${ava.type}=${escapeDnValue(ava.value)}`).join('+')).join(',');
}

/**
 * A canonical form for comparing DNs the way AD does: attribute types and values case-insensitive, escaping
 * style irrelevant (Samba writes `\3B` where we write `\;`), multi-valued RDNs in sorted order.
 */
export function normalizeDn(dn: string): string {
  return normalizedRdns(dn).join(',');
}

function normalizedRdns(dn: string): string[] {
  return parseDn(dn).map((rdn) =>
    rdn
      .map((ava) => `${ava.type.toLowerCase()}=${escapeDnValue(ava.value.toLowerCase())}`)
      .sort()
      .join('+'),
  );
}

/** True when `dn` equals `ancestor` or lies below it (compared RDN by RDN, so an escaped `,` cannot fool it). */
export function isDnWithin(dn: string, ancestor: string): boolean {
  const d = normalizedRdns(dn);
  const a = normalizedRdns(ancestor);
  if (a.length > d.length) return false;
  const offset = d.length - a.length;
  return a.every((rdn, i) => d[offset + i] === rdn);
}

/** The value of the first AVA of the first RDN (the CN of `CN=x,OU=y`). */
export function firstRdnValue(dn: string): string | undefined {
  return parseDn(dn)[0]?.[0]?.value;
}

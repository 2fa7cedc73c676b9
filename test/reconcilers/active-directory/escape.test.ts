// Unit: RFC 4514 DN and RFC 4515 filter escaping round-trip hostile values; DN comparison ignores escaping style and case.
import { FilterParser, EqualityFilter, SubstringFilter } from 'ldapts';
import { describe, expect, it } from 'vitest';
import {
  equalityFilter,
  escapeDnValue,
  escapeFilterValue,
  firstRdnValue,
  formatDn,
  isDnWithin,
  normalizeDn,
  parseDn,
} from '../../../src/reconcilers/active-directory/escape.ts';

const HOSTILE = [
  'plain',
  'Dupont, Jean',
  'a+b',
  'say "hi"',
  'back\\slash',
  '<tag>',
  'semi;colon',
  'x=y',
  '#hash first',
  'mid#hash',
  ' leading space',
  'trailing space ',
  '  both  ',
  'star*',
  '(paren)',
  'nul\0byte',
  'Élodie Ñúñez 日本',
  '*)(objectClass=*)(|(cn=*',
  ',+"\\<>;=#*()\0',
  '\\2a',
  ' ',
  '#',
];

describe('escapeDnValue', () => {
  it.each([
    ['Dupont, Jean', 'Dupont\\, Jean'],
    ['a+b', 'a\\+b'],
    ['say "hi"', 'say \\"hi\\"'],
    ['back\\slash', 'back\\\\slash'],
    ['<x>;y=z', '\\<x\\>\\;y\\=z'],
    ['#first', '\\#first'],
    ['mid#', 'mid#'],
    [' lead', '\\ lead'],
    ['trail ', 'trail\\ '],
    ['nul\0', 'nul\\00'],
    ['line\nfeed', 'line\\0afeed'],
    ['Élodie', 'Élodie'],
  ])('escapes %j as %j', (value, escaped) => {
    expect(escapeDnValue(value)).toBe(escaped);
  });

  it.each(HOSTILE)('round-trips %j through formatDn/parseDn', (value) => {
    const dn = formatDn([[{ type: 'CN', value }], [{ type: 'OU', value: `ou ${value}` }], [{ type: 'DC', value: 'test' }]]);
    const back = parseDn(dn);
    expect(back).toHaveLength(3);
    expect(back[0]).toEqual([{ type: 'CN', value }]);
    expect(back[1]).toEqual([{ type: 'OU', value: `ou ${value}` }]);
    expect(firstRdnValue(dn)).toBe(value);
  });
});

describe('parseDn', () => {
  it('reads the hex escapes Samba writes, including multi-byte UTF-8', () => {
    expect(parseDn('OU=\\ \\#a\\,b\\+c\\"d\\\\e\\<f\\>g\\3Bh\\3Di,DC=x')[0]).toEqual([{ type: 'OU', value: ' #a,b+c"d\\e<f>g;h=i' }]);
    expect(parseDn('CN=\\c3\\89lodie,DC=x')[0]).toEqual([{ type: 'CN', value: 'Élodie' }]);
  });

  it('splits multi-valued RDNs and tolerates spaces after separators', () => {
    expect(parseDn('CN=a+UID=b, OU=c ,DC=d')).toEqual([
      [{ type: 'CN', value: 'a' }, { type: 'UID', value: 'b' }],
      [{ type: 'OU', value: 'c' }],
      [{ type: 'DC', value: 'd' }],
    ]);
  });

  it('keeps escaped trailing spaces and drops unescaped ones', () => {
    expect(parseDn('CN=a\\ ,DC=x')[0]).toEqual([{ type: 'CN', value: 'a ' }]);
    expect(parseDn('CN=a  ,DC=x')[0]).toEqual([{ type: 'CN', value: 'a' }]);
  });

  it.each(['CN', 'CN=a,', '=a', 'C N=a', 'CN=a\\'])('rejects the malformed DN %j', (dn) => {
    expect(() => parseDn(dn)).toThrow(SyntaxError);
  });
});

describe('normalizeDn / isDnWithin', () => {
  it('treats escaping style and case as irrelevant', () => {
    expect(normalizeDn('OU=a\\3Bb,DC=X')).toBe(normalizeDn('ou=A\\;B,dc=x'));
    expect(normalizeDn('CN=\\#x,DC=y')).toBe(normalizeDn('cn=\\23X, DC=Y'));
  });

  it('compares RDN by RDN so an escaped comma cannot fake an ancestor', () => {
    expect(isDnWithin('CN=u,OU=infrasec,DC=x', 'OU=infrasec,DC=x')).toBe(true);
    expect(isDnWithin('OU=infrasec,DC=x', 'OU=infrasec,DC=x')).toBe(true);
    expect(isDnWithin('CN=a\\,OU=infrasec,DC=x', 'OU=infrasec,DC=x')).toBe(false);
    expect(isDnWithin('DC=x', 'OU=infrasec,DC=x')).toBe(false);
  });
});

describe('escapeFilterValue', () => {
  it.each([
    ['a*b', 'a\\2ab'],
    ['(x)', '\\28x\\29'],
    ['back\\', 'back\\5c'],
    ['nul\0', 'nul\\00'],
    ['Élodie', 'Élodie'],
    [',+"<>;=#', ',+"<>;=#'],
  ])('escapes %j as %j', (value, escaped) => {
    expect(escapeFilterValue(value)).toBe(escaped);
  });

  it.each(HOSTILE.filter((v) => /^[\x00-\x7f]*$/.test(v)))('round-trips %j through an LDAP filter parser as one equality match', (value) => {
    const f = FilterParser.parseString(`(&(objectClass=user)${equalityFilter('sAMAccountName', value)})`);
    const eq = (f as unknown as { filters: unknown[] }).filters[1];
    expect(eq).toBeInstanceOf(EqualityFilter);
    expect((eq as EqualityFilter).value).toBe(value);
    expect(eq).not.toBeInstanceOf(SubstringFilter);
  });
});

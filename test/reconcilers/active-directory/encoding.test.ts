// Unit: AD value encodings — FILETIME for accountExpires, userAccountControl's disable bit, groupType, unicodePwd.
import { describe, expect, it } from 'vitest';
import {
  accountExpiresToFiletime,
  decodeGroupType,
  encodeGroupType,
  encodeUnicodePwd,
  FILETIME_NEVER,
  formatFiletime,
  groupTypeSteps,
  normalizeFiletime,
  withAccountDisabled,
} from '../../../src/reconcilers/active-directory/encoding.ts';

const ticks = (ms: number) => ((BigInt(ms) + 11_644_473_600_000n) * 10_000n).toString();

describe('accountExpires', () => {
  it('makes a date-only expiry last through that day (00:00 UTC the day after)', () => {
    expect(accountExpiresToFiletime('2026-12-31')).toBe(ticks(Date.UTC(2027, 0, 1)));
  });
  it('takes a date-time as the instant it names', () => {
    expect(accountExpiresToFiletime('2026-06-01T18:00:00+02:00')).toBe(ticks(Date.UTC(2026, 5, 1, 16)));
  });
  it('rejects what is not a date', () => {
    expect(() => accountExpiresToFiletime('next tuesday')).toThrow(RangeError);
  });
  it('reads 0 and the maximum value as never', () => {
    expect(normalizeFiletime('0')).toBeUndefined();
    expect(normalizeFiletime(FILETIME_NEVER)).toBeUndefined();
    expect(normalizeFiletime('133000000000000000')).toBe('133000000000000000');
  });
  it('prints a midnight expiry back in the spec date form, others as ISO', () => {
    expect(formatFiletime(accountExpiresToFiletime('2026-12-31'))).toBe('2026-12-31');
    expect(formatFiletime(ticks(Date.UTC(2026, 5, 1, 16)))).toBe('2026-06-01T16:00:00.000Z');
    expect(formatFiletime(undefined)).toBeNull();
  });
});

describe('userAccountControl', () => {
  it('sets and clears only the disable bit', () => {
    expect(withAccountDisabled(512, true)).toBe(514);
    expect(withAccountDisabled(66048, true)).toBe(66050);
    expect(withAccountDisabled(66050, false)).toBe(66048);
  });
});

describe('groupType', () => {
  it.each([
    ['global', 'security', '-2147483646'],
    ['domainLocal', 'security', '-2147483644'],
    ['universal', 'security', '-2147483640'],
    ['global', 'distribution', '2'],
    ['universal', 'distribution', '8'],
  ] as const)('encodes %s %s as %s and decodes it back', (scope, type, value) => {
    expect(encodeGroupType(scope, type)).toBe(value);
    expect(decodeGroupType(Number(value))).toEqual({ scope, type });
  });
  it('goes through universal between global and domainLocal, which AD refuses directly', () => {
    expect(groupTypeSteps('global', 'domainLocal', 'security')).toEqual(['-2147483640', '-2147483644']);
    expect(groupTypeSteps('domainLocal', 'global', 'distribution')).toEqual(['8', '2']);
    expect(groupTypeSteps('global', 'universal', 'security')).toEqual(['-2147483640']);
  });
});

describe('unicodePwd', () => {
  it('is the quoted password in UTF-16LE', () => {
    expect(encodeUnicodePwd('Pa$s')).toEqual(Buffer.from([0x22, 0, 0x50, 0, 0x61, 0, 0x24, 0, 0x73, 0, 0x22, 0]));
  });
});

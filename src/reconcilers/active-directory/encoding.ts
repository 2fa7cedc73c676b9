// Pure: how AD encodes the values infrasec manages — FILETIME dates, userAccountControl bits, groupType, unicodePwd.
import type { GroupSpec } from '../../desired/model.ts';

/** accountExpires value AD writes for "never" (0 means never too). */
export const FILETIME_NEVER = '9223372036854775807';
/** Milliseconds between 1601-01-01 (FILETIME epoch) and 1970-01-01. */
const EPOCH_OFFSET_MS = 11_644_473_600_000n;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Converts the spec's accountExpires into FILETIME ticks (100 ns since 1601, UTC). A date alone means "the account
 * works through that day": it expires at 00:00 UTC the next day, as ADUC's "End of" date does (there in local time;
 * UTC here so the value is the same on every controller).
 */
export function accountExpiresToFiletime(spec: string): string {
  const m = DATE_ONLY.exec(spec);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1) : Date.parse(spec);
  if (!Number.isFinite(ms)) throw new RangeError(`accountExpires "${spec}" is not an ISO date or date-time`);
  return ((BigInt(ms) + EPOCH_OFFSET_MS) * 10_000n).toString();
}

/** Live accountExpires → ticks, or undefined for "never" (0 or the maximum value). */
export function normalizeFiletime(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '' || raw === '0' || raw === FILETIME_NEVER) return undefined;
  return raw;
}

/** For display: a midnight-UTC expiry prints as the spec's date-only form (the day before), otherwise ISO. */
export function formatFiletime(ticks: string | undefined): string | null {
  if (ticks === undefined) return null;
  const ms = BigInt(ticks) / 10_000n - EPOCH_OFFSET_MS;
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return ticks;
  if (d.getUTCHours() === 0 && d.getUTCMinutes() === 0 && d.getUTCSeconds() === 0 && d.getUTCMilliseconds() === 0) {
    return new Date(d.getTime() - 86_400_000).toISOString().slice(0, 10);
  }
  return d.toISOString();
}

export const UAC_ACCOUNTDISABLE = 0x2;
export const UAC_NORMAL_ACCOUNT = 0x200;

export function withAccountDisabled(uac: number, disabled: boolean): number {
  return disabled ? uac | UAC_ACCOUNTDISABLE : uac & ~UAC_ACCOUNTDISABLE;
}

const GROUP_SCOPE_BITS = { global: 0x2, domainLocal: 0x4, universal: 0x8 } as const;
const GROUP_SECURITY = 0x80000000;

export type GroupScope = GroupSpec['scope'];
export type GroupType = GroupSpec['type'];

/** groupType as AD stores it: a signed 32-bit integer, so security groups are negative. */
export function encodeGroupType(scope: GroupScope, type: GroupType): string {
  return String((GROUP_SCOPE_BITS[scope] | (type === 'security' ? GROUP_SECURITY : 0)) | 0);
}

/** Scope is undefined for builtin-local groups (bit 0x1), which infrasec never creates. */
export function decodeGroupType(raw: number): { scope: GroupScope | undefined; type: GroupType } {
  const bits = raw >>> 0;
  const scope = bits & 0x2 ? 'global' : bits & 0x4 ? 'domainLocal' : bits & 0x8 ? 'universal' : undefined;
  return { scope, type: bits & GROUP_SECURITY ? 'security' : 'distribution' };
}

/**
 * AD refuses a direct global ↔ domainLocal scope change; both go through universal. Returns the groupType values
 * to write in order (one or two).
 */
export function groupTypeSteps(from: GroupScope | undefined, to: GroupScope, type: GroupType): string[] {
  const direct = encodeGroupType(to, type);
  if ((from === 'global' && to === 'domainLocal') || (from === 'domainLocal' && to === 'global')) {
    return [encodeGroupType('universal', type), direct];
  }
  return [direct];
}

/** unicodePwd wants the password in double quotes, UTF-16LE. Only sent over LDAPS. */
export function encodeUnicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

// AMI permission/event classes: bit values, manager.conf read=/write= parsing, event masks, "Privilege:" strings.
import { astFalse, astTrue } from './c-strings.js';

export const EVENT_FLAG = {
  system: 1 << 0,
  call: 1 << 1,
  log: 1 << 2,
  verbose: 1 << 3,
  command: 1 << 4,
  agent: 1 << 5,
  user: 1 << 6,
  config: 1 << 7,
  dtmf: 1 << 8,
  reporting: 1 << 9,
  cdr: 1 << 10,
  dialplan: 1 << 11,
  originate: 1 << 12,
  agi: 1 << 13,
  cc: 1 << 15,
  aoc: 1 << 16,
  test: 1 << 17,
  security: 1 << 18,
  message: 1 << 19,
} as const;

export type EventClass = keyof typeof EVENT_FLAG;

const INT_MAX = 0x7fffffff;

/** The perms[] table of manager.c, in order (the trailing "none" entry is never printed). */
const PERMS: Array<[number, string]> = [
  ...Object.entries(EVENT_FLAG).map(([label, num]) => [num, label] as [number, string]),
  [INT_MAX, 'all'],
  [0, 'none'],
];

/** get_perm(): OR of every label present (exact, case-sensitive) in a comma-separated list. */
export function getPerm(list: string): number {
  const items = list.split(',');
  let ret = 0;
  for (const [num, label] of PERMS) if (items.includes(label)) ret |= num;
  return ret;
}

/** strings_to_mask(): digits → number, false-ish → 0, true-ish → everything, else a class list; -1 if empty. */
export function stringsToMask(s: string): number {
  if (!s) return -1;
  if (/^[0-9]+$/.test(s)) return Number.parseInt(s, 10) | 0;
  if (astFalse(s)) return 0;
  if (astTrue(s)) {
    let ret = 0;
    for (const [num] of PERMS) ret |= num;
    return ret;
  }
  return getPerm(s);
}

/** authority_to_str(): e.g. EVENT_FLAG.system → "system,all". */
export function authorityToStr(authority: number): string {
  const parts: string[] = [];
  for (const [num, label] of PERMS.slice(0, -1)) if (authority & num) parts.push(label);
  return parts.length ? parts.join(',') : '<none>';
}

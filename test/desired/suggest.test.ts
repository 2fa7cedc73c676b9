import { describe, expect, it } from 'vitest';
import { didYouMean, maxEdits, Suggester } from '../../src/desired/suggest.ts';

const KINDS = ['User', 'Group', 'Extension', 'Conference', 'VpnProfile', 'FirewallAlias', 'FirewallRule', 'PortForward', 'MailDomain', 'MailAlias'];

describe('Suggester.closest', () => {
  it.each([
    ['a kind with a letter missing', 'Usr', KINDS, 'User'],
    ['a kind in the wrong case', 'group', KINDS, 'Group'],
    ['two letters swapped', 'givenNmae', ['givenName', 'surname', 'displayName'], 'givenName'],
    ['a plural dropped', 'cod-operateur', ['cod-direction', 'cod-operateurs', 'cod-terrain'], 'cod-operateurs'],
    ['the nearer of two near names', 'FirewallRul', KINDS, 'FirewallRule'],
  ])('finds %s', (_what, word, candidates, expected) => {
    expect(new Suggester().closest(word, candidates)).toBe(expected);
  });

  it.each([
    ['a word far from every name', 'Printer', KINDS],
    ['a short word two edits away', 'Usre', ['Group', 'Uxxr']],
    ['no candidates', 'User', []],
  ])('suggests nothing for %s', (_what, word, candidates) => {
    expect(new Suggester().closest(word, candidates)).toBeUndefined();
  });

  it('suggests nothing when the word is itself a candidate, even after a near one', () => {
    expect(new Suggester().closest('ext-201', ['ext-200', 'ext-201'])).toBeUndefined();
  });

  it('keeps the earlier of two candidates at the same distance', () => {
    expect(new Suggester().closest('ab', ['ax', 'ay'])).toBe('ax');
  });

  it('stops suggesting once its budget of comparisons is spent, and says so by suggesting nothing', () => {
    const suggester = new Suggester(3);
    expect(suggester.closest('Usr', ['Group', 'User'])).toBe('User');
    expect(suggester.closest('Usr', ['User'])).toBe('User');
    expect(suggester.closest('Usr', ['User'])).toBeUndefined();
  });

  it('allows one edit up to five characters, then one per three', () => {
    expect([1, 5, 6, 9, 13, 30].map(maxEdits)).toEqual([1, 1, 2, 3, 4, 10]);
  });
});

describe('didYouMean', () => {
  it('is a quoted suggestion, or nothing', () => {
    expect(didYouMean('User')).toBe('; did you mean "User"?');
    expect(didYouMean(undefined)).toBe('');
  });
});

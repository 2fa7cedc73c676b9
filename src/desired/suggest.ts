// Pure: "did you mean" — the closest of a list of known names to a misspelt one, by edit distance (leven), within a budget.
import leven from 'leven';

/** Edits allowed for a word of this length: 1 up to 5 characters, then one per three (`Usr` → `User`, `givenNmae` → `givenName`). */
export const maxEdits = (length: number): number => Math.max(1, Math.floor(length / 3));

/**
 * Finds the closest of many names to the ones a state gets wrong. Comparisons are counted: a state with thousands of
 * unknown names among thousands of known ones stops suggesting past `budget` comparisons instead of taking quadratic time
 * (about half a microsecond each: the default bounds the cost near 0.1 s, and still covers 100 unknown names among 2,000).
 */
export class Suggester {
  private left: number;

  constructor(budget = 200_000) {
    this.left = budget;
  }

  /**
   * The candidate nearest to `word` within maxEdits(word.length), case-insensitively (`Givenname` finds `givenName`);
   * on a tie the earlier candidate. Undefined when none is close enough, `word` is itself a candidate, or the budget is spent.
   */
  closest(word: string, candidates: Iterable<string>): string | undefined {
    const wanted = word.toLowerCase();
    const limit = maxEdits(word.length);
    let best: string | undefined;
    let bestDistance = limit + 1;
    for (const candidate of candidates) {
      if (candidate === word) return undefined;
      if (this.left <= 0) return undefined;
      this.left--;
      if (Math.abs(candidate.length - word.length) >= bestDistance) continue;
      const d = leven(wanted, candidate.toLowerCase(), { maxDistance: bestDistance });
      if (d < bestDistance) {
        best = candidate;
        bestDistance = d;
      }
    }
    return best;
  }
}

/** `; did you mean "x"?` or nothing: the tail every message with a suggestion ends with. */
export const didYouMean = (suggestion: string | undefined): string => (suggestion === undefined ? '' : `; did you mean ${JSON.stringify(suggestion)}?`);

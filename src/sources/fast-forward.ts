// Pure: whether a new Git head may replace the desired revision — only a fast-forward, unless the admin named the exact move.

/** How a new head relates to the revision the controller last adopted. */
export type Lineage =
  /** The head is the adopted commit itself. */
  | 'same'
  /** The adopted commit is an ancestor of the head: a fast-forward. */
  | 'descends'
  /** The head is an ancestor of the adopted commit: history was rewound (a force-push of an older commit). */
  | 'rewind'
  /** Neither descends from the other: a jump to another branch or a rewritten history. */
  | 'sideways'
  /** The adopted commit is not in the local clone (new clone, changed URL): descent cannot be proven. */
  | 'unknown';

export interface FastForwardSettings {
  /** `controller.git.allowNonFastForward`: every move is accepted (each one still audited). */
  readonly allowNonFastForward: boolean;
  /** `controller.git.acceptNonFastForward`: one exact move, `<adopted commit>..<new head>`, full hashes. */
  readonly acceptNonFastForward?: string;
  /** The configured ref is a full commit hash: the admin chose that exact commit in the configuration. */
  readonly pinnedCommit?: string;
}

export type FastForwardVerdict =
  | { readonly verdict: 'accept' }
  /** Not a fast-forward, accepted because the admin said so; `reason` is what the audit trail records. */
  | { readonly verdict: 'override'; readonly reason: string }
  | { readonly verdict: 'refuse'; readonly reason: string };

export const ACCEPT_MOVE_PATTERN = /^[0-9a-f]{40}\.\.[0-9a-f]{40}$/;

const WHAT: Record<Exclude<Lineage, 'same' | 'descends'>, string> = {
  rewind: 'a rewind: it is an older commit of the applied history',
  sideways: 'a jump sideways: it is not on the applied history',
  unknown: 'the applied commit is not in the local clone, so descent cannot be proven',
};

/** Decides whether `head` may replace `adopted` given how they relate and what the admin allowed. */
export function fastForwardVerdict(lineage: Lineage, adopted: string, head: string, settings: FastForwardSettings): FastForwardVerdict {
  if (lineage === 'same' || lineage === 'descends') return { verdict: 'accept' };
  const move = `${adopted}..${head}`;
  const what = WHAT[lineage];
  if (settings.pinnedCommit === head) return { verdict: 'override', reason: `not a fast-forward from ${adopted} (${what}); accepted because controller.git.ref pins ${head}` };
  if (settings.acceptNonFastForward === move) return { verdict: 'override', reason: `not a fast-forward (${what}); accepted by controller.git.acceptNonFastForward=${move}` };
  if (settings.allowNonFastForward) return { verdict: 'override', reason: `not a fast-forward from ${adopted} (${what}); accepted because controller.git.allowNonFastForward is true` };
  return {
    verdict: 'refuse',
    reason: `head ${head} does not descend from the applied commit ${adopted} (${what}); ` +
      `to apply it anyway set controller.git.acceptNonFastForward (INFRASEC_GIT_ACCEPT_NON_FAST_FORWARD) to ${move}`,
  };
}

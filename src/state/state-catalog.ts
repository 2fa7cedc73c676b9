// The JSON files of the state directory and what a corrupt one means: irreplaceable ones are refused with recovery steps, derived ones are rebuilt.
import type { StateFileSpec } from './state-file.ts';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * controller-state.json: the revision adopted from the source (the anchor of the fast-forward check) and the revision
 * each system converged to (what makes a pass a drift pass). Irreplaceable: guessing it would accept a rollback.
 */
export const CONTROLLER_STATE_FILE: StateFileSpec = {
  check: (v) => {
    if (!isObject(v)) return 'not a JSON object';
    if (v['version'] !== 1) return `unknown version ${JSON.stringify(v['version'])}`;
    if (v['desiredRevision'] !== null && typeof v['desiredRevision'] !== 'string') return 'desiredRevision is not a string or null';
    if (!isObject(v['systems'])) return 'systems is not an object';
    for (const [name, s] of Object.entries(v['systems'])) {
      if (!isObject(s) || typeof s['appliedRevision'] !== 'string' || typeof s['appliedAt'] !== 'string') return `systems.${name} has no appliedRevision/appliedAt`;
    }
    return undefined;
  },
  recovery:
    'It records the commit adopted from Git (the fast-forward anchor) and the commit each system converged to. Stop the controller and restore it from a ' +
    'backup of the state directory; or, knowing the head of Git is the commit you want enforced, move it aside (mv it to a .bad name): the next start ' +
    'adopts whatever head the source offers, without the fast-forward check',
};

/** fingerprints.json: see state/fingerprints.ts (it checks its own digest). */
export const FINGERPRINTS_RECOVERY =
  'It records which passwords infrasec set (fingerprints of the Git ciphertexts, no secret). Stop the controller and restore it from a backup of the ' +
  'state directory; or move it aside (mv it to a .bad name): every owned account with a password in Git is then held, its own password kept, until ' +
  '`infrasec apply --reset-password User/NAME` (or policy.resetUnknownPasswords) sets the Git one again';

/** audit.head.json: see report/audit.ts. */
export const AUDIT_HEAD_RECOVERY =
  'It records the sequence number and hash of the last audit entry written, which is how entries cut from the end of audit.jsonl are detected. Restore ' +
  'audit.jsonl and audit.head.json together from a backup; or run `infrasec audit repair --acknowledge-gap` to record the mismatch as an audited event';

/** drift/report.json: derived from the passes (every drift pass recomputes it), so a corrupt one is set aside and rebuilt. */
export const DRIFT_REPORT_CHECK = (v: unknown): string | undefined => {
  if (!isObject(v)) return 'not a JSON object';
  if (typeof v['generatedAt'] !== 'string' || !isObject(v['systems']) || !Array.isArray(v['entries'])) return 'generatedAt, systems or entries missing';
  return undefined;
};

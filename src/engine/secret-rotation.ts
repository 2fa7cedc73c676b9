// Pure: notices a plan that would change the generated secrets of every object holding them at once, which a different generator key does.
import type { Change } from './types.ts';

/** Fewer objects than this changing their generated secrets together is an ordinary edit, not a key change. */
export const ROTATION_MIN_OBJECTS = 2;

/**
 * The refusal reason when the plan updates a sensitive field of every existing object whose secrets are all generated
 * (`generated`: their `Kind/name`), of each kind it touches, and of at least two. Created and adopted objects do not
 * count: their secrets are set for the first time.
 */
export function generatedSecretRotation(system: string, changes: readonly Change[], generated: ReadonlySet<string>): string | undefined {
  const created = new Set(changes.filter((c) => c.action === 'create').map((c) => `${c.kind}/${c.name}`));
  const rotated = new Set(
    changes
      .filter((c) => c.action === 'update' && !c.adopt && c.fields.some((f) => f.sensitive) && generated.has(`${c.kind}/${c.name}`))
      .map((c) => `${c.kind}/${c.name}`),
  );
  if (rotated.size < ROTATION_MIN_OBJECTS) return undefined;
  const kinds = new Set([...rotated].map((id) => id.slice(0, id.indexOf('/'))));
  const existing = [...generated].filter((id) => kinds.has(id.slice(0, id.indexOf('/'))) && !created.has(id));
  if (existing.some((id) => !rotated.has(id))) return undefined;
  return (
    `plan would change the generated secrets of all ${rotated.size} ${[...kinds].sort().join('/')} objects in ${system} at once, which is what a different ` +
    'generator key does (a new state directory, or a generator.key that is not the one that set them): every phone or account using them would have to be ' +
    'set up again. Point stateDir (INFRASEC_STATE_DIR) at the state directory used before, or restore its generator.key; to rotate them on purpose, ' +
    'run apply with --rotate-generated-secrets (the controller: policy.rotateGeneratedSecrets: true for this system)'
  );
}

import { describe, expect, it } from 'vitest';
import { guard } from '../../src/engine/guard.ts';
import { generatedSecretRotation } from '../../src/engine/secret-rotation.ts';
import { DEFAULT_POLICY, type Change, type Plan } from '../../src/engine/types.ts';

const change = (kind: string, name: string, action: Change['action'], sensitive: boolean, extra: Partial<Change> = {}): Change => ({
  system: 'pbx', kind, name, key: `${kind}/${name}`, action, prune: false, adopt: false, rank: 0, reason: 'test',
  fields: [{ path: sensitive ? 'spec.secret' : 'spec.callerIdName', before: '(sensitive)', after: '(sensitive)', sensitive }], ...extra,
});
const generated = new Set(['Extension/e1', 'Extension/e2', 'Extension/e3', 'Conference/c1']);

describe('generatedSecretRotation', () => {
  it.each([
    ['every extension and the conference change their secret', [change('Extension', 'e1', 'update', true), change('Extension', 'e2', 'update', true), change('Extension', 'e3', 'update', true), change('Conference', 'c1', 'update', true)], true],
    ['every extension changes (the conference is in sync, another kind)', [change('Extension', 'e1', 'update', true), change('Extension', 'e2', 'update', true), change('Extension', 'e3', 'update', true)], true],
    ['two of three extensions change: an edit, not a key', [change('Extension', 'e1', 'update', true), change('Extension', 'e2', 'update', true)], false],
    ['one object alone is never a rotation', [change('Conference', 'c1', 'update', true)], false],
    ['the third extension is being created: the two existing ones change', [change('Extension', 'e1', 'update', true), change('Extension', 'e2', 'update', true), change('Extension', 'e3', 'create', true)], true],
    ['updates of other fields are not secret changes', [change('Extension', 'e1', 'update', false), change('Extension', 'e2', 'update', false), change('Extension', 'e3', 'update', false)], false],
    ['adopted objects get their secret for the first time', [change('Extension', 'e1', 'update', true, { adopt: true }), change('Extension', 'e2', 'update', true, { adopt: true }), change('Extension', 'e3', 'update', true, { adopt: true })], false],
  ])('%s', (_name, changes, refused) => {
    const reason = generatedSecretRotation('pbx', changes, generated);
    expect(reason !== undefined).toBe(refused);
    if (refused) expect(reason).toMatch(/all \d+ .* objects in pbx at once.*different generator key.*INFRASEC_STATE_DIR.*--rotate-generated-secrets/);
  });

  it('ignores objects whose secrets are not all generated (an encrypted one changes with its ciphertext)', () => {
    const changes = [change('Extension', 'e1', 'update', true), change('Extension', 'e2', 'update', true), change('Extension', 'e3', 'update', true)];
    expect(generatedSecretRotation('pbx', changes, new Set(['Extension/e1']))).toBeUndefined();
  });
});

describe('guard on a rotation of every generated secret', () => {
  const plan: Plan = { system: 'pbx', changes: [change('Extension', 'e1', 'update', true), change('Extension', 'e2', 'update', true), change('Extension', 'e3', 'update', true)], conflicts: [], ownedCount: 3 };

  it('refuses it when told which objects hold generated secrets', () => {
    const g = guard(plan, DEFAULT_POLICY, { generatedSecrets: generated });
    expect(g.ok).toBe(false);
    expect(!g.ok && g.reasons[0]).toMatch(/generated secrets of all 3 Extension objects/);
  });

  it('lets it through with policy.rotateGeneratedSecrets', () => {
    expect(guard(plan, { ...DEFAULT_POLICY, rotateGeneratedSecrets: true }, { generatedSecrets: generated }).ok).toBe(true);
  });
});

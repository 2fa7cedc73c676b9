import { describe, expect, it } from 'vitest';
import { loadFromFiles } from '../../src/desired/load.ts';

describe('account names across kinds', () => {
  it('rejects a group named like a user, because AD account names are unique across both', () => {
    const text = [
      'apiVersion: infrasec/v1\nkind: User\nmetadata: {name: renfort}\nspec: {givenName: A, surname: B}',
      'apiVersion: infrasec/v1\nkind: Group\nmetadata: {name: renfort}\nspec: {description: x}',
    ].join('\n---\n');
    const r = loadFromFiles([{ file: 'g.yaml', bytes: Buffer.from(text) }]);
    expect(r.state).toBeUndefined();
    expect(r.diagnostics).toEqual([expect.objectContaining({ file: 'g.yaml', line: 8, path: 'metadata.name', code: 'account-name-collision' })]);
  });
});

import { describe, expect, it } from 'vitest';
import { readSchemaFiles } from '../../src/desired/schema-files.ts';
import { fieldsAt, isSensitiveAt } from '../../src/desired/schema-paths.ts';

const { schemas } = readSchemaFiles();

describe('fieldsAt', () => {
  it.each([
    ['the top of a document', 'User', [], ['apiVersion', 'kind', 'metadata', 'spec']],
    ['metadata, through its $ref to common.schema.json', 'User', ['metadata'], ['name', 'labels', 'annotations']],
    ['a nested mapping', 'User', ['spec', 'mailbox'], ['quotaMB', 'aliases']],
    ['a secret, through allOf, $ref and both branches of its oneOf', 'User', ['spec', 'password'], ['encrypted', 'generate', 'length', 'charset']],
    ['a mapping inside a list item', 'Extension', ['spec', 'voicemail'], ['enabled', 'pin', 'email', 'attach']],
    ['a scalar', 'User', ['spec', 'givenName'], []],
    ['a path the schema does not have', 'User', ['spec', 'nope', 'deeper'], []],
  ])('lists the fields allowed at %s', (_what, kind, path, expected) => {
    expect(fieldsAt(schemas, kind, path)).toEqual(expected);
  });

  it('holds every field of User spec, in schema order', () => {
    expect(fieldsAt(schemas, 'User', ['spec'])).toEqual([
      'givenName', 'surname', 'displayName', 'title', 'department', 'email', 'telephoneNumber', 'groups', 'enabled',
      'accountExpires', 'password', 'mustChangePassword', 'mailbox',
    ]);
  });
});

describe('isSensitiveAt', () => {
  it.each([
    ['a secret field', 'User', ['spec', 'password'], true],
    ['the ciphertext inside it', 'User', ['spec', 'password', 'encrypted'], true],
    ['a misspelt field inside it, which the schema does not know', 'User', ['spec', 'password', 'encrytped'], true],
    ['a voicemail PIN', 'Extension', ['spec', 'voicemail', 'pin'], true],
    ['a plain field', 'Extension', ['spec', 'number'], false],
    ['the voicemail mapping around the PIN', 'Extension', ['spec', 'voicemail'], false],
  ])('says %s is %s', (_what, kind, path, expected) => {
    expect(isSensitiveAt(schemas, kind, path)).toBe(expected);
  });
});

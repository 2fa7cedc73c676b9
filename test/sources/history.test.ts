// Integration (real git): which commits changed one object's YAML document, across multi-document files and moves.
import { afterEach, describe, expect, it } from 'vitest';
import { commitsTouchingObject, documentOf } from '../../src/sources/history.ts';
import { createGitFixture, type GitFixture } from './git-fixture.ts';

const userDoc = (name: string, title: string) => `apiVersion: infrasec/v1\nkind: User\nmetadata:\n  name: ${name}\nspec:\n  title: ${title}\n`;

let fx: GitFixture;
afterEach(() => fx?.cleanup());

describe('documentOf', () => {
  it('finds the document by kind and name among several', () => {
    const text = `${userDoc('a', 'x')}---\n${userDoc('b', 'y')}`;
    expect(documentOf(text, 'User', 'b')).toContain('"title":"y"');
    expect(documentOf(text, 'Group', 'b')).toBeUndefined();
    expect(documentOf(undefined, 'User', 'a')).toBeUndefined();
  });
});

describe('commitsTouchingObject', () => {
  it('keeps the commits that changed the object and skips those that changed its neighbours', async () => {
    fx = createGitFixture();
    const c1 = fx.commit({ 'users/ops.yaml': `${userDoc('jdupont', 'Opérateur')}---\n${userDoc('mlefebvre', 'Directrice')}` }, 'add operators');
    fx.commit({ 'users/ops.yaml': `${userDoc('jdupont', 'Opérateur')}---\n${userDoc('mlefebvre', 'Directrice du COD')}` }, 'retitle mlefebvre');
    const c3 = fx.commit({ 'users/ops.yaml': `${userDoc('jdupont', 'Chef de salle')}---\n${userDoc('mlefebvre', 'Directrice du COD')}` }, 'promote jdupont');
    fx.commit({ 'README.md': 'docs' }, 'docs only');
    const c5 = fx.commit({ 'users/ops.yaml': userDoc('mlefebvre', 'Directrice du COD'), 'users/jdupont.yaml': userDoc('jdupont', 'Chef de salle') }, 'split files');
    const commits = await commitsTouchingObject(fx.work, '.', 'User', 'jdupont');
    expect(commits.map((c) => c.commit)).toEqual([c5, c3, c1]);
    expect(commits[1]).toMatchObject({ subject: 'promote jdupont', author: 'Ana Admin <ana@cod67.example>', files: ['users/ops.yaml'] });
    expect([...commits[0]!.files].sort()).toEqual(['users/jdupont.yaml', 'users/ops.yaml']);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedState } from '../../src/desired/model.ts';
import { loadResolvedState } from '../../src/desired/resolve.ts';
import { handOverRecords } from '../../src/handover/audit-record.ts';
import { buildHandOver, handedOverFields, renderHandOver, selectAll, SelectionError } from '../../src/handover/document.ts';
import { initStateDir } from '../../src/state/generator-key.ts';
import { REPO_ROOT } from '../controller/ad-fixture.ts';

let dir: string;
let state: ResolvedState;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infrasec-handover-'));
  await initStateDir(dir);
  state = (await loadResolvedState(join(REPO_ROOT, 'desired-state'), { stateDir: dir, secrets: { ageIdentityFiles: [] } }, 'example')).state!;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const value = (kind: 'User' | 'Extension' | 'Conference', name: string, field: string) => state.secrets.get(kind, name, field)!.reveal();

describe('buildHandOver', () => {
  it('gives a person their initial password and the SIP secret and voicemail PIN of the extensions they own', () => {
    const h = buildHandOver(state, { people: ['mlefebvre'], conferences: [] });
    expect(h.sections).toHaveLength(1);
    expect(h.sections[0]!.recipient).toBe('User/mlefebvre');
    expect(h.sections[0]!.items.map((i) => `${i.object} ${i.path} ${i.label}`)).toEqual([
      'User/mlefebvre spec.password initial password (to be changed at first logon)',
      'Extension/ext-200 spec.secret SIP secret, extension 200',
      'Extension/ext-200 spec.voicemail.pin voicemail PIN, extension 200',
    ]);
    expect(h.sections[0]!.items.every((i) => i.origin === 'generated')).toBe(true);
  });

  it('gives a conference its participant and leader PINs', () => {
    const h = buildHandOver(state, { people: [], conferences: ['reunion'] });
    expect(h.sections[0]!.items.map((i) => [i.label, i.secret.reveal()])).toEqual([
      ['participant PIN', value('Conference', 'reunion', 'userPin')],
      ['leader PIN', value('Conference', 'reunion', 'leaderPin')],
    ]);
  });

  it('refuses names the desired state does not hold instead of handing over less than asked', () => {
    expect(() => buildHandOver(state, { people: ['mlefebvre', 'nobody'], conferences: ['salle-x'] })).toThrow(SelectionError);
    expect(() => buildHandOver(state, { people: ['nobody'], conferences: ['salle-x'] })).toThrow(/no User\/nobody.*no Conference\/salle-x/);
    expect(() => buildHandOver(state, { people: [], conferences: [] })).toThrow(/nothing selected/);
  });

  it('selects with --all every person and conference that holds a secret', () => {
    const all = selectAll(state.resources);
    expect(all.people).toContain('jmeyer');
    expect(all.conferences).toEqual(['reunion', 'point-situation']);
  });
});

describe('renderHandOver', () => {
  it('shows each value beside its label and object, in text and in JSON', () => {
    const h = buildHandOver(state, { people: ['jmeyer'], conferences: ['reunion'] });
    const text = renderHandOver(h, 'text');
    expect(text).toContain(`initial password (to be changed at first logon)  ${value('User', 'jmeyer', 'password')}`);
    expect(text).toContain(`${value('Conference', 'reunion', 'leaderPin')}    (Conference/reunion spec.leaderPin)`);
    const json = JSON.parse(renderHandOver(h, 'json'));
    expect(json.sections[0].secrets[1]).toEqual({ object: 'Extension/ext-4000', path: 'spec.secret', label: 'SIP secret, extension 4000', origin: 'generated', value: value('Extension', 'ext-4000', 'secret') });
  });
});

describe('the audit records of a hand-over', () => {
  it('name the objects and fields handed over, who and where, and hold no value', () => {
    const h = buildHandOver(state, { people: ['mlefebvre'], conferences: ['reunion'] });
    const records = handOverRecords(handedOverFields(h), { time: 't', commit: 'c', author: null, actor: { via: 'cli', user: 'alice' }, action: 'reveal', reason: 'shown on a terminal' });
    expect(records.map((r) => [r.object, r.action, r.fields.map((f) => f['path'])])).toEqual([
      ['User/mlefebvre', 'reveal', ['spec.password']],
      ['Extension/ext-200', 'reveal', ['spec.secret', 'spec.voicemail.pin']],
      ['Conference/reunion', 'reveal', ['spec.userPin', 'spec.leaderPin']],
    ]);
    const text = JSON.stringify(records);
    for (const item of h.sections.flatMap((s) => s.items)) expect(text).not.toContain(item.secret.reveal());
    expect(records[0]!.actor).toEqual({ via: 'cli', user: 'alice' });
  });
});

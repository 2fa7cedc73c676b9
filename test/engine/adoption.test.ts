// Unit: the one adoption rule, and that both planners set the first-class key, prune and adopt flags from it.
import { describe, expect, it } from 'vitest';
import { adoptable } from '../../src/engine/adoption.ts';
import { DEFAULT_POLICY, type Policy } from '../../src/engine/types.ts';
import { planDirectory } from '../../src/reconcilers/active-directory/plan.ts';
import { resolveAdSettings } from '../../src/reconcilers/active-directory/settings.ts';
import { planAsterisk } from '../../src/reconcilers/asterisk/plan.ts';
import * as ad from '../reconcilers/active-directory/desired-builder.ts';
import * as ast from '../reconcilers/asterisk/desired-builder.ts';

const policy = (over: Partial<Policy> = {}): Policy => ({ ...DEFAULT_POLICY, ...over });
const adLayout = resolveAdSettings({ url: 'ldaps://dc.test', bindDN: `CN=Administrator,CN=Users,${ad.BASE}`, bindPassword: ad.secret('x'), baseDN: ad.BASE }).layout;

describe('adoptable', () => {
  it.each([
    [[], 'User', 'jdupont', false],
    [['User/jdupont'], 'User', 'jdupont', true],
    [['User/jdupont'], 'Group', 'jdupont', false],
    [['User/jdupont'], 'User', 'jdupont2', false],
    [['*'], 'Context', 'from-internal-custom', true],
    [['user/jdupont'], 'User', 'jdupont', false],
  ] as const)('adopt %j, %s/%s → %s', (adopt, kind, name, expected) => {
    expect(adoptable({ adopt }, kind, name)).toBe(expected);
  });
});

describe('changes carry a stable key and first-class prune and adopt flags', () => {
  it('Active Directory: adoption and prunes are flags on the change, not in the payload', () => {
    const desired = ad.state({ users: [ad.user('jdupont', { title: 'Chef' })] });
    const live = ad.live({ users: [ad.liveUser('jdupont', { owned: false, adminDescription: undefined }), ad.liveUser('gone')], ous: ad.ALL_OUS });
    const p = planDirectory(desired, live, policy({ adopt: ['User/jdupont'] }), adLayout);
    expect(p.changes.map((c) => [c.key, c.action, c.adopt, c.prune])).toEqual([
      ['User/jdupont', 'update', true, false],
      ['User/gone', 'disable', false, true],
    ]);
    for (const c of p.changes) expect(Object.keys(c.payload ?? {})).not.toEqual(expect.arrayContaining(['pruned']));
    expect(planDirectory(desired, live, policy(), adLayout).changes.map((c) => c.key)).toEqual(['User/gone']);
  });

  it('Asterisk: an adopted context is flagged adopt, keyed by kind and name', () => {
    const d = ast.state({ extensions: [ast.ext('ext-200', '200')] });
    const live = ast.live({ files: { extensions: [ast.section('infrasec-internal', [['exten', '999,1,Hangup()']], false)] } });
    const p = planAsterisk(d, live, policy({ adopt: ['Context/infrasec-internal'] }), ast.layout);
    const context = p.changes.find((c) => c.kind === 'Context');
    expect(context).toMatchObject({ key: 'Context/infrasec-internal', adopt: true, prune: false });
    expect(p.changes.filter((c) => c.kind !== 'Context').every((c) => !c.adopt && c.key === `${c.kind}/${c.name}`)).toBe(true);
  });
});

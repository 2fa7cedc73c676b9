// Unit: plans in the YAML's language — one entry per YAML object, serving changes folded in, plumbing folded apart and not counted, the system's own fields behind --detail.
import { describe, expect, it } from 'vitest';
import type { PassResult } from '../../src/engine/pass.ts';
import { DEFAULT_POLICY, type Change } from '../../src/engine/types.ts';
import { EMPTY_DRIFT_REPORT, updateDriftReport } from '../../src/report/drift.ts';
import { objectView } from '../../src/report/objects.ts';
import { renderReport, type Report } from '../../src/report/plan.ts';

const base = { system: 'asterisk', prune: false, adopt: false, rank: 1, reason: 'differs' } as const;
const natEdit: Change = {
  ...base, kind: 'Extension', name: 'ext-200', key: 'ext:200', action: 'update',
  fields: [{ path: 'spec.nat', before: false, after: true }],
  wire: [
    { path: 'pjsip:endpoint[200].rtp_symmetric', before: null, after: 'yes', from: 'spec.nat' },
    { path: 'pjsip:endpoint[200].force_rport', before: null, after: 'yes', from: 'spec.nat' },
  ],
};
const reload: Change = { ...base, kind: 'Reload', name: 'res_pjsip', key: 'reload:res_pjsip', action: 'update', supporting: true, fields: [{ path: 'running', before: 'previous file', after: 'reloaded' }] };
const template: Change = { ...base, kind: 'ConfigFile', name: 'pjsip_custom.conf', key: 'file:pjsip', action: 'update', supporting: true, fields: [{ path: 'pjsip:[infrasec-managed](!)', before: null, after: 'ownership template' }] };
const newGroup: Change = { ...base, system: 'active-directory', kind: 'Group', name: 'crise', key: 'Group/crise', action: 'create', fields: [{ path: 'spec.scope', before: null, after: 'global' }] };
const crisisMembers: Change = { ...base, system: 'active-directory', kind: 'Membership', name: 'crise', key: 'Membership/crise', action: 'update', serves: 'Group/crise', fields: [{ path: 'spec.members', before: null, after: 'User/a' }] };
const terrainMembers: Change = { ...crisisMembers, name: 'terrain', key: 'Membership/terrain', serves: 'Group/terrain', fields: [{ path: 'spec.members', before: 'User/b', after: null }] };
const ou: Change = { ...base, system: 'active-directory', kind: 'OrganizationalUnit', name: 'OU=infrasec', key: 'OU', action: 'create', supporting: true, fields: [] };

const result = (changes: Change[], over: Partial<PassResult> = {}): PassResult => ({
  system: changes[0]?.system ?? 'asterisk', mode: 'plan', revision: 'abcdef0123456789', status: 'changes', changes, held: [], conflicts: [],
  refused: [], applied: [], verify: [], startedAt: '2026-11-29T00:00:00.000Z', durationMs: 1, writes: 0, ...over,
});
const report = (results: PassResult[], mode: Report['mode'] = 'plan'): Report => ({ mode, revision: 'abcdef0123456789', results, skipped: [] });

describe('objectView', () => {
  it('folds a change into the YAML object it serves, and keeps plumbing apart', () => {
    const view = objectView([ou, newGroup, crisisMembers, terrainMembers]);
    expect(view.objects.map((o) => [`${o.kind}/${o.name}`, o.action, o.fields.map((f) => f.path), o.via])).toEqual([
      ['Group/crise', 'create', ['spec.scope', 'spec.members'], []],
      ['Group/terrain', 'update', ['spec.members'], ['Membership']],
    ]);
    expect(view.supporting).toEqual([ou]);
  });

  it('never merges objects of the same name on two systems', () => {
    const mailbox: Change = { ...base, system: 'modoboa', kind: 'Mailbox', name: 'a', key: 'mb:a', action: 'create', serves: 'User/a', fields: [] };
    const user: Change = { ...base, system: 'active-directory', kind: 'User', name: 'a', key: 'User/a', action: 'create', fields: [] };
    expect(objectView([user, mailbox]).objects.map((o) => [o.system, o.kind, o.name, o.via])).toEqual([['active-directory', 'User', 'a', []], ['modoboa', 'User', 'a', ['Mailbox']]]);
  });
});

describe('plans in the YAML language', () => {
  it('shows a hand-edited extension as one object with its YAML field, the reload folded and not counted', () => {
    const text = renderReport(report([result([natEdit, reload])]), 'text');
    expect(text.split('\n')).toEqual([
      'asterisk @ abcdef012345: changes',
      '  ~ Extension/ext-200  update',
      '      spec.nat: false → true',
      '  · 1 supporting change(s), not counted: Reload/res_pjsip (--detail lists them)',
      'Plan: 0 to create, 1 to update, 0 to disable, 0 to delete.',
    ]);
    expect(text).not.toContain('rtp_symmetric');
  });

  it('says why an object goes away, under its line', () => {
    const leaver: Change = { ...base, kind: 'Extension', name: 'ext-4000', key: 'ext:4000', action: 'disable', reason: 'its owner User/jmeyer is disabled (a leaver)', fields: [], wire: [{ path: 'pjsip:endpoint[4000]', before: 'x', after: null }] };
    const text = renderReport(report([result([leaver, reload])]), 'text');
    expect(text).toContain('  ! Extension/ext-4000  disable\n      # its owner User/jmeyer is disabled (a leaver)\n');
    expect(text).not.toContain('pjsip:endpoint');
  });

  it('lists the system fields and the supporting changes with --detail, counting the same', () => {
    const text = renderReport(report([result([template, natEdit, reload])]), 'text', { detail: true });
    expect(text).toContain('~ ConfigFile/pjsip_custom.conf  update [supporting]');
    expect(text).toContain('pjsip:endpoint[200].rtp_symmetric: (none) → "yes"');
    expect(text).toContain('spec.nat: false → true');
    expect(text.trim().split('\n').pop()).toBe('Plan: 0 to create, 1 to update, 0 to disable, 0 to delete.');
  });

  it('names supporting changes that failed or were held, since something the YAML needs did not happen', () => {
    const r = result([natEdit, reload], { mode: 'apply', status: 'failed', applied: [{ change: natEdit, ok: true, writes: 1 }, { change: reload, ok: false, writes: 1, error: 'reload refused' }] });
    const text = renderReport(report([r], 'apply'), 'text');
    expect(text).toContain('~ Reload/res_pjsip  update  (FAILED: reload refused)');
    expect(text.trim().split('\n').pop()).toContain('Applied: 0 created, 1 updated, 0 disabled, 0 deleted; 1 failed.');
  });

  it('counts an object whose serving change failed as failed, not applied', () => {
    const r = result([newGroup, crisisMembers], { mode: 'apply', status: 'failed', applied: [{ change: newGroup, ok: true, writes: 1 }, { change: crisisMembers, ok: false, writes: 0, error: 'no such member' }] });
    const text = renderReport(report([r], 'apply'), 'text');
    expect(text).toContain('+ Group/crise  create  (FAILED: no such member)');
    expect(text).toContain('0 created, 0 updated, 0 disabled, 0 deleted; 1 failed.');
  });

  it('carries both views in JSON, secrets redacted in each', () => {
    const pin: Change = { ...natEdit, fields: [{ path: 'spec.voicemail.pin', before: 'pin-old-7731', after: 'pin-new-5519', sensitive: true }], wire: [{ path: 'voicemail:[default].200.secret', before: 'pin-old-7731', after: 'pin-new-5519', sensitive: true, from: 'spec.voicemail.pin' }] };
    const out = renderReport(report([result([pin, reload])]), 'json');
    expect(out).not.toMatch(/pin-old|pin-new/);
    const json = JSON.parse(out);
    expect(json.systems[0].objects).toEqual([{ kind: 'Extension', name: 'ext-200', action: 'update', changes: 1, fields: [{ path: 'spec.voicemail.pin', before: '(sensitive)', after: '(sensitive)', sensitive: true }] }]);
    expect(json.systems[0].changes[0].wire[0]).toEqual({ path: 'voicemail:[default].200.secret', before: '(sensitive)', after: '(sensitive)', sensitive: true, from: 'spec.voicemail.pin' });
    expect(json.systems[0].changes[1].supporting).toBe(true);
  });

  it('folds plumbing in the merge-request comment too', () => {
    const md = renderReport(report([result([template, natEdit, reload])]), 'markdown');
    expect(md).toContain('| ~ | `Extension/ext-200` | update | spec.nat: false → true |');
    expect(md).toContain('Supporting changes, not counted: ConfigFile/pjsip\\_custom.conf, Reload/res\\_pjsip');
    expect(md).toContain('| asterisk | changes | 0 | 1 | 0 | 0 | 0 |');
  });
});

describe('drift in the YAML language', () => {
  it('records a hand-edited extension as one drifted object, not the extension and its reload', () => {
    const r = updateDriftReport(EMPTY_DRIFT_REPORT, result([natEdit, reload], { mode: 'drift' }), DEFAULT_POLICY, new Date('2026-11-29T01:00:00Z'));
    expect(r.entries.map((e) => [e.kind, e.name, e.fields.map((f) => f.path)])).toEqual([['Extension', 'ext-200', ['spec.nat']]]);
    expect(renderReport(report([result([natEdit, reload], { mode: 'drift' })], 'drift'), 'text')).toContain('Drift: 1 object(s) differ from the desired state.');
  });

  it('still records plumbing that drifted alone (an ownership template deleted by hand)', () => {
    const r = updateDriftReport(EMPTY_DRIFT_REPORT, result([template], { mode: 'drift' }), DEFAULT_POLICY, new Date('2026-11-29T01:00:00Z'));
    expect(r.entries.map((e) => `${e.kind}/${e.name}`)).toEqual(['ConfigFile/pjsip_custom.conf']);
  });
});

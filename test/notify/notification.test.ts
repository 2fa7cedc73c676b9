// Pure: the one line and the detail lines a notification reads as, per event.
import { describe, expect, it } from 'vitest';
import { notificationDetails, notificationText, type Notification } from '../../src/notify/notification.ts';

const REV = '0123456789abcdef0123456789abcdef01234567';
const base = { time: '2026-03-01T12:00:00Z', system: 'pbx', revision: REV };

describe('notificationText', () => {
  it.each<[string, Notification, string]>([
    ['drift found, naming the first objects', {
      ...base, event: 'drift.found', summary: '4 object(s) in pbx drifted',
      objects: ['Extension/200', 'Extension/201', 'Voicemail/200', 'Conference/25'].map((object) => ({ object, action: 'update', mode: 'report', corrected: false, fields: [] })),
    }, 'infrasec: 4 object(s) in pbx drifted from 0123456789ab (Extension/200, Extension/201, Voicemail/200 and 1 more)'],
    ['apply failed, with the error', {
      ...base, event: 'apply.failed', summary: 'pbx: 1 of 3 change(s) failed', error: { code: 'apply-failed', message: '1 of 3 change(s) failed' },
    }, 'infrasec: apply failed in pbx at 0123456789ab: 1 of 3 change(s) failed'],
    ['guard refused, with its reasons', {
      ...base, event: 'guard.refused', summary: 'pbx: a guard refused the plan', reasons: ['5 deletions exceed the threshold (3)', 'pruning would remove a protected object'],
    }, 'infrasec: a guard refused the plan for pbx at 0123456789ab: 5 deletions exceed the threshold (3); pruning would remove a protected object'],
    ['head not applied, with why', {
      ...base, system: 'source', event: 'source.rejected', summary: 'head 0123456789ab not applied: 2 problem(s)', error: { code: 'validation-failed', message: '2 problem(s) in the desired state' },
    }, 'infrasec: head 0123456789ab not applied: 2 problem(s) in the desired state'],
  ])('%s', (_name, n, expected) => {
    expect(notificationText(n)).toBe(expected);
  });

  it('stays one line of at most 400 characters, whatever the error message holds', () => {
    const text = notificationText({ ...base, event: 'apply.failed', summary: 's', error: { code: 'x', message: `line one\nline two\r\n${'y'.repeat(1000)}` } });
    expect(text).not.toMatch(/[\r\n]/);
    expect(text.length).toBe(400);
    expect(text.endsWith('…')).toBe(true);
  });
});

describe('notificationDetails', () => {
  it('gives one line per object with its fields, then the reasons, and says how many more past ten', () => {
    const objects = Array.from({ length: 12 }, (_, i) => ({ system: 'pbx', kind: 'Extension', name: String(200 + i), action: 'update', fields: [{ path: 'spec.nat' }], error: i === 0 ? 'AMI refused' : null }));
    const lines = notificationDetails({ ...base, event: 'apply.failed', summary: 's', objects });
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe('Extension/200 update [spec.nat]: AMI refused');
    expect(lines[1]).toBe('Extension/201 update [spec.nat]');
    expect(lines[10]).toBe('… and 2 more');
  });

  it('says whether drift was corrected', () => {
    const lines = notificationDetails({ ...base, event: 'drift.found', summary: 's', objects: [{ object: 'User/jdupont', action: 'update', corrected: true, fields: [{ path: 'spec.title' }] }] });
    expect(lines).toEqual(['User/jdupont update (corrected) [spec.title]']);
  });
});

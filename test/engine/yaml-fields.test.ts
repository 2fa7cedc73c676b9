import { describe, expect, it } from 'vitest';
import { DIFFERS, OTHER_FIELDS, valueAt, yamlFields } from '../../src/engine/yaml-fields.ts';

const ext = { kind: 'Extension', metadata: { name: 'ext-200' }, spec: { number: '200', nat: true, callerIdName: 'Direction', voicemail: { enabled: true, pin: { generate: true } } } };

describe('yamlFields', () => {
  it('gathers the wire fields of one YAML field into one line with the YAML value', () => {
    const out = yamlFields(ext, 'update', [
      { path: 'pjsip:endpoint[200].rtp_symmetric', before: 'no', after: 'yes', from: 'spec.nat' },
      { path: 'pjsip:endpoint[200].force_rport', before: 'no', after: 'yes', from: 'spec.nat' },
      { path: 'pjsip:endpoint[200].callerid', before: '"X" <200>', after: '"Direction" <200>', from: 'spec.callerIdName' },
    ]);
    expect(out).toEqual([
      { path: 'spec.nat', before: DIFFERS, after: true },
      { path: 'spec.callerIdName', before: DIFFERS, after: 'Direction' },
    ]);
  });

  it('uses the live value the system can read back, and none for a create', () => {
    const wire = [{ path: 'pjsip:endpoint[200].callerid', before: '"X" <200>', after: '"Direction" <200>', from: 'spec.callerIdName' }];
    expect(yamlFields(ext, 'update', wire, { liveValue: (p) => (p === 'spec.callerIdName' ? 'X' : undefined) })).toEqual([{ path: 'spec.callerIdName', before: 'X', after: 'Direction' }]);
    expect(yamlFields(ext, 'create', wire)).toEqual([{ path: 'spec.callerIdName', before: null, after: 'Direction' }]);
  });

  it('keeps a field sensitive when any wire field behind it is, and never carries its values', () => {
    const out = yamlFields(ext, 'update', [
      { path: 'voicemail:[default]', before: 'a', after: 'b', from: 'spec.voicemail.pin' },
      { path: 'voicemail:[default].200.secret', before: '(sensitive)', after: '(sensitive)', sensitive: true, from: 'spec.voicemail.pin' },
    ]);
    expect(out).toEqual([{ path: 'spec.voicemail.pin', before: '(sensitive)', after: '(sensitive)', sensitive: true }]);
    expect(JSON.stringify(out)).not.toContain('"a"');
  });

  it('counts the wire fields no YAML field sets in one line, so nothing that changes is hidden', () => {
    const out = yamlFields(ext, 'update', [
      { path: 'pjsip:endpoint[200].context', before: 'a', after: 'b' },
      { path: 'pjsip:aor[200].qualify_frequency', before: '30', after: '60' },
    ]);
    expect(out).toEqual([{ path: OTHER_FIELDS, before: null, after: '2 changed (pjsip:endpoint[200].context, pjsip:aor[200].qualify_frequency)' }]);
  });

  it('leaves them to the wire detail for a create or a delete, whose YAML document is the whole story', () => {
    const wire = [{ path: 'pjsip:endpoint[200].type', before: null, after: 'endpoint' }, { path: 'pjsip:endpoint[200].rtp_symmetric', before: null, after: 'yes', from: 'spec.nat' }];
    expect(yamlFields(ext, 'create', wire)).toEqual([{ path: 'spec.nat', before: null, after: true }]);
    expect(yamlFields(ext, 'delete', wire).map((f) => f.path)).toEqual(['spec.nat']);
  });

  it('reads dotted paths and stops at anything that is not an object', () => {
    expect(valueAt(ext, 'spec.voicemail.enabled')).toBe(true);
    expect(valueAt(ext, 'spec.number.length')).toBeUndefined();
    expect(valueAt(ext, 'spec.missing.x')).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { normalizeSpec } from '../../src/desired/defaults.ts';

describe('normalizeSpec', () => {
  it('gives a user the display name "givenName surname" and the account defaults', () => {
    expect(normalizeSpec('User', { givenName: 'Marie', surname: 'Lefebvre' })).toEqual({
      givenName: 'Marie', surname: 'Lefebvre', displayName: 'Marie Lefebvre', groups: [], enabled: true, mustChangePassword: true,
    });
  });

  it('keeps what the user wrote over the defaults', () => {
    const spec = normalizeSpec('User', { givenName: 'M', surname: 'L', displayName: 'Directrice', groups: ['ops'], enabled: false, mustChangePassword: false });
    expect(spec).toMatchObject({ displayName: 'Directrice', groups: ['ops'], enabled: false, mustChangePassword: false });
  });

  it.each([
    ['a softphone', { webrtc: false }, { audio: ['g722', 'alaw', 'ulaw'], video: [] }],
    ['a WebRTC phone', { webrtc: true }, { audio: ['opus', 'g722', 'alaw', 'ulaw'], video: ['vp8'] }],
    ['a phone with its own audio codecs', { webrtc: true, codecs: { audio: ['opus'] } }, { audio: ['opus'], video: ['vp8'] }],
    ['a phone with its own video codecs', { codecs: { video: ['h264'] } }, { audio: ['g722', 'alaw', 'ulaw'], video: ['h264'] }],
  ])('gives %s its codecs', (_what, spec, codecs) => {
    expect(normalizeSpec('Extension', spec).codecs).toEqual(codecs);
  });

  it('fills the voicemail defaults around what is given', () => {
    expect(normalizeSpec('Extension', {}).voicemail).toEqual({ enabled: false, attach: true });
    expect(normalizeSpec('Extension', { voicemail: { enabled: true, attach: false } }).voicemail).toEqual({ enabled: true, attach: false });
  });

  it('leaves other kinds as they are', () => {
    const spec = { number: '25', title: 'Reunion' };
    expect(normalizeSpec('Conference', spec)).toBe(spec);
  });
});

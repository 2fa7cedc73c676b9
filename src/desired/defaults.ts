// Pure: fills the defaults that depend on other fields (the schema's `default`s are applied by ajv before this).
import type { Kind } from './model.ts';

const SOFTPHONE_AUDIO = ['g722', 'alaw', 'ulaw'];
const WEBRTC_AUDIO = ['opus', 'g722', 'alaw', 'ulaw'];
const WEBRTC_VIDEO = ['vp8'];

export function normalizeSpec(kind: Kind, spec: Record<string, unknown>): Record<string, unknown> {
  switch (kind) {
    case 'User':
      return {
        groups: [],
        enabled: true,
        mustChangePassword: true,
        ...spec,
        displayName: spec['displayName'] ?? `${String(spec['givenName'])} ${String(spec['surname'])}`,
      };
    case 'Extension': {
      const webrtc = spec['webrtc'] === true;
      const codecs = (spec['codecs'] ?? {}) as Record<string, unknown>;
      return {
        ...spec,
        codecs: {
          audio: codecs['audio'] ?? (webrtc ? WEBRTC_AUDIO : SOFTPHONE_AUDIO),
          video: codecs['video'] ?? (webrtc ? WEBRTC_VIDEO : []),
        },
        voicemail: { enabled: false, attach: true, ...((spec['voicemail'] as object | undefined) ?? {}) },
      };
    }
    default:
      return spec;
  }
}

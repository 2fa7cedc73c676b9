// Pure: the HMAC-SHA256 signature header of a notification body.
import { describe, expect, it } from 'vitest';
import { signBody, verifyBodySignature } from '../../src/notify/signature.ts';

describe('signBody', () => {
  it('is sha256= and the HMAC-SHA256 hex digest (RFC 4231-style known vector)', () => {
    expect(signBody('The quick brown fox jumps over the lazy dog', 'key')).toBe('sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  });

  it('verifies the exact body under the same secret only', () => {
    const sig = signBody('{"a":1}', 's3cret');
    expect(verifyBodySignature('{"a":1}', 's3cret', sig)).toBe(true);
    expect(verifyBodySignature('{"a":2}', 's3cret', sig)).toBe(false);
    expect(verifyBodySignature('{"a":1}', 'other', sig)).toBe(false);
    expect(verifyBodySignature('{"a":1}', 's3cret', undefined)).toBe(false);
    expect(verifyBodySignature('{"a":1}', 's3cret', 'sha256=00')).toBe(false);
  });
});

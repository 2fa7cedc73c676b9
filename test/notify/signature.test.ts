// Pure: the timestamped HMAC-SHA256 signature of a notification body (t=<seconds>,v1=<hex> over "<t>.<body>").
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signBody, signedPayloadDigest, verifyBodySignature } from '../../src/notify/signature.ts';

const at = new Date('2026-03-01T12:00:00Z');
const t = at.getTime() / 1000;

describe('signBody', () => {
  it('is t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." and the body>', () => {
    const body = 'The quick brown fox jumps over the lazy dog';
    // Known vector, computed independently: printf '1772366400.The quick…' | openssl dgst -sha256 -hmac key
    expect(signBody(body, 'key', at)).toBe('t=1772366400,v1=826fdc9db66f2e0114e5c5b76608e656d99dfa2831437455b6a751c401f274bf');
    expect(signedPayloadDigest(t, Buffer.from(body), 'key')).toBe(createHmac('sha256', 'key').update(`1772366400.${body}`).digest('hex'));
  });
});

describe('verifyBodySignature', () => {
  const body = '{"a":1}';
  const header = signBody(body, 's3cret', at);

  it('takes the exact body under the same secret within the tolerance', () => {
    expect(verifyBodySignature(body, 's3cret', header, at)).toEqual({ ok: true, timestamp: t });
    expect(verifyBodySignature(body, 's3cret', header, new Date(at.getTime() + 299_000)).ok).toBe(true);
  });

  it('refuses a changed body, another secret, a missing or malformed header', () => {
    expect(verifyBodySignature('{"a":2}', 's3cret', header, at)).toEqual({ ok: false, reason: 'no v1 signature matches' });
    expect(verifyBodySignature(body, 'other', header, at).ok).toBe(false);
    expect(verifyBodySignature(body, 's3cret', undefined, at)).toEqual({ ok: false, reason: 'no signature header' });
    expect(verifyBodySignature(body, 's3cret', 'sha256=00', at).ok).toBe(false);
    expect(verifyBodySignature(body, 's3cret', header.replace(/^t=\d+,/, ''), at).ok).toBe(false);
  });

  it('refuses a changed timestamp: the signature covers it', () => {
    const moved = header.replace(`t=${t}`, `t=${t + 1}`);
    expect(verifyBodySignature(body, 's3cret', moved, at)).toEqual({ ok: false, reason: 'no v1 signature matches' });
  });

  it('refuses a replay: a genuine signature older (or newer) than the tolerance', () => {
    expect(verifyBodySignature(body, 's3cret', header, new Date(at.getTime() + 301_000))).toEqual({ ok: false, reason: 'the timestamp is more than 300 s away from now' });
    expect(verifyBodySignature(body, 's3cret', header, new Date(at.getTime() - 301_000)).ok).toBe(false);
    expect(verifyBodySignature(body, 's3cret', header, new Date(at.getTime() + 3_600_000), 7_200).ok).toBe(true);
  });

  it('takes any of several v1 values (a receiver rotating its secret)', () => {
    const other = signBody(body, 'old', at).split('v1=')[1];
    expect(verifyBodySignature(body, 's3cret', `${header},v1=${other}`, at).ok).toBe(true);
  });
});

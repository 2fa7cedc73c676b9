// Pure: the timestamped HMAC-SHA256 signature of a notification body (Stripe's scheme), `X-Infrasec-Signature: t=<unix seconds>,v1=<hex>`, so a receiver can check who sent it and refuse a replay.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-infrasec-signature';

/** How old a signature a receiver should still take, in seconds (Stripe's default tolerance). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** The hex HMAC-SHA256, under the shared secret, of `<t>.<exact body bytes>`: what `v1` carries. */
export function signedPayloadDigest(timestamp: number, body: string | Uint8Array, secret: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The header value for a body sent at `now`: `t=<unix seconds>,v1=<hex>`. */
export function signBody(body: string | Uint8Array, secret: string, now: Date = new Date()): string {
  const t = Math.floor(now.getTime() / 1000);
  return `t=${t},v1=${signedPayloadDigest(t, body, secret)}`;
}

export type SignatureVerdict = { readonly ok: true; readonly timestamp: number } | { readonly ok: false; readonly reason: string };

/**
 * What a receiver does (and the tests): parse `t` and every `v1`, refuse a timestamp further than `toleranceSeconds`
 * from `now` either way, recompute over `<t>.<body>` and compare in constant time.
 */
export function verifyBodySignature(
  body: string | Uint8Array,
  secret: string,
  header: string | undefined,
  now: Date = new Date(),
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): SignatureVerdict {
  if (!header) return { ok: false, reason: 'no signature header' };
  let t: number | undefined;
  const given: string[] = [];
  for (const part of header.split(',')) {
    const [key, value = ''] = part.trim().split('=', 2) as [string, string?];
    if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) given.push(value);
  }
  if (t === undefined || given.length === 0) return { ok: false, reason: 'the header is not t=<seconds>,v1=<hex>' };
  if (Math.abs(now.getTime() / 1000 - t) > toleranceSeconds) return { ok: false, reason: `the timestamp is more than ${toleranceSeconds} s away from now` };
  const expected = Buffer.from(signedPayloadDigest(t, body, secret), 'hex');
  const match = given.some((v) => timingSafeEqual(Buffer.from(v, 'hex'), expected));
  return match ? { ok: true, timestamp: t } : { ok: false, reason: 'no v1 signature matches' };
}

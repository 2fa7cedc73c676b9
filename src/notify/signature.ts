// Pure: the HMAC-SHA256 signature of a notification body, sent as `X-Infrasec-Signature: sha256=<hex>` so a receiver can check who sent it.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-infrasec-signature';

/** `sha256=` and the lowercase hex HMAC-SHA256 of the exact body bytes under the shared secret. */
export function signBody(body: string | Uint8Array, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** What a receiver does (and the tests): recompute and compare in constant time. */
export function verifyBodySignature(body: string | Uint8Array, secret: string, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(body, secret));
  const given = Buffer.from(header.trim());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

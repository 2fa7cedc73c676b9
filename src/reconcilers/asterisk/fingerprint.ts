// Fingerprints of secrets read from what Asterisk runs: keyed with a per-process random key, so a running PIN or
// password is compared with Git's without being kept, printed or brute-forced from a log line.
import { createHmac, randomBytes } from 'node:crypto';
import type { RunningValue } from './model.ts';

const KEY = randomBytes(32);

export function fingerprintOf(value: string): { readonly fingerprint: string } {
  return { fingerprint: createHmac('sha256', KEY).update(value, 'utf8').digest('hex') };
}

/** The running value is the given secret. */
export function sameSecret(running: RunningValue, secret: string): boolean {
  return typeof running !== 'string' && running.fingerprint === fingerprintOf(secret).fingerprint;
}

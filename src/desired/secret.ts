// A secret value held in memory: it prints, serializes and logs as "(sensitive)" and is only read through reveal().
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';

export const REDACTED = '(sensitive)';

export class Secret {
  readonly #value: string;
  /** Stable, non-reversible identity of the secret's source (e.g. sha256 of the ciphertext in Git). */
  readonly fingerprint: string;
  /** Where it came from: `encrypted` (age in Git), `generated` (made by the controller) or `env`. */
  readonly origin: 'encrypted' | 'generated' | 'env';

  constructor(value: string, origin: Secret['origin'], fingerprint: string) {
    this.#value = value;
    this.origin = origin;
    this.fingerprint = fingerprint;
  }

  reveal(): string {
    return this.#value;
  }

  equals(other: string): boolean {
    return this.#value === other;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

export function sha256Hex(input: string | Buffer): string {
  return createHash('sha256').update(input).digest('hex');
}

import { format, inspect } from 'node:util';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { REDACTED, Secret, sha256Hex } from '../../src/desired/secret.ts';

const VALUE = 'Tr0ub4dor&3-must-not-print';
const secret = () => new Secret(VALUE, 'encrypted', sha256Hex('ciphertext'));

describe('Secret', () => {
  it.each<[string, (s: Secret) => string]>([
    ['JSON.stringify', (s) => JSON.stringify(s)],
    ['JSON.stringify of an object holding it', (s) => JSON.stringify({ user: { password: s, list: [s] } })],
    ['String()', (s) => String(s)],
    ['a template literal', (s) => `password=${s}`],
    ['string concatenation', (s) => 'password=' + s],
    ['util.inspect', (s) => inspect(s)],
    ['util.inspect of a nested object, showing hidden fields', (s) => inspect({ a: { b: { c: s } } }, { depth: 10, showHidden: true })],
    ['util.format %s %o %O %j', (s) => format('%s %o %O %j', s, s, s, s)],
    ['an Error message and its inspection', (s) => inspect(new Error(`bind failed with ${s}`))],
    ['spreading it into an object', (s) => JSON.stringify({ ...s })],
    ['structuredClone', (s) => JSON.stringify(structuredClone(s))],
    ['Object.values', (s) => JSON.stringify(Object.values(s))],
  ])('does not reveal its value through %s', (_how, print) => {
    const out = print(secret());
    expect(out).not.toContain(VALUE);
  });

  it.each<[string, (s: Secret) => string]>([
    ['JSON.stringify', (s) => JSON.stringify(s)],
    ['String()', (s) => String(s)],
    ['a template literal', (s) => `${s}`],
    ['util.inspect', (s) => inspect(s)],
  ])('prints as "(sensitive)" through %s', (_how, print) => {
    expect(print(secret())).toContain(REDACTED);
  });

  it('does not reveal its value through a pino logger that has no redaction configured', () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (chunk: string) => void lines.push(chunk) });
    const s = secret();
    logger.info({ event: 'test.secret', password: s, nested: { pin: s }, list: [s] }, 'user %s', s);
    logger.info({ event: 'test.error', err: new Error(`bind with ${s}`) }, 'failed');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).not.toContain(VALUE);
    expect(JSON.parse(lines[0]!)).toMatchObject({ password: REDACTED, nested: { pin: REDACTED }, list: [REDACTED], msg: `user ${REDACTED}` });
  });

  it('hands the value over only through reveal() and compares without exposing it', () => {
    const s = secret();
    expect(s.reveal()).toBe(VALUE);
    expect(s.equals(VALUE)).toBe(true);
    expect(s.equals(`${VALUE}x`)).toBe(false);
  });

  it('shows its origin and fingerprint, which are safe to print', () => {
    const s = secret();
    expect(inspect(s)).toBe(REDACTED);
    expect({ origin: s.origin, fingerprint: s.fingerprint }).toEqual({ origin: 'encrypted', fingerprint: sha256Hex('ciphertext') });
    expect(s.fingerprint).not.toContain(VALUE);
  });
});

describe('sha256Hex', () => {
  it('computes the SHA-256 of a string and of a buffer as lower-case hex', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(Buffer.from('abc'))).toBe(sha256Hex('abc'));
  });
});

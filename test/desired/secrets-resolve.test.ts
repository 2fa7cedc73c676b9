import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadFromFiles } from '../../src/desired/load.ts';
import { deriveSecret, resolveSecrets } from '../../src/desired/secrets.ts';
import { sha256Hex } from '../../src/desired/secret.ts';

let dir: string;
let identity: string;
let recipient: string;

function encrypt(plaintext: string, to = recipient): string {
  return execFileSync('age', ['-a', '-r', to], { input: plaintext }).toString();
}

function stateWith(password: unknown, sipSecret: unknown = { generate: true }) {
  const doc = {
    apiVersion: 'infrasec/v1', kind: 'User', metadata: { name: 'jdupont' },
    spec: { givenName: 'Jean', surname: 'Dupont', password },
  };
  const ext = { apiVersion: 'infrasec/v1', kind: 'Extension', metadata: { name: 'ext-200' }, spec: { number: '200', callerIdName: 'Jean', secret: sipSecret, owner: 'jdupont' } };
  const conf = { apiVersion: 'infrasec/v1', kind: 'Conference', metadata: { name: 'reunion' }, spec: { number: '25', title: 'Reunion', userPin: { generate: true, length: 4, charset: 'digits' } } };
  const text = [doc, ext, conf].map((d) => JSON.stringify(d)).join('\n---\n');
  const r = loadFromFiles([{ file: 'x.yaml', bytes: Buffer.from(text) }]);
  if (!r.state) throw new Error(JSON.stringify(r.diagnostics));
  return r.state;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infrasec-secrets-'));
  identity = join(dir, 'age.key');
  execFileSync('age-keygen', ['-o', identity], { stdio: 'pipe' });
  recipient = (await readFile(identity, 'utf8')).match(/public key: (age1\w+)/)![1]!;
});

describe('resolveSecrets', () => {
  it('decrypts an age-encrypted password and fingerprints the ciphertext, not the value', async () => {
    const ciphertext = encrypt('Initial-Passw0rd!');
    const { store, diagnostics } = await resolveSecrets(stateWith({ encrypted: ciphertext }), { ageIdentityFiles: [identity], generatorKey: async () => Buffer.alloc(32, 1) });
    expect(diagnostics).toEqual([]);
    const s = store.get('User', 'jdupont', 'password')!;
    expect(s.reveal()).toBe('Initial-Passw0rd!');
    expect(s.origin).toBe('encrypted');
    expect(s.fingerprint).toBe(sha256Hex(ciphertext));
    expect(JSON.stringify({ s })).not.toContain('Initial');
  });

  it('reports a value encrypted to another key at its file and line, without any secret', async () => {
    const otherKey = join(dir, 'other.key');
    execFileSync('age-keygen', ['-o', otherKey], { stdio: 'pipe' });
    const other = (await readFile(otherKey, 'utf8')).match(/public key: (age1\w+)/)![1]!;
    const { diagnostics } = await resolveSecrets(stateWith({ encrypted: encrypt('Not-For-You-1!', other) }), { ageIdentityFiles: [identity], generatorKey: async () => Buffer.alloc(32, 1) });
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ file: 'x.yaml', path: 'spec.password', code: 'secret-undecryptable' });
    expect(JSON.stringify(diagnostics)).not.toContain('Not-For-You');
  });

  it('says a key is missing when encrypted values exist but no identity is configured', async () => {
    const { diagnostics } = await resolveSecrets(stateWith({ encrypted: encrypt('x') }), { ageIdentityFiles: [], generatorKey: async () => Buffer.alloc(32, 1) });
    expect(diagnostics[0]?.message).toMatch(/no age identity configured/);
  });

  it('generates stable values per object and field, with the requested charset and length', async () => {
    const key = Buffer.alloc(32, 7);
    const a = await resolveSecrets(stateWith({ generate: true }), { ageIdentityFiles: [], generatorKey: async () => key });
    const b = await resolveSecrets(stateWith({ generate: true }), { ageIdentityFiles: [], generatorKey: async () => key });
    const pw = a.store.get('User', 'jdupont', 'password')!.reveal();
    expect(pw).toBe(b.store.get('User', 'jdupont', 'password')!.reveal());
    expect(pw).toHaveLength(20);
    expect(pw).toMatch(/[A-Z]/);
    expect(pw).toMatch(/[a-z]/);
    expect(pw).toMatch(/[0-9]/);
    expect(a.store.get('Extension', 'ext-200', 'secret')!.reveal()).not.toBe(pw);
    expect(a.store.get('Conference', 'reunion', 'userPin')!.reveal()).toMatch(/^\d{4}$/);
    const other = await resolveSecrets(stateWith({ generate: true }), { ageIdentityFiles: [], generatorKey: async () => Buffer.alloc(32, 8) });
    expect(other.store.get('User', 'jdupont', 'password')!.reveal()).not.toBe(pw);
  });

  it('reads the generator key only when a field is generated, so encrypted-only states need none', async () => {
    const noKey = async (): Promise<Buffer> => {
      throw new Error('no generator key');
    };
    const user = { apiVersion: 'infrasec/v1', kind: 'User', metadata: { name: 'jdupont' }, spec: { givenName: 'Jean', surname: 'Dupont', password: { encrypted: encrypt('Only-Encrypted-1!') } } };
    const onlyEncrypted = loadFromFiles([{ file: 'x.yaml', bytes: Buffer.from(JSON.stringify(user)) }]).state!;
    const encrypted = await resolveSecrets(onlyEncrypted, { ageIdentityFiles: [identity], generatorKey: noKey });
    expect(encrypted.diagnostics).toEqual([]);
    await expect(resolveSecrets(stateWith({ generate: true }), { ageIdentityFiles: [], generatorKey: noKey })).rejects.toThrow('no generator key');
  });

  it('derives unbiased digits across many ids', () => {
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 2000; i++) for (const d of deriveSecret(Buffer.alloc(32, 3), `id${i}`, 6, 'digits')) counts[Number(d)]++;
    for (const c of counts) expect(c).toBeGreaterThan(1000);
  });
});

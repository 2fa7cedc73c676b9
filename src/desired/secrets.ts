// Turns the secret fields of a validated desired state into in-memory Secrets: age decryption or deterministic generation.
import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatPath, type Diagnostic } from './diagnostic.ts';
import { resourcesOf } from './load.ts';
import type { AnyResource, DesiredState, Kind, SecretSource, SecretStore } from './model.ts';
import { sensitivePaths } from './schema.ts';
import { Secret, sha256Hex } from './secret.ts';

export interface SecretOptions {
  /** age identity files able to decrypt the `encrypted` values. */
  readonly ageIdentityFiles: readonly string[];
  /** Key from which generated secrets are derived; the same key gives the same values on every pass. */
  readonly generatorKey: Buffer;
}

const ALNUM = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const DIGITS = '0123456789';

/** Derives a generated secret: HMAC-SHA256 keyed by the controller, expanded and mapped onto the charset without modulo bias. */
export function deriveSecret(key: Buffer, id: string, length: number, charset: 'alnum' | 'digits'): string {
  const alphabet = charset === 'digits' ? DIGITS : ALNUM;
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  for (let block = 0; out.length < length; block++) {
    const bytes = createHmac('sha256', key).update(`${id}\u0000${block}`).digest();
    for (const b of bytes) {
      if (b < limit) out += alphabet[b % alphabet.length];
      if (out.length === length) break;
    }
  }
  // Complexity rules (AD) want mixed classes: a fixed suffix-free guarantee by replacing the first three characters.
  if (charset === 'alnum' && length >= 8) out = `${'ABCDEFGHJKLMNPQRSTUVWXYZ'[out.charCodeAt(0) % 24]}${'abcdefghijkmnopqrstuvwxyz'[out.charCodeAt(1) % 25]}${'23456789'[out.charCodeAt(2) % 8]}${out.slice(3)}`;
  return out;
}

/** Loads the generator key from the state directory, creating it (0600) on first use. */
export async function loadGeneratorKey(path: string): Promise<Buffer> {
  try {
    const hex = (await readFile(path, 'utf8')).trim();
    if (/^[0-9a-f]{64}$/.test(hex)) return Buffer.from(hex, 'hex');
    throw new Error(`${path} is not a 32-byte hex key`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const key = randomBytes(32);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  }
}

export function decryptAge(ciphertext: string, identityFiles: readonly string[]): Promise<string> {
  const args = ['--decrypt', ...identityFiles.flatMap((f) => ['-i', f])];
  return new Promise((resolve, reject) => {
    const child = execFile('age', args, { maxBuffer: 64 * 1024, timeout: 10_000 }, (err, stdout, stderr) => {
      // age's stderr names no secret; keep only its first line.
      if (err) reject(new Error(String(stderr).split('\n')[0] || 'age failed'));
      else resolve(stdout.replace(/\r?\n$/, ''));
    });
    child.stdin?.end(ciphertext);
  });
}

function getIn(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const p of path) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[p];
  }
  return node;
}

const DEFAULT_LENGTH = { alnum: 20, digits: 6 } as const;

/** Resolves every secret field. Undecryptable values become diagnostics (never the value). */
export async function resolveSecrets(state: DesiredState, opts: SecretOptions): Promise<{ store: SecretStore; diagnostics: Diagnostic[] }> {
  const paths = sensitivePaths();
  const secrets = new Map<string, Secret>();
  const diagnostics: Diagnostic[] = [];
  const jobs: Array<() => Promise<void>> = [];
  for (const r of resourcesOf(state) as AnyResource[]) {
    for (const dotted of paths.get(r.kind) ?? []) {
      const path = dotted.split('.');
      const source = getIn(r, path) as SecretSource | undefined;
      if (!source) continue;
      const field = path.slice(1).join('.');
      const id = `${r.kind}/${r.metadata.name}#${field}`;
      if ('generate' in source) {
        const charset = source.charset ?? 'alnum';
        const value = deriveSecret(opts.generatorKey, id, source.length ?? DEFAULT_LENGTH[charset], charset);
        secrets.set(id, new Secret(value, 'generated', sha256Hex(`generated:${id}:${source.length ?? ''}:${charset}`)));
        continue;
      }
      const fingerprint = sha256Hex(source.encrypted);
      jobs.push(() =>
        (opts.ageIdentityFiles.length === 0
          ? Promise.reject(new Error('no age identity configured (secrets.ageIdentityFiles or INFRASEC_AGE_IDENTITY_FILE)'))
          : decryptAge(source.encrypted, opts.ageIdentityFiles)
        ).then(
          (value) => void secrets.set(id, new Secret(value, 'encrypted', fingerprint)),
          (err: Error) => {
            const { line, col } = r.source.at(path);
            diagnostics.push({ file: r.source.file, line, col, path: formatPath(path), code: 'secret-undecryptable', message: `cannot decrypt: ${err.message}`, severity: 'error' });
          },
        ),
      );
    }
  }
  // At most a few age processes at a time.
  const queue = [...jobs];
  await Promise.all(Array.from({ length: Math.min(4, queue.length) }, async () => {
    for (let job = queue.shift(); job; job = queue.shift()) await job();
  }));
  const store: SecretStore = { get: (kind: Kind, name: string, field: string) => secrets.get(`${kind}/${name}#${field}`) };
  return { store, diagnostics };
}

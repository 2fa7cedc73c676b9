// Turns the secret fields of a validated desired state into in-memory Secrets: age decryption or deterministic generation.
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { formatPath, type Diagnostic } from './diagnostic.ts';
import type { DesiredState, Kind, SecretStore } from './model.ts';
import { isGenerated, secretFieldsOf } from './secret-fields.ts';
import { Secret, sha256Hex } from './secret.ts';

export interface SecretOptions {
  /** age identity files able to decrypt the `encrypted` values. */
  readonly ageIdentityFiles: readonly string[];
  /** Key from which generated secrets are derived (the same key gives the same values on every pass); read only when needed. */
  readonly generatorKey: () => Promise<Buffer>;
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

const DEFAULT_LENGTH = { alnum: 20, digits: 6 } as const;

/**
 * Resolves every secret field. Undecryptable values become diagnostics (never the value). `generatorKey` is asked for
 * only when a field is generated, so a state without generated secrets needs no initialized state directory.
 */
export async function resolveSecrets(state: DesiredState, opts: SecretOptions): Promise<{ store: SecretStore; diagnostics: Diagnostic[] }> {
  const secrets = new Map<string, Secret>();
  const diagnostics: Diagnostic[] = [];
  const jobs: Array<() => Promise<void>> = [];
  const fields = secretFieldsOf(state);
  const key = fields.some((f) => isGenerated(f.source)) ? await opts.generatorKey() : undefined;
  for (const { resource: r, path, id, source } of fields) {
    if (isGenerated(source)) {
      const charset = source.charset ?? 'alnum';
      const value = deriveSecret(key!, id, source.length ?? DEFAULT_LENGTH[charset], charset);
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
  // At most a few age processes at a time.
  const queue = [...jobs];
  await Promise.all(Array.from({ length: Math.min(4, queue.length) }, async () => {
    for (let job = queue.shift(); job; job = queue.shift()) await job();
  }));
  const store: SecretStore = { get: (kind: Kind, name: string, field: string) => secrets.get(`${kind}/${name}#${field}`) };
  return { store, diagnostics };
}

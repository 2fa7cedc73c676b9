// Encrypts a hand-over to age recipients with the `age` command, the same tool that decrypts the secrets in Git (desired/secrets.ts).
import { execFile } from 'node:child_process';
import { InfrasecError } from '../errors.ts';

export interface Recipients {
  /** Recipient strings as age takes them with -r: `age1…` or an SSH public key. */
  readonly recipients: readonly string[];
  /** Files of recipients, one a line (age -R). */
  readonly files: readonly string[];
}

/** Pure: the recipients in full for messages and the audit trail (public keys, never secrets), so a hand-over names the key it went to. */
export function describeRecipients(r: Recipients): string {
  return [...r.recipients, ...r.files.map((f) => `the recipients in ${f}`)].join(', ');
}

/** ASCII-armored age ciphertext of `plaintext` for every recipient. age's error names a bad recipient, never the plaintext. */
export function encryptAge(plaintext: string | Buffer, r: Recipients, signal?: AbortSignal): Promise<string> {
  if (r.recipients.length === 0 && r.files.length === 0) return Promise.reject(new InfrasecError('no-recipient', 'no age recipient given (--to or --recipients-file)'));
  const args = ['--encrypt', '--armor', ...r.recipients.flatMap((k) => ['-r', k]), ...r.files.flatMap((f) => ['-R', f])];
  return new Promise((resolve, reject) => {
    const child = execFile('age', args, { maxBuffer: 16 * 1024 * 1024, timeout: 30_000, signal }, (err, stdout, stderr) => {
      if (err) reject(new InfrasecError('encrypt-failed', `age could not encrypt: ${String(stderr).split('\n').find((l) => l.trim()) ?? (err as Error).message}`));
      else resolve(stdout);
    });
    child.stdin?.on('error', () => undefined); // age exits early on a bad recipient; its message is the one to report
    child.stdin?.end(plaintext);
  });
}

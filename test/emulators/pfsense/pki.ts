// Real X.509 for the emulator: CAs, certificates and CRLs made by the openssl CLI, parsed with node:crypto.
import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

export interface KeySpec {
  keytype: 'RSA' | 'ECDSA';
  keylen: number;
  ecname: string;
  digest: string;
}

export interface Pem {
  crt: string;
  prv: string;
}

const OPENSSL_DEADLINE_MS = 30_000;

function openssl(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: OPENSSL_DEADLINE_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args[0]} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

async function inTempDir<T>(job: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pfsense-pki-'));
  try {
    return await job(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `-subj` syntax: `/` `+` `=` `\` `,` are escaped with a backslash so a CN cannot add RDNs. */
export function subjectArg(dn: Record<string, string>): string {
  const esc = (v: string) => v.replace(/[\\/+=,]/g, (c) => `\\${c}`);
  return Object.entries(dn)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `/${k}=${esc(v)}`)
    .join('') || '/';
}

function keyArgs(spec: KeySpec): string[] {
  return spec.keytype === 'ECDSA'
    ? ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${spec.ecname}`]
    : ['-newkey', `rsa:${spec.keylen}`];
}

const EXTENSIONS = {
  ca: 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n',
  user:
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment,keyAgreement\nextendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
  server:
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment,keyAgreement\nextendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
};

function sanLine(sans: { dns?: string[]; ip?: string[]; email?: string[]; uri?: string[] }): string {
  const parts = [
    ...(sans.dns ?? []).map((v) => `DNS:${v}`),
    ...(sans.ip ?? []).map((v) => `IP:${v}`),
    ...(sans.email ?? []).map((v) => `email:${v}`),
    ...(sans.uri ?? []).map((v) => `URI:${v}`),
  ];
  return parts.length > 0 ? `subjectAltName=${parts.join(',')}\n` : '';
}

function configText(ext: string): string {
  return `[req]\ndistinguished_name=dn\nprompt=no\nutf8=yes\nx509_extensions=ext\n[dn]\n[ext]\n${ext}`;
}

const randomSerial = (): string => `0x${(randomBytes(15)[0]! & 0x7f).toString(16).padStart(2, '0')}${randomBytes(14).toString('hex')}`;

/** A self-signed CA. */
export function generateCa(opts: { dn: Record<string, string>; lifetimeDays: number; key: KeySpec }): Promise<Pem> {
  return inTempDir(async (dir) => {
    await writeFile(path.join(dir, 'req.cnf'), configText(EXTENSIONS.ca));
    await openssl(
      ['req', '-x509', '-config', 'req.cnf', ...keyArgs(opts.key), '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt',
        `-${opts.key.digest}`, '-days', String(opts.lifetimeDays), '-subj', subjectArg(opts.dn), '-set_serial', randomSerial()],
      dir,
    );
    return { crt: await readFile(path.join(dir, 'ca.crt'), 'utf8'), prv: await readFile(path.join(dir, 'ca.key'), 'utf8') };
  });
}

/** A key pair and a certificate signed by `ca`. */
export function issueCertificate(opts: {
  ca: Pem;
  dn: Record<string, string>;
  lifetimeDays: number;
  key: KeySpec;
  type: 'user' | 'server';
  sans?: { dns?: string[]; ip?: string[]; email?: string[]; uri?: string[] };
}): Promise<Pem> {
  return inTempDir(async (dir) => {
    await writeFile(path.join(dir, 'req.cnf'), configText(EXTENSIONS[opts.type] + sanLine(opts.sans ?? {})));
    await writeFile(path.join(dir, 'ca.crt'), opts.ca.crt);
    await writeFile(path.join(dir, 'ca.key'), opts.ca.prv, { mode: 0o600 });
    await openssl(
      ['req', '-x509', '-config', 'req.cnf', ...keyArgs(opts.key), '-nodes', '-keyout', 'c.key', '-out', 'c.crt',
        '-CA', 'ca.crt', '-CAkey', 'ca.key', `-${opts.key.digest}`, '-days', String(opts.lifetimeDays),
        '-subj', subjectArg(opts.dn), '-set_serial', randomSerial()],
      dir,
    );
    return { crt: await readFile(path.join(dir, 'c.crt'), 'utf8'), prv: await readFile(path.join(dir, 'c.key'), 'utf8') };
  });
}

const asn1Time = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';

/** A CRL signed by `ca` listing `revoked` (serials in hex), numbered `crlNumber`. */
export function buildCrl(opts: {
  ca: Pem;
  revoked: readonly { serial: string; revokedAt: Date; subject: string }[];
  crlNumber: number;
  lifetimeDays: number;
}): Promise<string> {
  return inTempDir(async (dir) => {
    const index = opts.revoked
      .map((r) => {
        const serial = r.serial.toUpperCase().padStart(r.serial.length + (r.serial.length % 2), '0');
        return `R\t${asn1Time(new Date(Date.now() + 3650 * 86400_000))}\t${asn1Time(r.revokedAt)}\t${serial}\tunknown\t${r.subject}\n`;
      })
      .join('');
    await writeFile(path.join(dir, 'index.txt'), index);
    await writeFile(path.join(dir, 'crlnumber'), `${opts.crlNumber.toString(16).toUpperCase().padStart(2, '0')}\n`);
    await writeFile(path.join(dir, 'ca.crt'), opts.ca.crt);
    await writeFile(path.join(dir, 'ca.key'), opts.ca.prv, { mode: 0o600 });
    await writeFile(
      path.join(dir, 'ca.cnf'),
      `[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\ndefault_crl_days=${opts.lifetimeDays}\n`,
    );
    await openssl(['ca', '-gencrl', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.crt', '-out', 'crl.pem', '-batch'], dir);
    return readFile(path.join(dir, 'crl.pem'), 'utf8');
  });
}

/** A static OpenVPN key (tls-auth / tls-crypt). */
export function generateOpenVpnStaticKey(): string {
  const hex = randomBytes(256).toString('hex');
  const lines = hex.match(/.{32}/g) ?? [];
  return `#\n# 2048 bit OpenVPN static key\n#\n-----BEGIN OpenVPN Static key V1-----\n${lines.join('\n')}\n-----END OpenVPN Static key V1-----\n`;
}

export interface CertFacts {
  serial: string;
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  commonName: string;
}

/** Parses a PEM certificate; throws on garbage. */
export function certificateFacts(crt: string): CertFacts {
  const x = new X509Certificate(crt);
  const cn = (/(?:^|\n)CN=([^\n]*)/.exec(x.subject)?.[1] ?? '').replace(/\\(.)/g, '$1');
  return { serial: x.serialNumber, subject: x.subject, issuer: x.issuer, validFrom: x.validFrom, validTo: x.validTo, commonName: cn };
}

/** True when `prv` is the private key of `crt`. */
export function keyMatches(crt: string, prv: string): boolean {
  try {
    return new X509Certificate(crt).checkPrivateKey(createPrivateKey(prv));
  } catch {
    return false;
  }
}

/** The `-subj`-style subject openssl's index.txt wants. */
export function opensslSubject(crt: string): string {
  return '/' + new X509Certificate(crt).subject.split('\n').join('/');
}

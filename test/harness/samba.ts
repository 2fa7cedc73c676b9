// Test harness: a real Samba AD DC per call — provisioned once per machine as a template, copied, started on its own loopback address.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { chmod, cp, mkdtemp, readFile, rename, rm, unlink, writeFile, mkdir } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { Client } from 'ldapts';
import { machineTmp } from './machine-tmp.ts';

const run = promisify(execFile);

export const REALM = 'COD67.INFRASEC.TEST';
export const DOMAIN = 'COD67';
export const BASE_DN = 'DC=cod67,DC=infrasec,DC=test';
/** Meets Samba's default complexity rules; tests only, never a real credential. */
export const DEFAULT_ADMIN_PASSWORD = 'Harness-Adm1n!2024';
const NETBIOS_NAME = 'DC67';
/** Placeholder address in the template's smb.conf, rewritten per instance. */
const TEMPLATE_INTERFACE = '127.0.0.1';

export interface SambaDcOptions {
  /** Administrator password; a different one gets its own template. */
  readonly adminPassword?: string;
  /** How long to wait for LDAPS to answer after start. Default 60 s. */
  readonly startTimeoutMs?: number;
  /** Keep the instance directory after stop (for debugging). */
  readonly keepDir?: boolean;
  /**
   * Serve LDAPS with a certificate from a CA the harness makes, naming the DC's loopback IP as well as its DNS name
   * (subjectAltName), instead of Samba's self-generated one (which names the DNS name only). For clients that cannot
   * be told a TLS server name and verify against the address they dial, e.g. python-ldap under Modoboa. Off by
   * default: the tests of infrasec's own hostname check need a connection by IP to be refused.
   */
  readonly certificateNamesAddress?: boolean;
}

export interface SambaDc {
  readonly ldapsUrl: string;
  readonly ldapUrl: string;
  readonly host: string;
  readonly baseDN: string;
  readonly bindDN: string;
  readonly bindPassword: string;
  /** The CA of the DC's certificate (DIR/private/tls/ca.pem): Samba's self-generated one, or the harness's. */
  readonly caFile: string;
  /** The name in the DC's certificate (CN=<NETBIOS>.<realm>): pass as tlsServerName/servername when connecting by IP. */
  readonly tlsServerName: string;
  readonly realm: string;
  readonly domain: string;
  readonly dir: string;
  /** The PID of the samba process serving now (changes after restart()). */
  readonly pid: number;
  /** Freezes the DC (SIGSTOP to its own PID): connections stay open, nothing answers. */
  pause(): void;
  /** Thaws a paused DC (SIGCONT). */
  resume(): void;
  /**
   * Kills the DC (SIGKILL to its own PID, no clean shutdown) and, after `downMs`, starts samba again on the same
   * instance directory and address; resolves once LDAPS answers again.
   */
  restart(downMs?: number): Promise<void>;
  /** Stops this DC (its own PID only), removes its address (if the harness added it) and its directory. Idempotent. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sambaVersion(): Promise<string> {
  try {
    const { stdout } = await run('samba', ['--version']);
    return stdout.trim().replace(/^Version\s+/i, '').replace(/[^\w.-]/g, '_');
  } catch (err) {
    throw new Error(`samba is not installed (run scripts/setup.sh as root): ${(err as Error).message}`, { cause: err });
  }
}

function provisionArgs(dir: string, adminPassword: string): string[] {
  return [
    'domain', 'provision',
    `--realm=${REALM}`, `--domain=${DOMAIN}`, '--server-role=dc', '--dns-backend=NONE',
    `--adminpass=${adminPassword}`, `--targetdir=${dir}`,
    `--option=netbios name = ${NETBIOS_NAME}`,
    `--option=interfaces = ${TEMPLATE_INTERFACE}`,
    '--option=bind interfaces only = yes',
    // Everything a running samba writes outside sam.ldb goes under the instance directory, so two can run at once.
    `--option=pid directory = ${dir}/run`,
    `--option=log file = ${dir}/log/samba.log`,
    `--option=ncalrpc dir = ${dir}/run/ncalrpc`,
    `--option=winbindd socket directory = ${dir}/run/winbindd`,
    `--option=ntp signd socket directory = ${dir}/run/ntp_signd`,
    // The tests speak LDAP only: no smbd, winbindd, KDC or RPC children, fewer ports, faster start.
    '--option=server services = ldap',
  ];
}

/**
 * Provisions the template once per machine (per samba version and admin password). Two processes racing here
 * both provision into private temp dirs; the first rename wins and the loser uses the winner's.
 */
async function ensureTemplate(adminPassword: string): Promise<{ dir: string; provisionedAt: string }> {
  const version = await sambaVersion();
  const hash = createHash('sha256').update(JSON.stringify(provisionArgs('DIR', adminPassword))).digest('hex').slice(0, 12);
  const dir = join(machineTmp(), `infrasec-samba-template-${version}-${hash}`);
  const meta = join(dir, 'template.json');
  if (existsSync(meta)) return { dir, provisionedAt: (JSON.parse(await readFile(meta, 'utf8')) as { provisionedAt: string }).provisionedAt };

  const staging = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(staging, { recursive: true });
  try {
    await run('samba-tool', provisionArgs(staging, adminPassword), { maxBuffer: 16 * 1024 * 1024 });
    await writeFile(join(staging, 'template.json'), JSON.stringify({ provisionedAt: staging, version }));
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    const e = err as { stderr?: string; message: string };
    throw new Error(`samba-tool domain provision failed: ${(e.stderr ?? e.message).split('\n').slice(-5).join('\n')}`, { cause: err });
  }
  try {
    await rename(staging, dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    await rm(staging, { recursive: true, force: true });
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
  }
  return { dir, provisionedAt: (JSON.parse(await readFile(meta, 'utf8')) as { provisionedAt: string }).provisionedAt };
}

const ADDR_LOCK_DIR = join(machineTmp(), 'infrasec-samba-addresses');

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host, port });
    const done = (open: boolean) => {
      s.destroy();
      resolve(open);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(500, () => done(false));
  });
}

/** Claims a free 127.0.0.N with an O_EXCL lock file (stale locks of dead processes are taken over). */
async function claimAddress(): Promise<{ host: string; lockFile: string }> {
  await mkdir(ADDR_LOCK_DIR, { recursive: true });
  for (let n = 20; n < 250; n++) {
    const host = `127.0.0.${n}`;
    const lockFile = join(ADDR_LOCK_DIR, host);
    try {
      await writeFile(lockFile, String(process.pid), { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(lockFile, 'utf8').trim());
      // An empty lock is one being written right now: leave it to its owner.
      if (!owner || pidAlive(owner)) continue;
      // Stale: its process is gone. Take it over only if nothing listens there (an orphaned samba would).
      if ((await portOpen(host, 389)) || (await portOpen(host, 636))) continue;
      await unlink(lockFile).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      n--; // retry this address with O_EXCL
      continue;
    }
    if ((await portOpen(host, 389)) || (await portOpen(host, 636))) {
      await unlink(lockFile);
      continue;
    }
    return { host, lockFile };
  }
  throw new Error('no free loopback address 127.0.0.20-249 for a Samba DC');
}

async function loopbackHas(host: string): Promise<boolean> {
  const { stdout } = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lo']);
  return stdout.split('\n').some((l) => l.includes(` ${host}/`));
}

async function waitForLdaps(host: string, child: ChildProcess, logFile: string, timeoutMs: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    if (exited()) break;
    const up = await new Promise<boolean>((resolve) => {
      const s = tlsConnect({ host, port: 636, rejectUnauthorized: false });
      s.once('secureConnect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.setTimeout(1000, () => {
        s.destroy();
        resolve(false);
      });
    });
    if (up) return;
    await sleep(Math.min(100 * 2 ** Math.min(attempt, 3), 500));
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '(no log)';
  throw new Error(`samba (pid ${child.pid}) did not answer LDAPS on ${host}:636 within ${timeoutMs} ms${exited() ? ' (it exited)' : ''}:\n${tail}`);
}

/**
 * Writes a CA and a server certificate naming `dnsName` and `ip` where Samba looks for its TLS files (DIR/private/tls,
 * the key 0600 as Samba demands), so Samba serves them instead of generating its own. EC P-256: instant to make.
 */
async function writeAddressCertificate(dir: string, dnsName: string, ip: string): Promise<void> {
  const tls = join(dir, 'private', 'tls');
  await mkdir(tls, { recursive: true, mode: 0o700 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30'];
  const caKey = join(dir, 'harness-ca-key.pem');
  try {
    await run('openssl', ['req', '-x509', ...ec, '-keyout', caKey, '-out', join(tls, 'ca.pem'), '-subj', `/CN=infrasec test CA for ${ip}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    await run('openssl', ['req', '-x509', ...ec, '-keyout', join(tls, 'key.pem'), '-out', join(tls, 'cert.pem'), '-subj', `/CN=${dnsName}`,
      '-CA', join(tls, 'ca.pem'), '-CAkey', caKey,
      '-addext', `subjectAltName=DNS:${dnsName},IP:${ip}`, '-addext', 'basicConstraints=critical,CA:FALSE',
      '-addext', 'keyUsage=critical,digitalSignature', '-addext', 'extendedKeyUsage=serverAuth']);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl could not make the DC's certificate: ${(e.stderr ?? e.message).trim().split('\n').slice(-3).join('\n')}`, { cause: err });
  } finally {
    await rm(caKey, { force: true });
  }
  await chmod(join(tls, 'key.pem'), 0o600);
}

/** The INFRASEC_AD_* variables that point infrasec at this DC. */
export function adEnvironment(dc: SambaDc): Record<string, string> {
  return {
    INFRASEC_AD_URL: dc.ldapsUrl,
    INFRASEC_AD_BIND_DN: dc.bindDN,
    INFRASEC_AD_BIND_PASSWORD: dc.bindPassword,
    INFRASEC_AD_BASE_DN: dc.baseDN,
    INFRASEC_AD_CA_FILE: dc.caFile,
    INFRASEC_AD_TLS_SERVER_NAME: dc.tlsServerName,
  };
}

export async function startSambaDc(opts: SambaDcOptions = {}): Promise<SambaDc> {
  const adminPassword = opts.adminPassword ?? DEFAULT_ADMIN_PASSWORD;
  const template = await ensureTemplate(adminPassword);
  const { host, lockFile } = await claimAddress();
  const dir = await mkdtemp(join(machineTmp(), 'infrasec-samba-'));
  let addedAddress = false;
  let child: ChildProcess | undefined;
  let exitHook: (() => void) | undefined;

  const cleanup = async () => {
    if (exitHook) process.off('exit', exitHook);
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const c = child;
      const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      // A paused DC (pause()) only sees the SIGTERM once it runs again.
      c.kill('SIGCONT');
      const timedOut = await Promise.race([gone.then(() => false), sleep(10_000).then(() => true)]);
      if (timedOut) {
        c.kill('SIGKILL');
        await gone;
      }
    }
    if (addedAddress) await run('ip', ['addr', 'del', `${host}/8`, 'dev', 'lo']);
    if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
    await unlink(lockFile).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  };

  try {
    await cp(template.dir, dir, { recursive: true });
    const conf = join(dir, 'etc', 'smb.conf');
    const text = (await readFile(conf, 'utf8'))
      .split(template.provisionedAt)
      .join(dir)
      .replace(/^(\s*interfaces\s*=).*$/m, `$1 ${host}`);
    await writeFile(conf, text);
    await mkdir(join(dir, 'run'), { recursive: true });
    await mkdir(join(dir, 'log'), { recursive: true });
    if (opts.certificateNamesAddress) await writeAddressCertificate(dir, `${NETBIOS_NAME}.${REALM.toLowerCase()}`, host);

    if (!(await loopbackHas(host))) {
      try {
        await run('ip', ['addr', 'add', `${host}/8`, 'dev', 'lo']);
        addedAddress = true;
      } catch (err) {
        const stderr = (err as { stderr?: string }).stderr ?? '';
        if (!/File exists/.test(stderr)) throw new Error(`cannot add ${host} to lo (root needed): ${stderr.trim() || (err as Error).message}`, { cause: err });
      }
    } else if (host !== TEMPLATE_INTERFACE) {
      // Already there while we hold its lock and nothing listens on it: left by a harness process that died before
      // stop() (its exit hook kills samba but cannot run `ip`). Ours now, so stop() removes it.
      addedAddress = true;
    }

    const spawnSamba = async (): Promise<void> => {
      const logFile = join(dir, 'log', 'stdout.log');
      const out = openSync(logFile, 'a');
      let exited = false;
      let c: ChildProcess;
      try {
        c = spawn('samba', ['-s', conf, '--foreground', '--no-process-group', '-M', 'single'], { stdio: ['ignore', out, out] });
      } finally {
        closeSync(out);
      }
      child = c;
      c.once('exit', () => {
        exited = true;
      });
      const pid = c.pid;
      if (pid === undefined) throw new Error('samba did not start');
      // If the test process dies without calling stop(), don't leave an orphaned DC holding the address.
      if (exitHook) process.off('exit', exitHook);
      exitHook = () => {
        if (!exited) process.kill(pid, 'SIGKILL');
        if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
      };
      process.once('exit', exitHook);
      await waitForLdaps(host, c, join(dir, 'log', 'samba.log'), opts.startTimeoutMs ?? 60_000, () => exited);
    };
    await spawnSamba();
    const caFile = join(dir, 'private', 'tls', 'ca.pem');
    const cert = new X509Certificate(await readFile(join(dir, 'private', 'tls', 'cert.pem')));
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
    if (!cn) throw new Error(`cannot read the CN of Samba's certificate: ${cert.subject}`);

    const bindDN = `CN=Administrator,CN=Users,${BASE_DN}`;
    // LDAPS answering is not quite LDAP ready: one verified bind proves the whole stack.
    const probe = new Client({ url: `ldaps://${host}`, tlsOptions: { ca: readFileSync(caFile), servername: cn }, timeout: 10_000, connectTimeout: 10_000 });
    try {
      await probe.bind(bindDN, adminPassword);
    } finally {
      await probe.unbind();
    }

    let stopped: Promise<void> | undefined;
    return {
      ldapsUrl: `ldaps://${host}`,
      ldapUrl: `ldap://${host}`,
      host,
      baseDN: BASE_DN,
      bindDN,
      bindPassword: adminPassword,
      caFile,
      tlsServerName: cn,
      realm: REALM,
      domain: DOMAIN,
      dir,
      get pid() {
        return child!.pid!;
      },
      pause: () => {
        child!.kill('SIGSTOP');
      },
      resume: () => {
        child!.kill('SIGCONT');
      },
      restart: async (downMs = 0) => {
        const c = child!;
        if (c.exitCode === null && c.signalCode === null) {
          const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
          c.kill('SIGKILL');
          await gone;
        }
        await sleep(downMs);
        await spawnSamba();
      },
      stop: () => (stopped ??= cleanup()),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

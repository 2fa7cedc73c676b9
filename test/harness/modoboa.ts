// Test harness: a real Modoboa (PyPI, SQLite, gunicorn) per call — deployed once per machine as a template, copied, started on a loopback address.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { appendFile, cp, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Agent, fetch } from 'undici';
import { machineTmp } from './machine-tmp.ts';

const run = promisify(execFile);
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SETUP_SCRIPT = join(REPO, 'scripts', 'setup-modoboa.sh');

export const ADMIN_USERNAME = 'admin';

/**
 * Appended to the deployed settings.py. Deploy hard-codes a Redis cache and RQ queues on localhost:6379 and syslog on
 * /dev/log; the tests have neither. The database lives beside manage.py so a copied instance is self-contained.
 */
const SETTINGS_OVERRIDES = `
# --- infrasec test harness: everything below overrides the deployed defaults ---
import json as _infrasec_json
DATABASES['default']['NAME'] = os.path.join(BASE_DIR, 'modoboa.db')
CACHES = {'default': {'BACKEND': 'django.core.cache.backends.locmem.LocMemCache', 'LOCATION': 'infrasec'}}
for _q in RQ_QUEUES.values():
    _q['ASYNC'] = False
DEBUG = False
ALLOWED_HOSTS = os.environ.get('INFRASEC_MODOBOA_ALLOWED_HOSTS', '127.0.0.1').split(',')
REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'].update(_infrasec_json.loads(os.environ.get('INFRASEC_MODOBOA_THROTTLE_RATES', '{}')))
# Modoboa's LDAP backend does nothing until the global parameter authentication_type is "ldap".
AUTHENTICATION_BACKENDS = ('modoboa.lib.authbackends.LDAPBackend',) + tuple(AUTHENTICATION_BACKENDS)
PID_FILE_STORAGE_PATH = BASE_DIR
# What \`doveadm pw -l\` offers on a Modoboa host with Dovecot. Without Dovecot, Modoboa falls back to MD5-CRYPT and
# PLAIN and then refuses its own default scheme (sha512crypt) whenever the global parameters are saved.
DOVECOT_SUPPORTED_SCHEMES = 'SHA512-CRYPT SHA256-CRYPT BLF-CRYPT MD5-CRYPT PLAIN'
LOGGING = {
    'version': 1,
    'handlers': {'console': {'class': 'logging.StreamHandler'}, 'modoboa': {'class': 'modoboa.core.loggers.SQLHandler'}},
    'loggers': {
        'django': {'handlers': ['console'], 'level': 'ERROR', 'propagate': False},
        'django_auth_ldap': {'handlers': ['console'], 'level': 'DEBUG', 'propagate': False},
        'modoboa': {'handlers': ['modoboa', 'console'], 'level': 'INFO', 'propagate': False},
    },
}
`;

/**
 * Throttle rates the harness starts Modoboa with: throttling stays on (the client must cope with 429), but the
 * stock 5 writes/s per view would make every test wait. A test of the 429 path passes its own, lower rates.
 */
export const TEST_THROTTLE_RATES: Readonly<Record<string, string>> = { user: '6000/minute', ddos: '200/second', ddos_lesser: '6000/minute' };

export interface ModoboaOptions {
  /** DRF throttle rates by scope (`user`, `ddos`, `ddos_lesser`, `login`...); merged over TEST_THROTTLE_RATES. */
  readonly throttleRates?: Readonly<Record<string, string>>;
  /** How long to wait for the API to answer after start. Default 90 s. */
  readonly startTimeoutMs?: number;
  /** Keep the instance directory after stop (for debugging). */
  readonly keepDir?: boolean;
  /**
   * PEM file of the CA that Modoboa's LDAP client (python-ldap, libldap) trusts: the harness's stand-in for the
   * TLS_CACERT line an admin puts in the Modoboa host's ldap.conf. Verification stays on (TLS_REQCERT demand) whatever
   * the caller's environment says. Unset: libldap's defaults (the system's store).
   */
  readonly ldapCaFile?: string;
}

export interface Modoboa {
  /** Base URL without a trailing slash, e.g. http://127.0.0.42:41234. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The superuser's DRF token (40 hex), fresh for this instance. */
  readonly token: string;
  readonly adminUsername: string;
  readonly dir: string;
  readonly dbFile: string;
  readonly pid: number;
  /** Runs SQL on the instance's SQLite database (read-only connection) and returns the rows. */
  query(sql: string, params?: readonly (string | number)[]): Promise<unknown[][]>;
  /** Runs `manage.py ARGS` in the instance with its venv; rejects with the output's tail on failure. */
  manage(args: readonly string[]): Promise<string>;
  /**
   * Signs in through Modoboa's login form as a browser does (CSRF cookie and token, then the POST) and returns the
   * answer's status: 302 signed in, 401 refused.
   */
  login(username: string, password: string): Promise<number>;
  /** Stops this Modoboa (its process group only) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(text: string, lines = 12): string {
  return text.split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n');
}

/** The cached venv from scripts/setup-modoboa.sh (installed once per machine; quick afterwards). */
export async function modoboaVenv(): Promise<string> {
  try {
    const { stdout } = await run('bash', [SETUP_SCRIPT], { maxBuffer: 4 * 1024 * 1024, timeout: 20 * 60_000 });
    const venv = stdout.trim().split('\n').pop() ?? '';
    if (!existsSync(join(venv, 'bin', 'python'))) throw new Error(`setup-modoboa.sh printed no venv path (got "${venv}")`);
    return venv;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`Modoboa is not installed: ${tail(e.stderr ?? e.message, 8)}`, { cause: err });
  }
}

async function manageIn(venv: string, instanceDir: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout, stderr } = await run(join(venv, 'bin', 'python'), ['manage.py', ...args], {
      cwd: instanceDir,
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 10 * 60_000,
    });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`manage.py ${args[0]} failed:\n${tail(`${e.stdout ?? ''}\n${e.stderr ?? e.message}`)}`, { cause: err });
  }
}

/**
 * Signs in through Modoboa's login form as a browser would. Each request on a connection of its own: gunicorn's gthread
 * worker can close a kept-alive connection just as the next request goes out on it (benoitc/gunicorn#1698, #3038),
 * seen here as "other side closed" on the POST once in a few runs; a person's browser would retry, a test must not.
 */
async function loginAt(url: string, username: string, password: string): Promise<number> {
  const dispatcher = new Agent({ pipelining: 0 });
  try {
    const form = await fetch(`${url}/accounts/login/`, { dispatcher, signal: AbortSignal.timeout(30_000) });
    const html = await form.text();
    const token = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(html)?.[1];
    if (form.status !== 200 || !token) throw new Error(`Modoboa's login form did not load (HTTP ${form.status})`);
    const cookie = form.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const res = await fetch(`${url}/accounts/login/`, {
      dispatcher,
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrfmiddlewaretoken: token, username, password }),
      signal: AbortSignal.timeout(60_000),
    });
    await res.arrayBuffer();
    return res.status;
  } finally {
    await dispatcher.close();
  }
}

const QUERY_SCRIPT = [
  'import json, sqlite3, sys',
  'c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=30)',
  'print(json.dumps(c.execute(sys.argv[2], json.loads(sys.argv[3])).fetchall(), default=str))',
].join('\n');

async function queryDb(venv: string, dbFile: string, sql: string, params: readonly (string | number)[] = []): Promise<unknown[][]> {
  const { stdout } = await run(join(venv, 'bin', 'python'), ['-c', QUERY_SCRIPT, dbFile, sql, JSON.stringify(params)], { timeout: 60_000 });
  return JSON.parse(stdout) as unknown[][];
}

const SET_TOKEN_SCRIPT = [
  'import sqlite3, sys',
  'c = sqlite3.connect(sys.argv[1], timeout=30)',
  'n = c.execute("UPDATE authtoken_token SET key = ? WHERE user_id = (SELECT id FROM core_user WHERE username = ?)", (sys.argv[2], sys.argv[3])).rowcount',
  'c.commit()',
  'sys.exit(0 if n == 1 else 3)',
].join('\n');

/**
 * Deploys the template once per machine (per venv and overrides). deploy exits 0 even when load_initial_data fails
 * (it needs Redis as deployed), so the harness re-runs every step after the overrides and checks each one.
 */
async function ensureTemplate(venv: string): Promise<string> {
  const hash = createHash('sha256').update(venv).update(SETTINGS_OVERRIDES).digest('hex').slice(0, 12);
  const dir = join(machineTmp(), `infrasec-modoboa-template-${hash}`);
  if (existsSync(join(dir, 'template.json'))) return dir;

  const staging = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(staging, { recursive: true });
  try {
    const instance = join(staging, 'instance');
    try {
      await run(
        join(venv, 'bin', 'modoboa-admin.py'),
        ['deploy', 'instance', '--dburl', `default:sqlite:///${join(instance, 'modoboa.db')}`, '--domain', '127.0.0.1', '--admin-username', ADMIN_USERNAME],
        { cwd: staging, maxBuffer: 64 * 1024 * 1024, timeout: 15 * 60_000 },
      );
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`modoboa-admin.py deploy failed:\n${tail(`${e.stdout ?? ''}\n${e.stderr ?? e.message}`)}`, { cause: err });
    }
    await appendFile(join(instance, 'instance', 'settings.py'), SETTINGS_OVERRIDES);
    // migrate is idempotent; run it after the overrides too so a half-done deploy migrate is finished or reported.
    await manageIn(venv, instance, ['migrate', '--noinput']);
    await manageIn(venv, instance, ['load_initial_data', '--admin-username', ADMIN_USERNAME]);
    await manageIn(venv, instance, ['set_default_site', '127.0.0.1']);
    const tokenOut = await manageIn(venv, instance, ['drf_create_token', ADMIN_USERNAME]);
    if (!/Generated token [0-9a-f]{40}/.test(tokenOut)) throw new Error(`drf_create_token printed no token: ${tail(tokenOut, 3)}`);
    // The checks deploy does not make: the superuser, its token and the default site are really there.
    const db = join(instance, 'modoboa.db');
    const [[admins], [tokens], [sites]] = await Promise.all([
      queryDb(venv, db, "SELECT count(*) FROM core_user WHERE username = ? AND is_superuser = 1", [ADMIN_USERNAME]),
      queryDb(venv, db, 'SELECT count(*) FROM authtoken_token'),
      queryDb(venv, db, "SELECT count(*) FROM django_site WHERE domain = '127.0.0.1'"),
    ]);
    if (admins?.[0] !== 1 || tokens?.[0] !== 1 || sites?.[0] !== 1) {
      throw new Error(`the deployed Modoboa is incomplete (superusers ${admins?.[0]}, tokens ${tokens?.[0]}, sites ${sites?.[0]})`);
    }
    await writeFile(join(staging, 'template.json'), JSON.stringify({ venv, deployedAt: new Date().toISOString() }));
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  try {
    await rename(staging, dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    await rm(staging, { recursive: true, force: true });
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
  }
  return dir;
}

/**
 * A free TCP port on a random 127.0.2.N (1-254): the kernel picks the port, we release it for gunicorn. Not in
 * 127.0.0.0/24, where the Samba harness adds and removes addresses on lo.
 */
async function freeAddress(): Promise<{ host: string; port: number }> {
  const host = `127.0.2.${1 + Math.floor(Math.random() * 254)}`;
  const srv = createServer();
  await new Promise<void>((ok, ko) => {
    srv.once('error', ko);
    srv.listen(0, host, () => ok());
  });
  const addr = srv.address();
  await new Promise<void>((ok) => srv.close(() => ok()));
  if (addr === null || typeof addr === 'string') throw new Error('could not read a free port');
  return { host, port: addr.port };
}

async function waitForApi(url: string, token: string, timeoutMs: number, exited: () => boolean, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let attempt = 0; Date.now() < deadline && !exited(); attempt++) {
    try {
      const res = await fetch(`${url}/api/v2/domains/?page_size=1`, { headers: { Authorization: `Token ${token}` }, signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(Math.min(100 * 2 ** Math.min(attempt, 3), 500));
  }
  const log = existsSync(logFile) ? tail(readFileSync(logFile, 'utf8'), 15) : '(no log)';
  throw new Error(`Modoboa did not answer ${url}/api/v2/ within ${timeoutMs} ms${exited() ? ' (gunicorn exited)' : ''} (last: ${last}):\n${log}`);
}

export async function startModoboa(opts: ModoboaOptions = {}): Promise<Modoboa> {
  const venv = await modoboaVenv();
  const template = await ensureTemplate(venv);
  const dir = await mkdtemp(join(machineTmp(), 'infrasec-modoboa-'));
  const instance = join(dir, 'instance');
  const dbFile = join(instance, 'modoboa.db');
  let child: ChildProcess | undefined;
  let exitHook: (() => void) | undefined;

  const killGroup = (pid: number, signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };

  const cleanup = async () => {
    if (exitHook) process.off('exit', exitHook);
    const c = child;
    if (c?.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      const gone = new Promise<void>((ok) => c.once('exit', () => ok()));
      killGroup(c.pid, 'SIGINT'); // gunicorn's quick shutdown; TERM would wait for the graceful timeout
      const timedOut = await Promise.race([gone.then(() => false), sleep(10_000).then(() => true)]);
      if (timedOut) {
        killGroup(c.pid, 'SIGKILL');
        await gone;
      }
    }
    // The workers are in the master's group; this reaches any that outlived the master.
    if (c?.pid !== undefined) killGroup(c.pid, 'SIGKILL');
    if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
  };

  try {
    await cp(join(template, 'instance'), instance, { recursive: true });
    const token = randomBytes(20).toString('hex');
    await run(join(venv, 'bin', 'python'), ['-c', SET_TOKEN_SCRIPT, dbFile, token, ADMIN_USERNAME], { timeout: 60_000 }).catch((err: unknown) => {
      throw new Error(`could not set this instance's API token: ${(err as Error).message}`, { cause: err });
    });
    const throttle = { ...TEST_THROTTLE_RATES, ...(opts.throttleRates ?? {}) };
    const logFile = join(dir, 'gunicorn.log');

    for (let attempt = 1; ; attempt++) {
      const { host, port } = await freeAddress();
      const out = openSync(logFile, 'a');
      let exited = false;
      try {
        child = spawn(
          join(venv, 'bin', 'gunicorn'),
          ['instance.wsgi:application', '--bind', `${host}:${port}`, '--workers', '1', '--threads', '4', '--timeout', '120', '--graceful-timeout', '5', '--error-logfile', '-'],
          {
            cwd: instance,
            detached: true, // its own process group: stop() signals the master and its workers together
            stdio: ['ignore', out, out],
            env: {
              ...process.env,
              INFRASEC_MODOBOA_ALLOWED_HOSTS: host,
              INFRASEC_MODOBOA_THROTTLE_RATES: JSON.stringify(throttle),
              ...(opts.ldapCaFile ? { LDAPTLS_CACERT: opts.ldapCaFile } : {}),
              LDAPTLS_REQCERT: 'demand',
            },
          },
        );
      } finally {
        closeSync(out);
      }
      child.once('exit', () => {
        exited = true;
      });
      const pid = child.pid;
      if (pid === undefined) throw new Error('gunicorn did not start');
      // If the test process dies without stop(), leave no orphaned gunicorn behind.
      if (exitHook) process.off('exit', exitHook);
      exitHook = () => {
        if (!exited) killGroup(pid, 'SIGKILL');
        if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
      };
      process.once('exit', exitHook);
      const url = `http://${host}:${port}`;
      try {
        await waitForApi(url, token, opts.startTimeoutMs ?? 90_000, () => exited, logFile);
      } catch (err) {
        // Someone took the port between our probe and gunicorn's bind: try another address, a few times.
        const lost = exited && /Address already in use/.test(existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
        if (lost && attempt < 3) continue;
        throw err;
      }

      let stopped: Promise<void> | undefined;
      return {
        url,
        host,
        port,
        token,
        adminUsername: ADMIN_USERNAME,
        dir,
        dbFile,
        pid,
        query: (sql, params) => queryDb(venv, dbFile, sql, params),
        manage: (args) => manageIn(venv, instance, args),
        login: (username, password) => loginAt(url, username, password),
        stop: () => (stopped ??= cleanup()),
      };
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
}

// The controller part of the README's main job: a local bare Git repository seeded from desired-state/, a throwaway Samba AD, `infrasec run` as a child; first apply, a new commit via webhook, a hand-made drift corrected, then stop.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Attribute, Change as LdapChange, Client } from 'ldapts';
import type { ControllerStatus } from '../src/controller/status.ts';
import type { DriftReport } from '../src/report/drift.ts';
import { githubSignature } from '../src/sources/webhook.ts';
import { adEnvironment, startSambaDc, type SambaDc } from '../test/harness/samba.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin', 'infrasec.js');

export interface ControllerDemoOptions {
  /** Leave the controller running (until Ctrl-C) instead of stopping after the last step. */
  readonly keepRunning?: boolean;
  /** A DC the caller already started (it keeps ownership of it); otherwise the demo starts and stops its own. */
  readonly dc?: SambaDc;
  /** More environment for the controller, e.g. the Asterisk emulator's INFRASEC_AMI_* settings. */
  readonly env?: NodeJS.ProcessEnv;
  readonly out?: NodeJS.WritableStream;
}

const WEBHOOK_SECRET = 'demo-webhook-secret';
const USER = 'pschmitt';

export async function runControllerDemo(opts: ControllerDemoOptions = {}): Promise<void> {
  const out = opts.out ?? process.stdout;
  const say = (text: string) => out.write(`${text}\n`);
  const banner = (text: string) => out.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
  const work = await mkdtemp(join(tmpdir(), 'infrasec-controller-demo-'));
  const ownDc = !opts.dc;
  let dc = opts.dc;
  let child: ChildProcess | undefined;
  let ldap: Client | undefined;
  try {
    banner('Controller 1. A Git repository with the desired state (bare, served over file://)');
    const bare = join(work, 'desired.git');
    const clone = join(work, 'clone');
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
    execFileSync('git', ['init', '-q', '-b', 'main', clone]);
    cpSync(join(ROOT, 'desired-state'), clone, { recursive: true });
    const git = (...args: string[]) => execFileSync('git', ['-C', clone, '-c', 'user.name=Marie Lefebvre', '-c', 'user.email=mlefebvre@cod67.example.fr', '-c', 'commit.gpgsign=false', ...args], { encoding: 'utf8' });
    git('add', '-A');
    git('commit', '-q', '-m', 'Desired state of the COD');
    git('push', '-q', bare, 'HEAD:main');
    const seed = git('rev-parse', 'HEAD').trim();
    say(`file://${bare} at ${seed.slice(0, 12)} (${git('ls-files').trim().split('\n').length} files)`);

    if (!dc) {
      banner('Controller 2. A throwaway Samba AD domain controller');
      dc = await startSambaDc();
      say(`Samba AD DC ${dc.realm} on ${dc.ldapsUrl} (pid ${dc.pid})`);
    }

    banner('Controller 3. `infrasec run`: the controller follows main, re-checks for drift every 2 s');
    const stateDir = join(work, 'state');
    const logFile = join(work, 'controller.log');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...opts.env,
      INFRASEC_CONFIG: join(work, 'infrasec.yaml'),
      INFRASEC_STATE_DIR: stateDir,
      INFRASEC_GIT_URL: `file://${bare}`,
      INFRASEC_GIT_REF: 'main',
      INFRASEC_POLL_INTERVAL: '30',
      INFRASEC_DRIFT_INTERVAL: '2',
      INFRASEC_LISTEN: '127.0.0.1:0',
      INFRASEC_WEBHOOK_SECRET: WEBHOOK_SECRET,
      ...adEnvironment(dc),
      INFRASEC_LOG_LEVEL: 'info',
    };
    writeFileSync(env['INFRASEC_CONFIG']!, '# settings come from INFRASEC_* variables in this demo\n{}\n');
    say(`$ infrasec init    (INFRASEC_STATE_DIR=${stateDir})`);
    say(execFileSync(process.execPath, [CLI, 'init'], { env, cwd: work, encoding: 'utf8' }).trim());
    say(`$ INFRASEC_GIT_URL=file://${bare} … infrasec run    (JSON logs: ${logFile})`);
    child = spawn(process.execPath, [CLI, 'run'], { env, cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
    // If this process is made to exit early (the demo interrupted), the controller does not outlive it.
    const running = child;
    const orphanGuard = () => {
      if (running.exitCode === null && running.signalCode === null) running.kill('SIGKILL');
    };
    process.once('exit', orphanGuard);
    running.once('exit', () => process.off('exit', orphanGuard));
    const log = createWriteStream(logFile);
    let logged = '';
    const url = await new Promise<string>((resolve, reject) => {
      child!.stderr!.on('data', (chunk: Buffer) => {
        log.write(chunk);
        logged += chunk.toString();
        const m = /"event":"http\.listening","address":"([^"]+)"/.exec(logged);
        if (m) resolve(`http://${m[1]}`);
      });
      child!.once('exit', (code) => reject(new Error(`controller exited (${code}) before listening; see ${logFile}`)));
    });
    const status = async () => (await (await fetch(`${url}/status`)).json()) as ControllerStatus;
    const waitFor = async (what: string, check: (s: ControllerStatus) => boolean | Promise<boolean>, ms = 90_000) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const s = await status();
        if (await check(s)) return s;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; see ${logFile}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const ad = (s: ControllerStatus) => s.systems.find((x) => x.system === 'active-directory')!;
    const first = await waitFor('the first apply', (s) => ad(s).appliedRevision === seed);
    say(`operations endpoints on ${url}  (/healthz /readyz /metrics /status /drift, POST /webhook)`);
    say(`first apply of ${seed.slice(0, 12)}: ${ad(first).lastPass?.changes} change(s), ${ad(first).lastPass?.writes} write(s) in ${ad(first).lastPass?.durationMs} ms`);
    say(`/readyz: ${(await fetch(`${url}/readyz`)).status}`);

    ldap = new Client({ url: dc.ldapsUrl, tlsOptions: { ca: readFileSync(dc.caFile), servername: dc.tlsServerName }, timeout: 10_000, connectTimeout: 10_000 });
    await ldap.bind(dc.bindDN, dc.bindPassword);
    const readTitle = async () => {
      const { searchEntries } = await ldap!.search(dc!.baseDN, { filter: `(sAMAccountName=${USER})`, attributes: ['title'] });
      return { dn: String(searchEntries[0]?.dn ?? ''), title: String(searchEntries[0]?.['title'] ?? '') };
    };

    banner('Controller 4. A new commit, announced by a signed webhook');
    const file = join(clone, 'users', 'direction.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('title: Directeur adjoint', 'title: Directeur adjoint du COD'));
    git('commit', '-q', '-am', `Retitle ${USER}`);
    const t0 = Date.now();
    git('push', '-q', bare, 'HEAD:main');
    const second = git('rev-parse', 'HEAD').trim();
    const body = JSON.stringify({ ref: 'refs/heads/main', after: second });
    const hook = await fetch(`${url}/webhook`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': githubSignature(Buffer.from(body), WEBHOOK_SECRET) } });
    say(`git push ${second.slice(0, 12)} "Retitle ${USER}"; POST /webhook → ${hook.status}`);
    const forged = await fetch(`${url}/webhook`, { method: 'POST', body, headers: { 'x-hub-signature-256': githubSignature(Buffer.from(body), 'guessed') } });
    say(`the same webhook with a forged signature → ${forged.status}`);
    await waitFor('the new commit', (s) => ad(s).appliedRevision === second);
    say(`applied ${second.slice(0, 12)} ${Date.now() - t0} ms after the push; AD now says title = ${JSON.stringify((await readTitle()).title)}`);

    banner('Controller 5. Someone edits AD by hand; the next drift pass puts it back');
    const { dn } = await readTitle();
    await ldap.modify(dn, [new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['Stagiaire'] }) })]);
    say(`ldapmodify ${dn}: title = "Stagiaire"`);
    const t1 = Date.now();
    for (;;) {
      if ((await readTitle()).title === 'Directeur adjoint du COD') break;
      if (Date.now() - t1 > 60_000) throw new Error(`drift not corrected; see ${logFile}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    say(`corrected ${Date.now() - t1} ms later: title = "Directeur adjoint du COD"`);
    let report: DriftReport | undefined;
    for (let i = 0; i < 50 && !report?.entries.some((e) => e.name === USER && e.corrected); i++) {
      report = (await (await fetch(`${url}/drift`)).json()) as DriftReport;
      await new Promise((r) => setTimeout(r, 100));
    }
    say((await (await fetch(`${url}/drift?format=markdown`)).text()).trim());
    say(`(also ${join(stateDir, 'drift', 'report.html')}, a self-contained page)`);

    banner('Controller 6. The audit trail');
    say(execFileSync(process.execPath, [CLI, 'audit', 'verify', '--state-dir', stateDir], { encoding: 'utf8', cwd: work }).trim());
    say(execFileSync(process.execPath, [CLI, 'audit', 'log', '--object', `User/${USER}`, '--state-dir', stateDir, '--path', '.'], { encoding: 'utf8', cwd: work }).trim());

    if (opts.keepRunning) {
      banner(`The controller keeps running on ${url}; push to file://${bare} (clone: ${clone}). Ctrl-C to stop.`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    banner('Controller 7. SIGTERM: the controller finishes what it was doing and exits');
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const code = await exited;
    say(`infrasec run exited with code ${code}`);
    child = undefined;
    log.end();
    if (code !== 0) {
      const errors = readFileSync(logFile, 'utf8').split('\n').filter((l) => /"level":(50|60)/.test(l) || (l.trim() !== '' && !l.startsWith('{')));
      throw new Error(`the controller did not stop cleanly; its errors:\n${errors.slice(-5).join('\n')}`);
    }
  } finally {
    await ldap?.unbind().catch(() => undefined);
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (ownDc) await dc?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runControllerDemo({ keepRunning: process.argv.includes('--keep-running') }).catch((err) => {
    process.stderr.write(`controller demo failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}

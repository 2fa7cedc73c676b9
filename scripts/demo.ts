// The README's main job: validate desired-state/, then plan, apply and re-plan it against a throwaway Samba AD, an emulated Asterisk, an emulated pfSense and a real Modoboa; show what each now holds, a person signing in to Modoboa with their AD password, and a leaver.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change as LdapChange, Client } from 'ldapts';
import { adEnvironment, startSambaDc, type SambaDc } from '../test/harness/samba.ts';
import { runControllerDemo } from './controller-demo.ts';
import { startDemoFirewall, type DemoFirewall } from './demo-firewall.ts';
import { startDemoMail, type DemoMail } from './demo-mail.ts';
import { startDemoPbx, type DemoPbx } from './demo-pbx.ts';

const ROOT = join(import.meta.dirname, '..');
const DESIRED = join(ROOT, 'desired-state');
/** The leaver: a field agent with an AD account, a WebRTC phone, a VPN profile, a mailbox and a functional alias. */
const LEAVER = 'jmeyer';
const LEAVER_MAIL = 'jmeyer@cod67.example.fr';

function banner(text: string): void {
  process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
}
function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Runs the real CLI as a child, streaming its output, and returns its exit code. */
function infrasec(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  say(`$ infrasec ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'infrasec.js'), ...args], { env, stdio: ['ignore', 'inherit', 'inherit'], cwd: ROOT });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

/** Runs the CLI and returns its standard output (for output the demo reads, such as the audit log). */
function capture(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(ROOT, 'bin', 'infrasec.js'), ...args], { env, cwd: ROOT }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

/**
 * The hand-over as an admin does it: the person made an age key pair and sent the public half; `infrasec secrets`
 * encrypts their password, SIP secret and VPN configuration to it, and only their identity decrypts the files.
 */
async function handOverTo(person: string, work: string, env: NodeJS.ProcessEnv): Promise<{ password: string; labels: string[]; files: string[]; ovpnSummary: string }> {
  const dir = join(work, `handover-${person}`);
  const identity = join(work, `${person}.agekey`);
  execFileSync('age-keygen', ['-o', identity], { stdio: 'pipe' });
  const recipient = /public key: (age1\w+)/.exec(await readFile(identity, 'utf8'))![1]!;
  const out = join(dir, `${person}.json.age`);
  expectExit('secrets', await infrasec(['secrets', DESIRED, '--person', person, '--format', 'json', '--to', recipient, '--output', out, '--client-configs', dir], env), 0);
  const files = (await readdir(dir)).sort();
  const decrypt = (file: string) => execFileSync('age', ['--decrypt', '-i', identity, file], { encoding: 'utf8' });
  const doc = JSON.parse(decrypt(out)) as { sections: Array<{ secrets: Array<{ object: string; path: string; label: string; value: string }> }> };
  const secrets = doc.sections.flatMap((s) => s.secrets);
  const ovpn = decrypt(join(dir, files.find((f) => f.endsWith('.ovpn.age'))!));
  return {
    password: secrets.find((x) => x.object === `User/${person}` && x.path === 'spec.password')!.value,
    labels: secrets.map((x) => x.label),
    files,
    ovpnSummary: `${/^remote .*$/m.exec(ovpn)?.[0] ?? 'no remote'}, ${ovpn.includes('<cert>') && ovpn.includes('<key>') ? 'its certificate and key inline' : 'NO certificate'}`,
  };
}

function expectExit(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what} exited ${got}, expected ${want}`);
}

/** Every started part, so the demo stops each one whatever failed and wherever. */
interface Parts {
  dc?: SambaDc;
  pbx?: DemoPbx;
  fw?: DemoFirewall;
  mail?: DemoMail;
}

/** Starts the four systems side by side; if one fails, the ones that started are still recorded for stopping. */
async function startSystems(work: string, parts: Parts): Promise<void> {
  const started = await Promise.allSettled([
    startSambaDc({ certificateNamesAddress: true }).then((dc) => (parts.dc = dc)),
    startDemoPbx(join(work, 'asterisk')).then((pbx) => (parts.pbx = pbx)),
    startDemoFirewall(join(work, 'pfsense')).then((fw) => (parts.fw = fw)),
    startDemoMail(join(work, 'modoboa')).then((mail) => (parts.mail = mail)),
  ]);
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
}

/** A person's first logon: AD makes them change the initial password (a change, checked against the old one). */
async function firstLogon(dc: SambaDc, account: string, initial: string, chosen: string): Promise<void> {
  const utf16 = (s: string) => Buffer.from(`"${s}"`, 'utf16le') as unknown as string;
  const ldap = new Client({ url: dc.ldapsUrl, tlsOptions: { ca: await readFile(dc.caFile) }, timeout: 10_000, connectTimeout: 10_000 });
  try {
    await ldap.bind(dc.bindDN, dc.bindPassword);
    const { searchEntries } = await ldap.search(dc.baseDN, { filter: `(sAMAccountName=${account})`, attributes: ['dn'] });
    await ldap.modify(searchEntries[0]!.dn, [
      new LdapChange({ operation: 'delete', modification: new Attribute({ type: 'unicodePwd', values: [utf16(initial)] }) }),
      new LdapChange({ operation: 'add', modification: new Attribute({ type: 'unicodePwd', values: [utf16(chosen)] }) }),
    ]);
  } finally {
    await ldap.unbind();
  }
}

/** A copy of the desired state with one person marked as leaving (`enabled: false`), as a merge request would. */
async function withLeaver(dir: string): Promise<string> {
  await cp(DESIRED, dir, { recursive: true });
  const file = join(dir, 'users', 'terrain.yaml');
  const text = await readFile(file, 'utf8');
  const edited = text.replace(`  name: ${LEAVER}\nspec:\n`, `  name: ${LEAVER}\nspec:\n  enabled: false\n`);
  if (edited === text) throw new Error(`could not mark ${LEAVER} as leaving in ${file}`);
  await writeFile(file, edited);
  return dir;
}

/** Stops whatever is still running, each part once, reporting (not throwing) what fails to stop. */
async function stopAll(parts: Parts): Promise<void> {
  const { dc, pbx, fw, mail } = parts;
  Object.assign(parts, { dc: undefined, pbx: undefined, fw: undefined, mail: undefined });
  await Promise.all(
    [pbx?.close(), fw?.close(), mail?.close(), dc?.stop()].map((p) => p?.catch((err: Error) => process.stderr.write(`demo: stopping a part failed: ${err.message}\n`))),
  );
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep-running');
  const started = Date.now();
  const work = await mkdtemp(join(tmpdir(), 'infrasec-demo-'));
  const parts: Parts = {};
  // Interrupted (Ctrl-C, kill): stop what the demo started before leaving; Modoboa's gunicorn runs in its own
  // process group and would not get the terminal's signal.
  const interrupted = (signal: NodeJS.Signals) => {
    process.stderr.write(`\ndemo: ${signal}: stopping what the demo started\n`);
    const deadline = setTimeout(() => process.exit(130), 15_000);
    void stopAll(parts).finally(() => {
      clearTimeout(deadline);
      void rm(work, { recursive: true, force: true }).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    banner('1. Validate the example desired state (what a merge-request pipeline runs)');
    expectExit('validate', await infrasec(['validate', DESIRED], process.env), 0);

    banner('2. Start a throwaway Samba AD DC, an emulated Asterisk (AMI), an emulated pfSense (REST API v2) and a real Modoboa');
    await startSystems(work, parts);
    const { dc, pbx, fw, mail } = parts as Required<Parts>;
    say(`Samba AD DC ${dc.realm} on ${dc.ldapsUrl} (pid ${dc.pid})`);
    say(`Asterisk AMI emulator on ${pbx.host}:${pbx.port}, configuration in ${pbx.configDir}`);
    say(`pfSense emulator on ${fw.url}: dual WAN with WAN_FAILOVER, LAN, DMZ, CA "COD-CA", OpenVPN server "rw-agents"`);
    say(`Modoboa 2.12 (PyPI) on ${mail.url}`);
    await mail.trustDirectory(dc);
    say('Modoboa host: trusts the AD CA (ldap.conf TLS_CACERT); AD: a read-only account svc-modoboa for its searches');

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      INFRASEC_CONFIG: join(work, 'infrasec.yaml'),
      INFRASEC_STATE_DIR: join(work, 'state'),
      ...adEnvironment(dc),
      ...pbx.env,
      ...fw.env,
      ...mail.env,
    };

    banner('3. Init: the state directory and its generator key, created once and on purpose (plan and apply never make one)');
    expectExit('init', await infrasec(['init'], env), 0);

    banner('4. Plan: everything is to be created, on all four systems');
    expectExit('first plan', await infrasec(['plan', DESIRED], env), 2);

    banner('5. Apply');
    expectExit('apply', await infrasec(['apply', DESIRED], env), 0);

    banner('6. Plan again: nothing to do on any system (a second apply would make zero writes)');
    expectExit('second plan', await infrasec(['plan', DESIRED], env), 0);

    if (pbx.describe) {
      banner('7. What the PBX now runs');
      say(await pbx.describe());
    }
    banner('8. What the firewall now holds (the emulated pfSense)');
    say(fw.describe());
    banner('9. What Modoboa now holds');
    say(await mail.describe());

    banner(`10. ${LEAVER}'s secrets handed over, encrypted to ${LEAVER}'s own age key (the VPN profile exported from the firewall too)`);
    const handover = await handOverTo(LEAVER, work, env);
    say(`${LEAVER} decrypts ${handover.files.length} file(s) with their identity: ${handover.labels.join(', ')}; the .ovpn holds ${handover.ovpnSummary}`);
    say('$ infrasec audit log --object User/jmeyer (the hand-over, by whom and where, never the values)');
    say((await capture(['audit', 'log', '--object', `User/${LEAVER}`, '--path', '.'], env)).split('\n').filter((l) => l.includes(' secrets ')).join('\n'));

    banner(`11. ${LEAVER} signs in to Modoboa with the AD password`);
    const initial = handover.password;
    say(`with the initial password handed over to ${LEAVER}: HTTP ${await mail.login(LEAVER_MAIL, initial)} (AD demands a change at first logon, so Modoboa refuses too)`);
    const chosen = `Cru3-${Date.now().toString(36)}!`;
    await firstLogon(dc, LEAVER, initial, chosen);
    say(`${LEAVER} changes it at first logon; with the new one: HTTP ${await mail.login(LEAVER_MAIL, chosen)} (302: signed in; Modoboa holds no copy of it)`);

    banner(`12. ${LEAVER} leaves: one line in a merge request (enabled: false), every system follows`);
    const leaving = await withLeaver(join(work, 'desired-leaver'));
    say(`users/terrain.yaml: ${LEAVER}.spec.enabled: false`);
    expectExit('leaver plan', await infrasec(['plan', leaving], env), 2);
    expectExit('leaver apply', await infrasec(['apply', leaving], env), 0);
    expectExit('plan after the leaver', await infrasec(['plan', leaving], env), 0);
    say('');
    say(await fw.describeVpnOf(LEAVER));
    say(await mail.describeMailboxOf(LEAVER_MAIL));
    say(`${LEAVER} signing in to Modoboa now: HTTP ${await mail.login(LEAVER_MAIL, chosen)} (the AD account is disabled)`);

    // The CLI part is done; the controller part gets fresh systems so its first apply is a real one.
    await stopAll(parts);
    say(`\n(CLI part: ${Math.round((Date.now() - started) / 1000)} s)`);

    banner('13. The long-running controller: Git, webhook, drift correction, audit trail');
    parts.pbx = await startDemoPbx(join(work, 'asterisk-controller'));
    // With --keep-running, Ctrl-C is how the controller part is told to finish: it stops its own parts.
    if (keep) process.off('SIGINT', interrupted);
    await runControllerDemo({ keepRunning: keep, env: { ...parts.pbx.env } });
    banner(`Demo complete in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await stopAll(parts);
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`demo failed: ${err.message}\n`);
  process.exitCode = 1;
});

// The README's main job: validate desired-state/, then plan, apply and re-plan it against a throwaway Samba AD and an emulated Asterisk.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adEnvironment, startSambaDc, type SambaDc } from '../test/harness/samba.ts';
import { runControllerDemo } from './controller-demo.ts';
import { startDemoPbx, type DemoPbx } from './demo-pbx.ts';

const ROOT = join(import.meta.dirname, '..');
const DESIRED = join(ROOT, 'desired-state');

function banner(text: string): void {
  process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
}

/** Runs the real CLI as a child, streaming its output, and returns its exit code. */
function infrasec(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  process.stdout.write(`$ infrasec ${args.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'infrasec.js'), ...args], { env, stdio: ['ignore', 'inherit', 'inherit'], cwd: ROOT });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

function expectExit(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what} exited ${got}, expected ${want}`);
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep-running');
  const work = await mkdtemp(join(tmpdir(), 'infrasec-demo-'));
  let dc: SambaDc | undefined;
  let pbx: DemoPbx | undefined;
  try {
    banner('1. Validate the example desired state (what a merge-request pipeline runs)');
    expectExit('validate', await infrasec(['validate', DESIRED], process.env), 0);

    banner('2. Start a throwaway Samba AD domain controller and an emulated Asterisk (AMI)');
    dc = await startSambaDc();
    process.stdout.write(`Samba AD DC ${dc.realm} on ${dc.ldapsUrl} (pid ${dc.pid})\n`);
    pbx = await startDemoPbx(join(work, 'asterisk'));
    process.stdout.write(`Asterisk AMI emulator on ${pbx.host}:${pbx.port}, configuration in ${pbx.configDir}\n`);

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      INFRASEC_CONFIG: join(work, 'infrasec.yaml'),
      INFRASEC_STATE_DIR: join(work, 'state'),
      ...adEnvironment(dc),
      ...pbx.env,
    };

    banner('3. Plan: everything is to be created');
    expectExit('first plan', await infrasec(['plan', DESIRED], env), 2);

    banner('4. Apply');
    expectExit('apply', await infrasec(['apply', DESIRED], env), 0);

    banner('5. Plan again: nothing to do (a second apply would make zero writes)');
    expectExit('second plan', await infrasec(['plan', DESIRED], env), 0);

    if (pbx.describe) {
      banner('6. What the PBX now runs');
      process.stdout.write(`${await pbx.describe()}\n`);
    }

    // The CLI part is done; the controller part gets fresh systems so its first apply is a real one.
    await pbx.close();
    pbx = undefined;
    await dc.stop();
    dc = undefined;

    banner('7. The long-running controller: Git, webhook, drift correction, audit trail');
    pbx = await startDemoPbx(join(work, 'asterisk-controller'));
    await runControllerDemo({ keepRunning: keep, env: { ...pbx.env } });
    banner('Demo complete');
  } finally {
    await pbx?.close().catch(() => undefined);
    await dc?.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`demo failed: ${err.message}\n`);
  process.exitCode = 1;
});

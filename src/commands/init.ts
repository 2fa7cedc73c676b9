// `infrasec init`: creates the state directory and its generator key on purpose, once; no other command creates them.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { InfrasecError } from '../errors.ts';
import { initStateDir, generatorKeyPath, type InitResult } from '../state/generator-key.ts';

interface InitOptions {
  stateDir?: string;
  config?: string;
  rotateGeneratorKey?: boolean;
}

/** Pure: what `init` says about what it did. The fingerprint names the key; the key itself is never printed. */
export function describeInit(r: InitResult): string {
  const dir = resolve(r.stateDir);
  const fp = `sha256:${r.fingerprint.slice(0, 16)}`;
  switch (r.outcome) {
    case 'existing':
      return `${dir} is already initialized (generator key ${fp}); nothing changed`;
    case 'rotated':
      return `${dir}: new generator key ${fp} (mode 0600)${r.keptAs ? `; the previous key is kept in ${r.keptAs}` : ''}. Every generated secret changes at the next apply: run plan and apply with --rotate-generated-secrets, then hand the new ones over with \`infrasec secrets\``;
    case 'created':
      return `${dir} initialized (mode 0700) with a new generator key ${fp} in ${generatorKeyPath(dir)} (mode 0600). Every generated secret (SIP secrets, PINs, initial passwords) derives from it: back the state directory up, and point INFRASEC_STATE_DIR (or stateDir, --state-dir) at it wherever infrasec runs`;
  }
}

async function initCommand(opts: InitOptions): Promise<number> {
  const stateDir = opts.stateDir ?? (await loadConfig({ file: opts.config })).stateDir;
  process.stdout.write(`${describeInit(await initStateDir(stateDir, { rotate: opts.rotateGeneratorKey }))}\n`);
  return 0;
}

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('create the state directory and its generator key (once per installation); plan, apply, drift, run and secrets need it. Exit 0 done or already done, 1 error')
    .option('--state-dir <dir>', 'state directory to create (default: stateDir of the configuration, INFRASEC_STATE_DIR)')
    .option('-c, --config <file>', 'controller configuration, for its stateDir')
    .option('--rotate-generator-key', 'replace the generator key with a new one (the old one is kept beside it): every generated secret will change')
    .action(async (opts: InitOptions) => {
      try {
        process.exitCode = await initCommand(opts);
      } catch (err) {
        const code = err instanceof InfrasecError ? ` [${err.code}]` : '';
        process.stderr.write(`infrasec: ${(err as Error).message}${code}\n`);
        process.exitCode = 1;
      }
    });
}

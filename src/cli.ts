#!/usr/bin/env node
// The `infrasec` command: parses arguments, runs one command, maps outcomes to exit codes. Never prints a stack trace for bad input.
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { registerControllerCommands } from './commands/controller.ts';
import { registerReconcileCommands } from './commands/reconcile.ts';
import { countByKind, loadDesiredState } from './desired/load.ts';
import { SYSTEM_MODULES } from './reconcilers/registry.ts';
import { renderValidation, type ValidationFormat } from './report/validation.ts';

export { EXIT } from './commands/reconcile.ts';
const EXIT = { ok: 0, error: 1 } as const;

function formatOption(allowed: readonly string[], fallback: string) {
  return new Option('-f, --format <format>', `output format: ${allowed.join('|')}`)
    .default(fallback)
    .argParser((v: string) => {
      if (!allowed.includes(v)) throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}`);
      return v;
    });
}

export async function validateCommand(path: string, format: ValidationFormat): Promise<number> {
  const result = await loadDesiredState(path);
  const counts = result.state ? countByKind(result.state) : undefined;
  process.stdout.write(`${renderValidation({ root: path, files: result.files, diagnostics: result.diagnostics, counts }, format)}\n`);
  return result.state ? EXIT.ok : EXIT.error;
}

export function buildProgram(): Command {
  const program = new Command('infrasec')
    .description(`GitOps reconciliation for a crisis operations centre (systems: ${SYSTEM_MODULES.map((m) => m.name).join(', ')})`)
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('validate')
    .description('check a desired-state directory (schemas, references, hostile input); exit 0 valid, 1 invalid')
    .argument('[path]', 'desired-state directory', 'desired-state')
    .addOption(formatOption(['text', 'json', 'github'], 'text'))
    .action(async (path: string, opts: { format: ValidationFormat }) => {
      process.exitCode = await validateCommand(path, opts.format);
    });

  registerReconcileCommands(program);
  registerControllerCommands(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return EXIT.ok;
    if (typeof code === 'string' && code.startsWith('commander.')) return EXIT.error;
    process.stderr.write(`infrasec: ${(err as Error).message}\n`);
    return EXIT.error;
  }
}

// A closed pipe (`infrasec plan | head`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

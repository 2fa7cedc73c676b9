#!/usr/bin/env node
// The `infrasec` command: parses arguments, runs one command, maps outcomes to exit codes. Never prints a stack trace for bad input.
import { buildInfo } from './server/build-info.ts';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { EXIT } from './commands/exit-codes.ts';
import type { ValidationFormat } from './report/validation.ts';

// Each command's modules are imported only when that command runs (or for help), so `--version` and `validate`
// do not load the systems' clients, git, HTTP and metrics stacks.
const COMMAND_MODULES = {
  reconcile: { names: ['plan', 'apply', 'drift'], load: async () => (await import('./commands/reconcile.ts')).registerReconcileCommands },
  controller: { names: ['run', 'audit'], load: async () => (await import('./commands/controller.ts')).registerControllerCommands },
  init: { names: ['init'], load: async () => (await import('./commands/init.ts')).registerInitCommand },
  secrets: { names: ['secrets'], load: async () => (await import('./commands/secrets.ts')).registerSecretsCommand },
} as const;

function formatOption(allowed: readonly string[], fallback: string) {
  return new Option('-f, --format <format>', `output format: ${allowed.join('|')}`)
    .default(fallback)
    .argParser((v: string) => {
      if (!allowed.includes(v)) throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}`);
      return v;
    });
}

export async function validateCommand(path: string, format: ValidationFormat): Promise<number> {
  const [{ countByKind, loadDesiredState }, { renderValidation }] = await Promise.all([import('./desired/load.ts'), import('./report/validation.ts')]);
  const result = await loadDesiredState(path);
  const counts = result.state ? countByKind(result.state) : undefined;
  process.stdout.write(`${renderValidation({ root: path, files: result.files, diagnostics: result.diagnostics, counts }, format)}\n`);
  return result.state ? EXIT.ok : EXIT.error;
}

/** The program with the commands `argv` needs: the one it names, or all of them when it names none (help, errors). */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const modules = commandModulesFor(argv);
  // The system list is for help; `--version` and `validate` do not load the registry.
  const systems = modules.length > 0 ? (await import('./reconcilers/registry.ts')).SYSTEM_MODULES.map((m) => m.name) : undefined;
  const program = new Command('infrasec')
    .description(`GitOps reconciliation for a crisis operations centre${systems ? ` (systems: ${systems.join(', ')})` : ''}`)
    .version(buildInfo().version)
    .showHelpAfterError()
    .exitOverride();

  program
    .command('validate')
    .description('check a desired-state directory (schemas, references, hostile input); exit 0 valid, 1 invalid')
    .argument('[path]', 'desired-state directory', 'desired-state')
    .addOption(formatOption(['text', 'json', 'github', 'gitlab'], 'text'))
    .action(async (path: string, opts: { format: ValidationFormat }) => {
      process.exitCode = await validateCommand(path, opts.format);
    });

  for (const m of modules) (await m.load())(program);
  return program;
}

/** `--version` and `validate` need no command module, `plan` only its own; help and unknown commands need them all. */
function commandModulesFor(argv: readonly string[]) {
  const modules = Object.values(COMMAND_MODULES);
  const named = argv.find((arg) => !arg.startsWith('-'));
  if (named === undefined) return argv.some((arg) => arg === '-V' || arg === '--version') ? [] : modules;
  if (named === 'validate') return [];
  const owner = modules.filter((m) => (m.names as readonly string[]).includes(named));
  return owner.length > 0 ? owner : modules;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return EXIT.ok;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      // commander has said it on stderr; `--format json` and `markdown` still get their one document on stdout.
      const document = (await import('./commands/usage-failure.ts')).usageFailureDocument(argv, (err as Error).message);
      if (document !== undefined) process.stdout.write(`${document}\n`);
      return EXIT.error;
    }
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

// `infrasec plan | apply | drift`: load and resolve the desired state, run one pass per configured system, print the report.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { configuredSystems, loadConfig, policyOf, type Config } from '../config.ts';
import { formatDiagnostic } from '../desired/diagnostic.ts';
import { loadResolvedState } from '../desired/resolve.ts';
import { FileFingerprintStore } from '../engine/fingerprints.ts';
import { completePass, preparePass, type PassMode, type PassOptions, type PassResult, type PreparedPass } from '../engine/pass.ts';
import type { AnyReconciler } from '../engine/systems.ts';
import type { SystemName } from '../engine/types.ts';
import { SYSTEM_MODULES } from '../reconcilers/registry.ts';
import { InfrasecError } from '../errors.ts';
import { createLogger } from '../log.ts';
import type { Logger } from 'pino';
import type { ResolvedState } from '../desired/model.ts';
import { acquireStateLock, stateLockPath } from '../engine/state-lock.ts';
import { renderReport, type ReportFormat } from '../report/plan.ts';

export const EXIT = { ok: 0, error: 1, changes: 2, refused: 3 } as const;

interface ReconcileOptions {
  format: ReportFormat;
  system?: SystemName[];
  config?: string;
  yes?: boolean;
  revision?: string;
  /** `User/name` accounts whose password is set from Git although infrasec has no record of setting the current one. */
  resetPassword?: string[];
}

/** A revision for a plain directory: the same content digest the controller's directory source uses. */
async function directoryRevision(root: string, files: readonly string[]): Promise<string> {
  // Loaded here: the directory source pulls in chokidar, which `validate` has no use for.
  const { contentDigest } = await import('../sources/directory.ts');
  return contentDigest(await Promise.all(files.map(async (file) => ({ file, bytes: await readFile(join(root, file)) }))));
}

function exitCodeFor(mode: PassMode, results: readonly PassResult[]): number {
  if (results.some((r) => r.status === 'failed')) return EXIT.error;
  if (mode === 'apply') return results.some((r) => r.status === 'refused') ? EXIT.refused : EXIT.ok;
  if (results.some((r) => r.status === 'refused')) return EXIT.error;
  // Conflicts are printed but are not pending changes: apply would leave them alone too.
  return results.some((r) => r.status === 'changes') ? EXIT.changes : EXIT.ok;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim() === 'yes';
  } finally {
    rl.close();
  }
}

/** Progress on stderr while applying, only when a person is watching. */
function progressHooks(system: SystemName): PassOptions['hooks'] {
  if (!process.stderr.isTTY) return undefined;
  return {
    onApplied(applied, done, total) {
      process.stderr.write(`\r\x1b[2K${system}: ${done}/${total} ${applied.change.kind}/${applied.change.name} ${applied.ok ? 'ok' : 'FAILED'}`);
      if (done === total) process.stderr.write('\n');
    },
  };
}

export async function reconcileCommand(mode: PassMode, path: string, opts: ReconcileOptions): Promise<number> {
  let config: Config;
  try {
    config = await loadConfig({ file: opts.config });
  } catch (err) {
    process.stderr.write(`infrasec: ${(err as Error).message}\n`);
    return EXIT.error;
  }
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });

  const loadedRevision = opts.revision;
  const first = await loadResolvedState(path, config, loadedRevision ?? 'pending');
  if (!first.state) {
    for (const d of first.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
    process.stderr.write(`infrasec: ${path}: the desired state is invalid; nothing was ${mode === 'apply' ? 'applied' : 'planned'}\n`);
    return EXIT.error;
  }
  const revision = loadedRevision ?? (await directoryRevision(path, first.files));
  const desired = { ...first.state, revision };

  // apply writes the fingerprints the controller also writes: one writer per state directory.
  const lock = mode === 'apply' ? await acquireStateLock(stateLockPath(config.stateDir), logger, 'a running controller or another apply') : undefined;
  try {
    return await reconcileWithState(mode, desired, config, logger, opts);
  } finally {
    await lock?.release();
  }
}

async function reconcileWithState(mode: PassMode, desired: ResolvedState, config: Config, logger: Logger, opts: ReconcileOptions): Promise<number> {
  const revision = desired.revision;
  const only = opts.system;
  const fingerprints = await FileFingerprintStore.open(join(config.stateDir, 'fingerprints.json'));
  // Loaded here, not at start-up: `validate` must not pay for every system's client library.
  const { buildSystems } = await import('../engine/systems.ts');
  const { reconcilers, skipped } = await buildSystems(config, { fingerprints, logger }, only);
  if (reconcilers.size === 0) {
    const configured = configuredSystems(config);
    process.stderr.write(`infrasec: no system to ${mode}: ${configured.length === 0 ? 'none is configured (see infrasec.yaml or INFRASEC_* variables)' : `--system selects none of ${configured.join(', ')}`}\n`);
    return EXIT.error;
  }

  const passOpts = (system: SystemName): PassOptions => ({ mode, revision, logger, hooks: mode === 'apply' ? progressHooks(system) : undefined });
  // Systems are independent: plan them concurrently; one failing does not stop the others.
  const entries = [...reconcilers] as Array<[SystemName, AnyReconciler]>;
  try {
    const policy = (system: SystemName) => {
      const p = policyOf(config, system);
      return opts.resetPassword?.length ? { ...p, resetPasswords: [...(p.resetPasswords ?? []), ...opts.resetPassword] } : p;
    };
    const prepared = await Promise.all(entries.map(([system, r]) => preparePass(r, desired, policy(system), passOpts(system))));
    let results: PassResult[] = prepared.map((p) => p.result);

    if (mode === 'apply' && prepared.some((p) => p.plan)) {
      if (process.stdin.isTTY && process.stderr.isTTY && !opts.yes) {
        process.stdout.write(`${renderReport({ mode: 'plan', revision, results, skipped }, opts.format)}\n`);
        if (!(await confirm('\nApply these changes? Only "yes" is accepted: '))) {
          process.stderr.write('infrasec: apply cancelled; nothing was written\n');
          return EXIT.error;
        }
      }
      results = await Promise.all(entries.map(([system, r], i) => completePass(r, prepared[i] as PreparedPass, passOpts(system))));
    }
    process.stdout.write(`${renderReport({ mode, revision, results, skipped }, opts.format)}\n`);
    return exitCodeFor(mode, results);
  } finally {
    await Promise.all(entries.map(([, r]) => r.close().catch(() => undefined)));
  }
}

function systemOption() {
  const names = SYSTEM_MODULES.map((m) => m.name);
  return new Option('-s, --system <name...>', `restrict to systems: ${names.join(', ')}`).choices(names);
}

function formatOption() {
  return new Option('-f, --format <format>', 'output format').choices(['text', 'json', 'markdown']).default('text');
}

export function registerReconcileCommands(program: Command): void {
  const describe: Record<PassMode, string> = {
    plan: 'show what apply would change; exit 0 nothing to do, 2 changes pending, 1 error',
    apply: 'make the live systems match the desired state; exit 0 done, 1 failed, 3 refused by a guard',
    drift: 'report live objects that differ from the desired state; exit 0 none, 2 drift, 1 error',
  };
  for (const mode of ['plan', 'apply', 'drift'] as const) {
    const cmd = program
      .command(mode)
      .description(describe[mode])
      .argument('[path]', 'desired-state directory', 'desired-state')
      .addOption(formatOption())
      .addOption(systemOption())
      .option('-c, --config <file>', 'controller configuration (default: infrasec.yaml or $INFRASEC_CONFIG)')
      .option('--revision <id>', 'label for the desired state (e.g. a commit id); default: a digest of the files');
    if (mode === 'apply') cmd.option('-y, --yes', 'do not ask for confirmation on a terminal');
    if (mode !== 'drift') {
      cmd.option('--reset-password <User/name...>', 'set the password from Git on these accounts even though infrasec has no record of setting their current one (it may be the user\'s own)', (v: string, prev: string[] = []) => {
        if (!/^User\/.+$/.test(v)) throw new InvalidArgumentError(`expected User/NAME, got ${JSON.stringify(v)}`);
        return [...prev, v];
      });
    }
    cmd.action(async (path: string, opts: ReconcileOptions) => {
      try {
        process.exitCode = await reconcileCommand(mode, path, opts);
      } catch (err) {
        // Errors that escape a pass are programming errors or local I/O; print the message, never the stack.
        const code = err instanceof InfrasecError ? ` [${err.code}]` : '';
        process.stderr.write(`infrasec: ${(err as Error).message}${code}\n`);
        process.exitCode = EXIT.error;
      }
    });
  }
}

// `infrasec plan | apply | drift`: load and resolve the desired state, run one pass per configured system, print the report.
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { configuredSystems, dependencyGraph, loadConfig, policyOf, type Config } from '../config.ts';
import { dependencyNotConverged } from '../controller/dependency-result.ts';
import { runInDependencyOrder } from '../engine/dependency-order.ts';
import { formatDiagnostic, type Diagnostic } from '../desired/diagnostic.ts';
import { loadResolvedState } from '../desired/resolve.ts';
import { generatedSecretOwners } from '../desired/secret-fields.ts';
import { readGeneratorKey } from '../state/generator-key.ts';
import { FileFingerprintStore } from '../state/fingerprints.ts';
import { preparePass, reachedRevision, type PassMode, type PassOptions, type PassResult, type PreparedPass } from '../engine/pass.ts';
import type { AnyReconciler } from '../engine/systems.ts';
import type { SystemName } from '../engine/types.ts';
import { SYSTEM_MODULES } from '../reconcilers/registry.ts';
import { InfrasecError } from '../errors.ts';
import { createLogger } from '../log.ts';
import type { Logger } from 'pino';
import type { ResolvedState } from '../desired/model.ts';
import { acquireStateLock, stateLockPath } from '../state/state-lock.ts';
import { renderFailure, renderReport, type ReportFormat, type RunFailure } from '../report/plan.ts';
import { recordConverged } from '../controller/applied-state.ts';
import { PassRecorder } from '../controller/pass-recorder.ts';
import { AuditLog } from '../report/audit.ts';
import { describeOrigin, type AppliedOrigin } from '../sources/work-tree.ts';
import { userInfo } from 'node:os';
import { EXIT, EXIT_TABLE, reconcileExitCode } from './exit-codes.ts';

interface ReconcileOptions {
  format: ReportFormat;
  /** Also print each change in the system's own fields, and the supporting changes. */
  detail?: boolean;
  system?: SystemName[];
  config?: string;
  yes?: boolean;
  revision?: string;
  /** `User/name` accounts whose password is set from Git although infrasec has no record of setting the current one. */
  resetPassword?: string[];
  /** Allow a plan that changes every generated secret of a system at once. */
  rotateGeneratedSecrets?: boolean;
}

/** The OS user running the command, for the audit trail. */
function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? `uid ${process.getuid?.() ?? '?'}`;
  }
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

/**
 * One run of plan, apply or drift; returns the exit code (exit-codes.ts). Whatever stops it, `--format json` and
 * `markdown` still print one document on stdout: the report, or the failure with its diagnostics.
 */
export async function reconcileCommand(mode: PassMode, path: string, opts: ReconcileOptions): Promise<number> {
  try {
    return await reconcile(mode, path, opts);
  } catch (err) {
    // What escapes a pass is local (state directory, lock, configuration) or a programming error: its message, never a stack.
    const code = err instanceof InfrasecError ? err.code : 'internal';
    return stopped(mode, opts.format, { code, message: (err as Error).message });
  }
}

/** A run that ended before any system's pass: said on stderr, and as a document on stdout for json and markdown. */
function stopped(mode: PassMode, format: ReportFormat, error: RunFailure['error'], diagnostics: readonly Diagnostic[] = []): number {
  for (const d of diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
  process.stderr.write(`infrasec: ${error.message}${error.code === 'config-invalid' || error.code === 'validation-failed' ? '' : ` [${error.code}]`}\n`);
  if (format !== 'text') process.stdout.write(`${renderFailure({ mode, error, diagnostics }, format)}\n`);
  return EXIT.error;
}

async function reconcile(mode: PassMode, path: string, opts: ReconcileOptions): Promise<number> {
  const config = await loadConfig({ file: opts.config });
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });

  // Generated secrets and password fingerprints live in the state directory: `infrasec init` makes it, nothing else does.
  await readGeneratorKey(config.stateDir, { record: mode === 'apply' });
  const loadedRevision = opts.revision;
  const first = await loadResolvedState(path, config, loadedRevision ?? 'pending');
  if (!first.state) {
    const message = `${path}: the desired state is invalid; nothing was ${mode === 'apply' ? 'applied' : 'planned'}`;
    return stopped(mode, opts.format, { code: 'validation-failed', message }, first.diagnostics);
  }
  const described = await describeOrigin(path, first.files);
  const origin: AppliedOrigin = loadedRevision ? { ...described, revision: loadedRevision, commit: loadedRevision } : described;
  const desired = { ...first.state, revision: origin.revision };

  // apply writes the fingerprints, audit trail and controller state the controller also writes: one writer per state directory.
  const lock = mode === 'apply' ? await acquireStateLock(stateLockPath(config.stateDir), logger, 'a running controller or another apply') : undefined;
  try {
    return await reconcileWithState(mode, desired, config, logger, opts, origin);
  } finally {
    await lock?.release();
  }
}

async function reconcileWithState(mode: PassMode, desired: ResolvedState, config: Config, logger: Logger, opts: ReconcileOptions, origin: AppliedOrigin): Promise<number> {
  const revision = desired.revision;
  const only = opts.system;
  const fingerprints = await FileFingerprintStore.open(join(config.stateDir, 'fingerprints.json'));
  // Loaded here, not at start-up: `validate` must not pay for every system's client library.
  const { buildSystems } = await import('../engine/systems.ts');
  const { reconcilers, skipped } = await buildSystems(config, { fingerprints, logger }, only);
  if (reconcilers.size === 0) {
    const configured = configuredSystems(config);
    const why = configured.length === 0 ? 'none is configured (see infrasec.yaml or INFRASEC_* variables)' : `--system selects none of ${configured.join(', ')}`;
    return stopped(mode, opts.format, { code: 'no-system', message: `no system to ${mode}: ${why}` });
  }

  // apply is recorded like a controller pass: the same hash-chained audit entries, with who ran it.
  const audit = mode === 'apply' ? await AuditLog.open(config.stateDir) : undefined;
  const recorders = new Map<SystemName, PassRecorder>();
  if (audit) {
    const ctx = { commit: origin.commit, author: origin.author, signature: 'not-checked', drift: false, dirty: origin.dirty, actor: { via: 'cli', user: osUser() } } as const;
    for (const system of reconcilers.keys()) recorders.set(system, new PassRecorder(audit, system, ctx, () => new Date()));
  }
  const generatedSecrets = generatedSecretOwners(desired.resources);
  const passOpts = (system: SystemName): PassOptions => ({
    mode, revision, logger, generatedSecrets, hooks: mode === 'apply' ? recorders.get(system)?.hooks(progressHooks(system)) : undefined,
  });
  // Systems are independent: plan them concurrently; one failing does not stop the others.
  const entries = [...reconcilers] as Array<[SystemName, AnyReconciler]>;
  try {
    const policy = (system: SystemName) => {
      const p = { ...policyOf(config, system), ...(opts.rotateGeneratedSecrets ? { rotateGeneratedSecrets: true } : {}) };
      return opts.resetPassword?.length ? { ...p, resetPasswords: [...(p.resetPasswords ?? []), ...opts.resetPassword] } : p;
    };
    const prepared = await Promise.all(entries.map(([system, r]) => preparePass(r, desired, policy(system), passOpts(system))));
    let results: PassResult[] = prepared.map((p) => p.result);

    if (mode === 'apply' && prepared.some((p) => p.plan)) {
      if (process.stdin.isTTY && process.stderr.isTTY && !opts.yes) {
        process.stdout.write(`${renderReport({ mode: 'plan', revision, results, skipped }, opts.format, { detail: opts.detail })}\n`);
        if (!(await confirm('\nApply these changes? Only "yes" is accepted: '))) {
          return stopped(mode, opts.format, { code: 'cancelled', message: 'apply cancelled; nothing was written' });
        }
      }
      // A dependent applies once its dependencies converged, and not at all when one did not (its result says which).
      const at = new Map(entries.map(([system, r], i) => [system, { reconciler: r, prepared: prepared[i]! }]));
      results = await runInDependencyOrder(entries.map(([system]) => system), dependencyGraph(config), async (system) => {
        const { reconciler, prepared: p } = at.get(system)!;
        const result = await recorders.get(system)!.apply(reconciler, p, passOpts(system));
        return { result, converged: reachedRevision(result) };
      }, (system, on) => dependencyNotConverged(system, revision, on, new Date()));
    }
    if (mode === 'apply') results = await recordOutcomes(results, recorders, config.stateDir);
    process.stdout.write(`${renderReport({ mode, revision, results, skipped }, opts.format, { detail: opts.detail })}\n`);
    return reconcileExitCode(mode, results);
  } finally {
    await Promise.all(entries.map(([, r]) => r.close().catch(() => undefined)));
  }
}

/** Waits for each system's audit records; a converged system is recorded where the controller reads it. */
async function recordOutcomes(results: readonly PassResult[], recorders: ReadonlyMap<SystemName, PassRecorder>, stateDir: string): Promise<PassResult[]> {
  const out: PassResult[] = [];
  for (const result of results) {
    const recorder = recorders.get(result.system)!;
    if (result.status === 'refused') recorder.refused(result);
    const recordingError = await recorder.finish();
    if (recordingError) {
      // A pass the audit trail could not record in full is failed, as in the controller.
      out.push({ ...result, status: 'failed', error: { ...recordingError, class: 'transient' } });
      continue;
    }
    if (reachedRevision(result)) {
      await recordConverged(stateDir, result.system, result.revision, new Date().toISOString());
    }
    out.push(result);
  }
  return out;
}

/**
 * `--system a --system b` or `--system a,b`. Not variadic: a variadic option would take the PATH after it as one more
 * system name (`plan --system NAME desired-state`).
 */
function systemOption() {
  const names = SYSTEM_MODULES.map((m) => m.name);
  return new Option('-s, --system <name>', `restrict to these systems (repeat the option or separate with commas): ${names.join(', ')}`)
    .argParser((value: string, previous: SystemName[] | undefined) => collectSystems(value, previous, names));
}

/** Pure: adds the comma-separated names of one `--system` value to those already given; refuses unknown names. */
function collectSystems(value: string, previous: readonly SystemName[] | undefined, known: readonly SystemName[]): SystemName[] {
  const picked = value.split(',').map((s) => s.trim());
  const unknown = picked.filter((s) => !known.includes(s));
  if (unknown.length > 0) {
    const what = unknown.map((s) => (s === '' ? 'an empty name' : JSON.stringify(s))).join(', ');
    throw new InvalidArgumentError(`unknown system ${what}; the systems are ${known.join(', ')}`);
  }
  const out = [...(previous ?? [])];
  for (const s of picked) if (!out.includes(s)) out.push(s);
  return out;
}

function formatOption() {
  return new Option('-f, --format <format>', 'output format').choices(['text', 'json', 'markdown']).default('text');
}

export function registerReconcileCommands(program: Command): void {
  const describe: Record<PassMode, string> = {
    plan: 'show what apply would change; exit 0 nothing to do, 2 changes pending, 4 conflicts, 3 refused by a guard, 1 error or a system failed',
    apply: 'make the live systems match the desired state; exit 0 done, 4 conflicts left, 3 refused by a guard, 1 error or a system failed',
    drift: 'report live objects that differ from the desired state; exit 0 none, 2 drift, 4 conflicts, 3 refused by a guard, 1 error or a system failed',
  };
  for (const mode of ['plan', 'apply', 'drift'] as const) {
    const cmd = program
      .command(mode)
      .description(describe[mode])
      .addHelpText('after', EXIT_TABLE)
      .argument('[path]', 'desired-state directory', 'desired-state')
      .addOption(formatOption())
      .option('--detail', "also list each change in the system's own terms (pjsip variables, LDAP attributes, pfSense API fields) and the supporting changes (config files, contexts, reloads) that plans fold and do not count")
      .addOption(systemOption())
      .option('-c, --config <file>', 'controller configuration (default: infrasec.yaml or $INFRASEC_CONFIG)')
      .option('--revision <id>', 'label for the desired state (e.g. a commit id); default: a digest of the files');
    if (mode === 'apply') cmd.option('-y, --yes', 'do not ask for confirmation on a terminal');
    if (mode !== 'drift') {
      // Repeatable, not variadic, for the same reason as --system.
      cmd.option('--reset-password <User/name>', 'set the password from Git on this account even though infrasec has no record of setting its current one (it may be the user\'s own); repeatable', (v: string, prev: string[] = []) => {
        if (!/^User\/.+$/.test(v)) throw new InvalidArgumentError(`expected User/NAME, got ${JSON.stringify(v)}`);
        return [...prev, v];
      });
      cmd.option('--rotate-generated-secrets', 'allow a plan that changes every generated secret of a system at once (refused otherwise: a different generator key does that)');
    }
    cmd.action(async (path: string, opts: ReconcileOptions) => {
      process.exitCode = await reconcileCommand(mode, path, opts);
    });
  }
}

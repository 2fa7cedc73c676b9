// `infrasec run` (the long-running controller), `infrasec audit verify|repair|log`: wiring of source, systems, audit, server and signals.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Logger } from 'pino';
import { dependencyGraph, loadConfig, type Config } from '../config.ts';
import { FileFingerprintStore } from '../state/fingerprints.ts';
import { readGeneratorKey } from '../state/generator-key.ts';
import { Controller, controllerPaths } from '../controller/controller.ts';
import type { PassResult } from '../engine/pass.ts';
import { acquireStateLock, stateLockPath } from '../state/state-lock.ts';
import type { ControllerStatus } from '../controller/status.ts';
import { buildSystems } from '../engine/systems.ts';
import { ConfigError, InfrasecError } from '../errors.ts';
import { EXIT, EXIT_HELP, openConflicts } from './exit-codes.ts';
import { createLogger, silentLogger } from '../log.ts';
import { buildNotifier } from '../notify/targets.ts';
import { AUDIT_TRAILS, AuditLog, auditLockPath, auditPaths, readAuditEntries, repairAudit, verifyAuditFile, type AuditEntry } from '../report/audit.ts';
import { HANDOVER_SYSTEM } from '../handover/audit-record.ts';
import { formatValue } from '../report/plan.ts';
import { ControllerMetrics } from '../server/metrics.ts';
import { gitTokenExposure, listenerExposure } from '../server/exposure.ts';
import { parseListen, startOpsServer, type OpsServer } from '../server/http.ts';
import { DirectorySource } from '../sources/directory.ts';
import { GitSource, readCredentialFile } from '../sources/git.ts';
import { commitsTouchingObject, type ObjectCommit } from '../sources/history.ts';
import type { Source } from '../sources/source.ts';

const { ok: EXIT_OK, error: EXIT_ERROR, refused: EXIT_REFUSED, conflicts: EXIT_CONFLICTS } = EXIT;

export interface RunningController {
  readonly controller: Controller;
  readonly server: OpsServer | undefined;
  readonly source: Source;
  stop(): Promise<void>;
}

/** The source the configuration names: a local directory (dev mode) or a Git repository. */
/** An exposing setting (exposure.ts) is a logged warning, or a refusal to start when `controller.insecure` is `refuse`. */
export function checkExposure(finding: string | undefined, config: Config, logger: Logger | undefined, event: string): void {
  if (!finding) return;
  if (config.controller.insecure === 'refuse') throw new ConfigError(`${finding} (refused: controller.insecure is refuse)`);
  logger?.warn({ event, reason: finding }, finding);
}

export async function buildSource(config: Config, logger?: Logger): Promise<Source> {
  const c = config.controller;
  const workDir = controllerPaths(config.stateDir).source;
  if (c.directory && c.git) throw new ConfigError('set either controller.directory or controller.git, not both');
  if (c.directory) return new DirectorySource({ directory: c.directory, workDir });
  const g = c.git;
  if (!g) throw new ConfigError('no source: set controller.git.url (INFRASEC_GIT_URL) or controller.directory (INFRASEC_DIRECTORY)');
  if (g.verifySignatures && !g.allowedSignersFile && !g.trustedKeysFile) {
    throw new ConfigError('controller.git.verifySignatures needs allowedSignersFile (SSH) or trustedKeysFile (OpenPGP)');
  }
  const token = g.token ?? (g.tokenFile ? await readCredentialFile(g.tokenFile) : undefined);
  checkExposure(gitTokenExposure(g.url, token !== undefined), config, logger, 'config.insecure.git-token');
  return new GitSource({
    url: g.url, ref: g.ref, path: g.path, workDir, token, tokenUsername: g.tokenUsername, sshKeyFile: g.sshKeyFile,
    knownHostsFile: g.knownHostsFile, verifySignatures: g.verifySignatures, allowedSignersFile: g.allowedSignersFile,
    trustedKeysFile: g.trustedKeysFile, timeoutMs: g.timeoutSeconds * 1000, maxDesiredBytes: config.desiredState.maxTotalBytes,
  });
}

async function secretFrom(value: string | undefined, file: string | undefined): Promise<string | undefined> {
  if (value) return value;
  if (!file) return undefined;
  const v = (await readFile(file, 'utf8')).trim();
  if (!v) throw new ConfigError(`${file} is empty`, { file });
  return v;
}

/**
 * Assembles and starts a controller from configuration: source, reconcilers, audit log, metrics, notifier and (unless
 * `serve` is false) the operations server. Used by `infrasec run`, the demo and the end-to-end tests.
 */
export async function startController(config: Config, opts: { logger: Logger; serve?: boolean }): Promise<RunningController> {
  const c = config.controller;
  const serve = opts.serve !== false;
  const bearerToken = serve ? await secretFrom(undefined, c.bearerTokenFile) : undefined;
  if (serve) checkExposure(listenerExposure(parseListen(c.listen).host, bearerToken !== undefined), config, opts.logger, 'config.insecure.listen');
  const { controller, source, metrics } = await assemble(config, opts.logger);
  await controller.start();
  let server: OpsServer | undefined;
  try {
    if (serve) {
      server = await startOpsServer({
        listen: c.listen, target: controller, metrics, logger: opts.logger,
        bearerToken,
        webhookSecret: await secretFrom(c.webhookSecret, c.webhookSecretFile),
      });
    }
  } catch (err) {
    await controller.stop();
    throw err;
  }
  return {
    controller, server, source,
    stop: async () => {
      await server?.close();
      await controller.stop();
    },
  };
}

async function assemble(config: Config, logger: Logger) {
  // Refuses to start without a state directory made by `infrasec init`, or with a generator key other than the one used before.
  await readGeneratorKey(config.stateDir, { record: true });
  const paths = controllerPaths(config.stateDir);
  const source = await buildSource(config, logger);
  const fingerprints = await FileFingerprintStore.open(paths.fingerprints);
  const { reconcilers, skipped } = await buildSystems(config, { fingerprints, logger });
  if (reconcilers.size === 0) throw new ConfigError(`no system is configured (${skipped.map((s) => `${s.system}: ${s.reason}`).join(', ')})`);
  const metrics = new ControllerMetrics();
  const audit = await AuditLog.open(config.stateDir);
  let controller: Controller | undefined;
  const notifier = await buildNotifier(config.controller, { logger, onFailure: (n) => controller?.status.notificationFailed(n.event) });
  controller = new Controller({ config, source, reconcilers, skipped, dependencies: dependencyGraph(config), audit, metrics, logger, notifier });
  return { controller, source, metrics };
}

interface RunOptions {
  config?: string;
  once?: boolean;
  directory?: string;
  listen?: string;
  stateDir?: string;
}

/**
 * Pure: the exit code of `run --once`, from the table in exit-codes.ts. The previous revision may have been enforced,
 * but a head that was not applied (invalid, refused, or not fetched) is never success: 1, or 3 when a signature or
 * fast-forward check refused it. Conflicts left after the pass: 4.
 */
export function onceExitCode(results: ReadonlyArray<Pick<PassResult, 'status' | 'conflicts'>>, status: ControllerStatus): number {
  if (results.length === 0 || results.some((r) => r.status === 'failed')) return EXIT_ERROR;
  const head = status.source.notApplied;
  if (head) return head.code === 'signature-refused' || head.code === 'non-fast-forward' ? EXIT_REFUSED : EXIT_ERROR;
  if (status.source.lastFetchError) return EXIT_ERROR;
  if (results.some((r) => r.status === 'refused')) return EXIT_REFUSED;
  if (results.some((r) => openConflicts(r) > 0)) return EXIT_CONFLICTS;
  return EXIT_OK;
}

async function runCommand(opts: RunOptions): Promise<number> {
  const config = await loadConfig({ file: opts.config });
  if (opts.stateDir) config.stateDir = opts.stateDir;
  if (opts.listen) config.controller.listen = opts.listen;
  if (opts.directory) {
    config.controller.directory = opts.directory;
    delete config.controller.git;
  }
  const logger = createLogger({ level: config.logLevel });

  if (opts.once) {
    const { controller } = await assemble(config, logger);
    const results = await controller.runOnce();
    const status = controller.status.snapshot();
    if (results.length === 0) {
      logger.error({ event: 'run.once.no-desired-state', reason: status.source.notApplied?.reason ?? status.source.lastFetchError?.message }, 'nothing to apply');
      process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      return EXIT_ERROR;
    }
    process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    const notApplied = status.source.notApplied ?? (status.source.lastFetchError ? { code: 'source-unavailable', reason: status.source.lastFetchError.message } : null);
    if (notApplied) logger.error({ event: 'run.once.head-not-applied', code: notApplied.code, reason: notApplied.reason }, 'the head was not applied; the previous revision was enforced');
    return onceExitCode(results, status);
  }

  const running = await startController(config, { logger });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) {
        logger.error({ event: 'controller.signal.forced', signal: sig }, 'second signal: exiting now');
        process.exit(EXIT_ERROR);
      }
      stopping = true;
      logger.info({ event: 'controller.signal', signal: sig }, 'finishing the change in flight, then exiting');
      // Should a connection the controller no longer uses keep the event loop alive, exit anyway (the timer itself does not).
      const forceExit = () => setTimeout(() => process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK), 10_000).unref();
      running.stop().then(() => {
        forceExit();
        resolve();
      }, (err) => {
        logger.error({ event: 'controller.stop.failed', error: (err as Error).message }, 'stop failed');
        process.exitCode = EXIT_ERROR;
        forceExit();
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
}

async function stateDirOf(opts: { stateDir?: string; config?: string }): Promise<string> {
  if (opts.stateDir) return opts.stateDir;
  return (await loadConfig({ file: opts.config })).stateDir;
}

async function auditVerifyCommand(opts: { stateDir?: string; config?: string }): Promise<number> {
  const stateDir = await stateDirOf(opts);
  let ok = true;
  for (const trail of AUDIT_TRAILS) {
    const file = auditPaths(stateDir, trail).log;
    // The secrets trail exists once something was handed over.
    if (trail !== 'changes' && !existsSync(file)) continue;
    const v = await verifyAuditFile(stateDir, trail);
    if (v.ok) {
      process.stdout.write(`${file}: ${v.entries} entries, chain intact\n`);
      // Intact since the repair: the gaps it acknowledged are still said.
      for (const e of await readAuditEntries(stateDir, trail)) {
        if (e.system === 'audit') process.stdout.write(`entry ${e.seq} (${e.time}): ${e.action}: ${e.reason ?? ''}\n`);
      }
      continue;
    }
    ok = false;
    for (const p of v.problems) process.stdout.write(`${file}:${p.line}: ${p.message}\n`);
    process.stdout.write(`audit log verification FAILED (${v.entries} entries verified before line ${v.problems[0]?.line})\n`);
  }
  return ok ? EXIT_OK : EXIT_ERROR;
}

/** `audit repair`: with --acknowledge-gap, records a gap or torn tail of each trail as an audited event so appends may resume. */
async function auditRepairCommand(opts: { stateDir?: string; config?: string; acknowledgeGap?: boolean; by?: string }): Promise<number> {
  const stateDir = await stateDirOf(opts);
  if (!opts.acknowledgeGap) {
    for (const trail of AUDIT_TRAILS) {
      const file = auditPaths(stateDir, trail).log;
      const v = await verifyAuditFile(stateDir, trail).catch((err: Error) => ({ ok: false, entries: 0, problems: [{ line: 0, message: err.message }] }));
      for (const p of v.problems) process.stdout.write(`${file}:${p.line}: ${p.message}\n`);
    }
    process.stderr.write('infrasec: audit repair records what was lost as an audited event and lets the controller append again; rerun with --acknowledge-gap to do it (the log is copied aside first)\n');
    return EXIT_ERROR;
  }
  const actor = opts.by ?? process.env['SUDO_USER'] ?? userInfo().username;
  for (const trail of AUDIT_TRAILS) {
    const file = auditPaths(stateDir, trail).log;
    if (trail !== 'changes' && !existsSync(file)) continue;
    // Its writer must be stopped: the repair and an append must never interleave.
    const lock = await acquireStateLock(auditLockPath(stateDir, trail), silentLogger, trail === 'changes' ? 'a running controller or apply (stop it first)' : 'a running `infrasec secrets` (let it finish first)');
    try {
      const r = await repairAudit(stateDir, actor, undefined, trail);
      if (!r.repaired) {
        process.stdout.write(`${file}: consistent with its head; nothing to repair\n`);
        continue;
      }
      process.stdout.write(`${file}: ${r.problem}\n`);
      process.stdout.write(`recorded as entry ${r.entry!.seq} (acknowledge-gap by ${actor}); the log as found is kept in ${r.keptAs}\n`);
    } finally {
      await lock.release();
    }
  }
  return EXIT_OK;
}

type TimelineItem = { time: string; type: 'commit'; commit: ObjectCommit } | { time: string; type: 'audit'; entry: AuditEntry };

/** Pure: one object's audit entries and Git commits, oldest first. */
export function buildTimeline(entries: readonly AuditEntry[], commits: readonly ObjectCommit[], object: string): TimelineItem[] {
  const items: TimelineItem[] = [
    ...entries.filter((e) => e.object === object).map((e) => ({ time: e.time, type: 'audit' as const, entry: e })),
    ...commits.map((c) => ({ time: new Date(c.date).toISOString(), type: 'commit' as const, commit: c })),
  ];
  return items.sort((a, b) => a.time.localeCompare(b.time) || (a.type === 'commit' ? -1 : 1));
}

export function renderTimeline(items: readonly TimelineItem[]): string {
  const out: string[] = [];
  for (const it of items) {
    if (it.type === 'commit') {
      out.push(`${it.time}  commit   ${it.commit.commit.slice(0, 12)}  ${it.commit.author}  ${JSON.stringify(it.commit.subject)}  (${it.commit.files.join(', ')})`);
      continue;
    }
    const e = it.entry;
    const note = e.error ? `  error: ${e.error}` : e.reason ? `  (${e.reason})` : '';
    if (e.system === HANDOVER_SYSTEM) {
      // Names of the fields handed over, never values (there are none in the entry).
      out.push(`${it.time}  secrets  ${e.action} ${e.result} by ${e.actor?.user ?? '?'}: ${e.fields.map((f) => String(f['path'])).join(', ')}${note}`);
      continue;
    }
    const via = e.actor?.via === 'cli' ? `, run by ${e.actor.user} with infrasec apply` : '';
    out.push(`${it.time}  ${e.drift ? 'drift   ' : 'applied '} ${e.system} ${e.action} ${e.result}  commit ${e.commit.slice(0, 12)}${e.dirty ? ' (dirty)' : ''} by ${e.author ?? '?'}, signature ${e.signature}${via}${note}`);
    // A pending entry is the write-ahead twin of the outcome that follows; its fields print once, with the outcome.
    if (e.result === 'pending') continue;
    for (const f of e.fields) out.push(`      ${String(f['path'])}: ${f['sensitive'] ? '(changed)' : `${formatValue(f['before'])} → ${formatValue(f['after'])}`}`);
  }
  if (items.length === 0) out.push('no history for this object');
  return out.join('\n');
}

async function auditLogCommand(opts: { object: string; stateDir?: string; config?: string; repo?: string; path?: string; format: string; maxCommits: number }): Promise<number> {
  const m = /^([A-Za-z]+)\/(.+)$/.exec(opts.object);
  if (!m) throw new InvalidArgumentError('--object must be Kind/name, e.g. User/jdupont');
  let stateDir = opts.stateDir;
  let path = opts.path;
  if (!stateDir || !path) {
    const config = await loadConfig({ file: opts.config }).catch((err) => {
      if (stateDir) return undefined; // --state-dir given: the configuration is only needed for the path
      throw err;
    });
    stateDir ??= config?.stateDir ?? '.infrasec-state';
    path ??= config?.controller.git?.path ?? '.';
  }
  const entries = (await Promise.all(AUDIT_TRAILS.map((trail) => readAuditEntries(stateDir!, trail)))).flat();
  const repo = opts.repo ?? join(controllerPaths(stateDir).source, 'repo');
  let commits: ObjectCommit[] = [];
  let gitNote = '';
  try {
    commits = await commitsTouchingObject(repo, path, m[1]!, m[2]!, opts.maxCommits);
  } catch (err) {
    gitNote = `git history unavailable (${repo}): ${(err as Error).message.split('\n')[0]}`;
  }
  const items = buildTimeline(entries, commits, opts.object);
  if (opts.format === 'json') {
    process.stdout.write(`${JSON.stringify({ object: opts.object, items, ...(gitNote ? { warning: gitNote } : {}) }, null, 2)}\n`);
  } else {
    if (gitNote) process.stderr.write(`warning: ${gitNote}\n`);
    process.stdout.write(`${renderTimeline(items)}\n`);
  }
  return EXIT_OK;
}

export function registerControllerCommands(program: Command): void {
  program
    .command('run')
    .description('run the controller: follow the Git source (or a local directory), apply new commits, correct or report drift, serve /healthz /readyz /metrics /status /drift /webhook')
    .option('-c, --config <file>', 'controller configuration (default: infrasec.yaml, INFRASEC_CONFIG)')
    .option('--once', `fetch once, run one pass per system, print the status and exit: ${EXIT_HELP}; a head not applied is 1, or 3 when a signature or fast-forward check refused it`)
    .option('-d, --directory <dir>', 'watch a local desired-state directory instead of Git (to try changes before pushing)')
    .option('--listen <addr>', 'address of the operations endpoints, host:port')
    .option('--state-dir <dir>', 'state directory (audit log, drift report, clone, fingerprints)')
    .action(async (opts: RunOptions) => {
      try {
        process.exitCode = await runCommand(opts);
      } catch (err) {
        if (!(err instanceof InfrasecError)) throw err;
        process.stderr.write(`infrasec: ${err.message}\n`);
        process.exitCode = EXIT_ERROR;
      }
    });

  const audit = program.command('audit').description('the controller audit trail: verify its hash chain, show one object\'s history');
  audit
    .command('verify')
    .description('check that no audit entry was edited, deleted or reordered; exit 0 intact, 1 broken (names the line)')
    .option('--state-dir <dir>', 'state directory holding audit.jsonl')
    .option('-c, --config <file>', 'controller configuration, for its stateDir')
    .action(async (opts: { stateDir?: string; config?: string }) => {
      process.exitCode = await auditVerifyCommand(opts);
    });
  audit
    .command('repair')
    .description('after a gap or a rewrite (the controller refuses to append): record what was lost as an audited event so appends resume; the controller must be stopped')
    .option('--acknowledge-gap', 'do it: copy the log aside, keep the entries that chain, append an acknowledge-gap entry (expected vs found head)')
    .option('--by <name>', 'who acknowledges (default: the login name)')
    .option('--state-dir <dir>', 'state directory holding audit.jsonl')
    .option('-c, --config <file>', 'controller configuration, for its stateDir')
    .action(async (opts: { stateDir?: string; config?: string; acknowledgeGap?: boolean; by?: string }) => {
      try {
        process.exitCode = await auditRepairCommand(opts);
      } catch (err) {
        process.stderr.write(`infrasec: ${(err as Error).message}\n`);
        process.exitCode = EXIT_ERROR;
      }
    });
  audit
    .command('log')
    .description('one object\'s history: audit entries joined with the Git commits that changed its YAML')
    .requiredOption('--object <Kind/name>', 'the object, e.g. User/jdupont')
    .option('--state-dir <dir>', 'state directory holding audit.jsonl and the clone')
    .option('-c, --config <file>', 'controller configuration, for stateDir and git.path')
    .option('--repo <dir>', 'Git working copy to read history from (default: the controller\'s clone)')
    .option('--path <path>', 'desired-state path inside the repository (default: controller.git.path)')
    .option('--max-commits <n>', 'commits to look through', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
      return n;
    }, 500)
    .addOption(new Option('-f, --format <format>', 'text|json').choices(['text', 'json']).default('text'))
    .action(async (opts: { object: string; stateDir?: string; config?: string; repo?: string; path?: string; format: string; maxCommits: number }) => {
      process.exitCode = await auditLogCommand(opts);
    });
}

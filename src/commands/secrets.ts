// `infrasec secrets`: hands generated and decrypted secrets to the people who need them, on a terminal or encrypted to an age recipient, each hand-over audited.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { formatDiagnostic } from '../desired/diagnostic.ts';
import type { ResolvedState } from '../desired/model.ts';
import { loadResolvedState } from '../desired/resolve.ts';
import type { ClientConfig } from '../engine/types.ts';
import { InfrasecError } from '../errors.ts';
import { handOverRecords, type HandOverContext } from '../handover/audit-record.ts';
import { buildHandOver, handedOverFields, renderHandOver, selectAll, SelectionError, type HandOver, type Selection } from '../handover/document.ts';
import { describeRecipients, encryptAge, type Recipients } from '../handover/encrypt.ts';
import { createLogger } from '../log.ts';
import { AuditLog, auditLockPath } from '../report/audit.ts';
import { describeOrigin } from '../sources/work-tree.ts';
import { readGeneratorKey } from '../state/generator-key.ts';
import { acquireStateLock } from '../state/state-lock.ts';

const EXIT = { ok: 0, error: 1 } as const;

export interface SecretsOptions {
  person?: string[];
  conference?: string[];
  all?: boolean;
  reveal?: boolean;
  to?: string[];
  recipientsFile?: string[];
  output?: string;
  clientConfigs?: string;
  format: 'text' | 'json';
  stateDir?: string;
  config?: string;
}

/** Where the command writes and who runs it; tests pass their own. */
export interface SecretsIo {
  readonly stdout: { isTTY?: boolean; write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly user: string;
  readonly now: () => Date;
}

/** A refusal that names what to do instead; printed as is, exit 1. */
class SecretsUsageError extends InfrasecError {
  constructor(message: string) {
    super('secrets-refused', message);
  }
}

function osUser(): string {
  try {
    return process.env['SUDO_USER'] ?? userInfo().username;
  } catch {
    return process.env['USER'] ?? `uid ${process.getuid?.() ?? '?'}`;
  }
}

function processIo(): SecretsIo {
  return { stdout: process.stdout, stderr: process.stderr, user: osUser(), now: () => new Date() };
}

/** Pure: refuses the combinations that could put a secret where it does not belong, before anything is read. */
export function checkSecretsMode(opts: SecretsOptions, stdoutIsTty: boolean): 'reveal' | 'export' {
  const encrypted = (opts.to?.length ?? 0) > 0 || (opts.recipientsFile?.length ?? 0) > 0;
  if (opts.reveal && encrypted) throw new SecretsUsageError('--reveal shows secrets on this terminal, --to/--recipients-file encrypts them: choose one');
  if (!opts.reveal && !encrypted) {
    throw new SecretsUsageError('nothing shown: add --reveal to show the secrets on this terminal, or --to age1… (or --recipients-file FILE) to write them encrypted for the person');
  }
  if (opts.reveal && !stdoutIsTty) {
    throw new SecretsUsageError('--reveal shows secrets only on a terminal, and standard output is not one (a pipe, a file or a CI log would keep them): use --to age1… to hand them over encrypted');
  }
  if (opts.reveal && (opts.output || opts.clientConfigs)) throw new SecretsUsageError('--output and --client-configs write files: they are written only encrypted (--to age1…)');
  return opts.reveal ? 'reveal' : 'export';
}

function selectionOf(opts: SecretsOptions, state: ResolvedState): Selection {
  if (opts.all) return selectAll(state.resources);
  return { people: opts.person ?? [], conferences: opts.conference ?? [] };
}

/** The live client configurations of the selected people, from every configured system that exports them. */
async function fetchClientConfigs(config: Config, state: ResolvedState, people: readonly string[]): Promise<ClientConfig[]> {
  const [{ buildSystems }, { FileFingerprintStore }, { controllerPaths }] = await Promise.all([
    import('../engine/systems.ts'), import('../state/fingerprints.ts'), import('../controller/paths.ts'),
  ]);
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const { reconcilers } = await buildSystems(config, { fingerprints: await FileFingerprintStore.open(controllerPaths(config.stateDir).fingerprints), logger });
  const exporters = [...reconcilers].flatMap(([system, r]) => (r.clientConfigs ? [[system, r.clientConfigs.bind(r)] as const] : []));
  try {
    if (exporters.length === 0) throw new SecretsUsageError('--client-configs: no configured system exports client configurations');
    const signal = AbortSignal.timeout(120_000);
    const out: ClientConfig[] = [];
    for (const person of people) for (const [, clientConfigs] of exporters) out.push(...(await clientConfigs(state, person, signal)));
    if (out.length === 0) throw new SecretsUsageError(`--client-configs: no client configuration for ${people.join(', ')} on ${exporters.map(([s]) => s).join(', ')}`);
    return out;
  } finally {
    await Promise.all([...reconcilers.values()].map((r) => r.close().catch(() => undefined)));
  }
}

interface Output {
  /** Where it goes, for the audit trail. */
  readonly where: string;
  /** The file, or standard output. */
  readonly target: string;
  readonly fields: ReadonlyMap<string, readonly string[]>;
  readonly write: () => Promise<void>;
}

async function writeNew(path: string, data: string): Promise<void> {
  await writeFile(path, data, { mode: 0o600, flag: 'wx' });
}

/** Everything to write, encrypted first; nothing is written yet. */
async function prepareOutputs(mode: 'reveal' | 'export', handOver: HandOver, configs: readonly ClientConfig[], opts: SecretsOptions, io: SecretsIo): Promise<Output[]> {
  const document = renderHandOver(handOver, opts.format);
  const fields = handedOverFields(handOver);
  if (mode === 'reveal') return [{ where: 'shown on a terminal', target: 'this terminal', fields, write: async () => void io.stdout.write(document) }];
  const recipients: Recipients = { recipients: opts.to ?? [], files: opts.recipientsFile ?? [] };
  const to = describeRecipients(recipients);
  const targets = [opts.output, ...configs.map((c) => join(opts.clientConfigs!, `${c.file}.age`))].filter((p): p is string => p !== undefined);
  const taken = targets.filter((p) => existsSync(p));
  if (taken.length > 0) throw new SecretsUsageError(`${taken.join(', ')} already exist(s); nothing is overwritten: remove them or choose another --output/--client-configs`);
  const outputs: Output[] = [];
  const armored = await encryptAge(document, recipients);
  outputs.push({
    where: `encrypted to ${to}, written to ${opts.output ?? 'standard output'}`, target: opts.output ?? 'standard output', fields,
    write: async () => (opts.output ? writeNew(opts.output, armored) : void io.stdout.write(armored)),
  });
  for (const c of configs) {
    const file = join(opts.clientConfigs!, `${c.file}.age`);
    const armoredConfig = await encryptAge(c.content.reveal(), recipients);
    outputs.push({ where: `encrypted to ${to}, written to ${file}`, target: file, fields: new Map([[c.object, [`client configuration ${c.file}`]]]), write: () => writeNew(file, armoredConfig) });
  }
  return outputs;
}

export async function secretsCommand(path: string, opts: SecretsOptions, io: SecretsIo = processIo()): Promise<number> {
  const mode = checkSecretsMode(opts, io.stdout.isTTY === true);
  const config = await loadConfig({ file: opts.config });
  if (opts.stateDir) config.stateDir = opts.stateDir;
  // The secrets trail lives in the state directory, and generated secrets derive from its key: both must exist already.
  await readGeneratorKey(config.stateDir);
  const loaded = await loadResolvedState(path, config, 'pending');
  if (!loaded.state) {
    for (const d of loaded.diagnostics) io.stderr.write(`${formatDiagnostic(d)}\n`);
    io.stderr.write(`infrasec: ${path}: the desired state is invalid; nothing was handed over\n`);
    return EXIT.error;
  }
  const origin = await describeOrigin(path, loaded.files);
  const state: ResolvedState = { ...loaded.state, revision: origin.revision };
  const selection = selectionOf(opts, state);
  const handOver = buildHandOver(state, selection);
  const people = handOver.sections.filter((s) => s.recipient.startsWith('User/')).map((s) => s.recipient.slice('User/'.length));
  if (opts.clientConfigs) await mkdir(opts.clientConfigs, { recursive: true, mode: 0o700 });
  const configs = opts.clientConfigs ? await fetchClientConfigs(config, state, people) : [];
  const outputs = await prepareOutputs(mode, handOver, configs, opts, io);

  // One writer per trail: hand-overs are recorded under their own lock, beside a running controller.
  const lock = await acquireStateLock(auditLockPath(config.stateDir, 'secrets'), createLogger({ level: 'silent' }), 'another `infrasec secrets`');
  try {
    const audit = await AuditLog.open(config.stateDir, io.now, 'secrets');
    for (const out of outputs) {
      const ctx: HandOverContext = { time: io.now().toISOString(), commit: origin.commit, author: origin.author, actor: { via: 'cli', user: io.user }, action: mode, reason: out.where };
      // Recorded before it is shown or written: a hand-over the trail cannot record does not happen.
      await audit.append(handOverRecords(out.fields, ctx));
      try {
        await out.write();
      } catch (err) {
        await audit.append(handOverRecords(out.fields, { ...ctx, time: io.now().toISOString() }, 'failed', (err as NodeJS.ErrnoException).code ?? 'write failed'));
        throw err;
      }
    }
  } finally {
    await lock.release();
  }
  const count = handOver.sections.reduce((n, s) => n + s.items.length, 0);
  const to = describeRecipients({ recipients: opts.to ?? [], files: opts.recipientsFile ?? [] });
  const written = mode === 'reveal' ? 'shown' : `encrypted to ${to}, written to ${outputs.map((o) => o.target).join(', ')}`;
  io.stderr.write(`infrasec: ${count} secret(s) of ${handOver.sections.map((s) => s.recipient).join(', ')}${configs.length ? ` and ${configs.length} client configuration(s)` : ''} ${written}; recorded in the secrets audit trail\n`);
  return EXIT.ok;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerSecretsCommand(program: Command): void {
  program
    .command('secrets')
    .description('hand generated and decrypted secrets to the people who need them: a person\'s password, SIP secret and voicemail PIN, a conference\'s PINs; shown on a terminal (--reveal) or encrypted to an age recipient (--to); every hand-over is audited. Exit 0 done, 1 refused or failed')
    .argument('[path]', 'desired-state directory', 'desired-state')
    .option('-p, --person <name>', 'a User\'s secrets and those of the extensions they own (repeatable)', collect)
    .option('--conference <name>', 'a Conference\'s PINs (repeatable)', collect)
    .option('--all', 'every person and conference holding a secret')
    .option('--reveal', 'show them on this terminal (refused when standard output is not a terminal)')
    .option('--to <recipient>', 'encrypt for this age recipient (age1… or an SSH public key; repeatable)', collect)
    .option('--recipients-file <file>', 'encrypt for the recipients in this file, one a line (repeatable)', collect)
    .option('-o, --output <file>', 'write the encrypted hand-over to this new file (default: standard output, ASCII-armored)')
    .option('--client-configs <dir>', 'also fetch each selected person\'s client configurations from the live systems (the VPN .ovpn) and write each into DIR, encrypted to the same recipients')
    .addOption(new Option('-f, --format <format>', 'format of the document').choices(['text', 'json']).default('text'))
    .option('--state-dir <dir>', 'state directory (default: stateDir of the configuration, INFRASEC_STATE_DIR)')
    .option('-c, --config <file>', 'controller configuration (default: infrasec.yaml or $INFRASEC_CONFIG)')
    .action(async (path: string, opts: SecretsOptions) => {
      try {
        process.exitCode = await secretsCommand(path, opts);
      } catch (err) {
        // Messages here name objects, files and recipients, never a value.
        const known = err instanceof InfrasecError || err instanceof SelectionError;
        const code = err instanceof InfrasecError ? ` [${err.code}]` : '';
        process.stderr.write(`infrasec: ${known ? (err as Error).message : `secrets: ${(err as Error).message}`}${code}\n`);
        process.exitCode = EXIT.error;
      }
    });
}

// Atomic, durable writes of the controller's files under the state directory (write temp, fsync, rename, fsync dir), and their reads.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InfrasecError } from '../errors.ts';

/**
 * A state file that cannot be read as what it should hold. The message names the file, what is wrong and, for a file
 * holding irreplaceable state, how to recover: such a file is never silently replaced.
 */
export class StateFileError extends InfrasecError {
  constructor(readonly path: string, problem: string, recovery: string) {
    super('state-file-corrupt', `state file ${path} is unusable: ${problem}. ${recovery}`, { path });
  }
}

/** What a state file holds and what to do when it is unusable. `check` returns a problem, or undefined when the value is fine. */
export interface StateFileSpec {
  readonly check?: (value: unknown) => string | undefined;
  /** For an irreplaceable file: the recovery steps, said in the error. */
  readonly recovery: string;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InfrasecError('state-file-unreadable', `cannot read state file ${path}: ${(err as Error).message}`, { path }, { cause: err });
  }
}

/** Pure: the problem with `text` as the JSON `check` expects, or the value. */
function parseState(text: string, check?: (value: unknown) => string | undefined): { value: unknown } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { problem: text.trim() === '' ? 'it is empty' : `not valid JSON (${(err as Error).message})` };
  }
  const problem = check?.(value);
  return problem ? { problem } : { value };
}

/**
 * Reads a file that holds irreplaceable state: undefined when it does not exist; a StateFileError naming it, the problem
 * and the recovery steps when it is corrupt.
 */
export async function readStateFile<T>(path: string, spec: StateFileSpec): Promise<T | undefined> {
  const text = await readText(path);
  if (text === undefined) return undefined;
  const parsed = parseState(text, spec.check);
  if ('problem' in parsed) throw new StateFileError(path, parsed.problem, spec.recovery);
  return parsed.value as T;
}

/**
 * Reads a derived file (rebuilt by the controller from live state): a corrupt one is moved aside to
 * `<path>.corrupt-<time>` (kept for inspection) and undefined is returned, so the caller starts it afresh.
 */
export async function readDerivedFile<T>(path: string, check: ((value: unknown) => string | undefined) | undefined, onRebuilt: (problem: string, movedTo: string) => void): Promise<T | undefined> {
  const text = await readText(path);
  if (text === undefined) return undefined;
  const parsed = parseState(text, check);
  if ('value' in parsed) return parsed.value as T;
  const movedTo = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(path, movedTo);
  onRebuilt(parsed.problem, movedTo);
  return undefined;
}

/**
 * Replaces `path` with `data` so that a reader (or a crash, even SIGKILL) sees either the old or the new
 * content, never a torn file. Errors propagate: a state write that fails must fail the caller.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  // The rename is durable only once the directory entry is on disk.
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** Parsed JSON from `path`, or undefined when the file does not exist. A corrupt file is an error, not "empty". */
export async function readJsonFile<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}

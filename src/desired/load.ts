// Loads a desired-state directory: finds the YAML files, parses them, validates each document and builds the typed DesiredState.
import { lstat, readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { compareDiagnostics, formatPath, quoteText, type Diagnostic } from './diagnostic.ts';
import { checkReferences } from './references.ts';
import { API_VERSION, KINDS, type AnyResource, type DesiredState, type Kind, type SourceRef } from './model.ts';
import { LIMIT_SETTINGS, totalLimits, type TotalLimits } from './limits.ts';
import { LIMITS, parseFile, type BrokenIdentity, type ParsedDocument } from './parse.ts';
import { validateAgainstSchema } from './schema.ts';
import { normalizeSpec } from './defaults.ts';
import { didYouMean, Suggester } from './suggest.ts';

export interface LoadResult {
  readonly state?: DesiredState;
  readonly diagnostics: readonly Diagnostic[];
  readonly files: readonly string[];
  readonly resources: readonly AnyResource[];
}

const YAML_FILE = /\.ya?ml$/i;
// C0, DEL, C1 (U+0085 NEL is a line break to some parsers) and the Unicode line/paragraph separators.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Lists YAML files under root, sorted, skipping dot-directories (.git) and never following symlinks out of the tree. */
export async function findYamlFiles(root: string): Promise<{ files: string[]; diagnostics: Diagnostic[] }> {
  const files: string[] = [];
  const diagnostics: Diagnostic[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = join(dir, e.name);
      if (e.isDirectory()) stack.push(full);
      else if (e.isFile() && YAML_FILE.test(e.name)) files.push(full);
      // A linked directory is refused too: skipping it silently would drop every object under it from the desired state.
      else if (e.isSymbolicLink() && (YAML_FILE.test(e.name) || (await stat(full).catch(() => undefined))?.isDirectory())) {
        diagnostics.push({ file: relative(root, full).split(sep).join('/'), line: 1, col: 1, path: '', code: 'file-symlink',
          message: 'symbolic links are not followed in the desired state', severity: 'error' });
      }
    }
    if (files.length > LIMITS.maxFiles) {
      diagnostics.push({ file: '', line: 0, col: 0, path: '', code: 'too-many-files', message: `more than ${LIMITS.maxFiles} YAML files`, severity: 'error' });
      break;
    }
  }
  files.sort();
  return { files, diagnostics };
}

export interface LoadOptions {
  /** Ceilings on the whole state; defaults from DEFAULT_TOTAL_LIMITS. */
  readonly limits?: Partial<TotalLimits>;
}

/** A whole-state limit crossed at `file`: the file where it happened, the limit, and the setting that raises it. */
function limitDiagnostic(file: string, code: string, what: string, limit: keyof TotalLimits): Diagnostic {
  return { file, line: 1, col: 1, path: '', code, message: `${what}; nothing after this file was loaded. Raise ${LIMIT_SETTINGS[limit]} if this is intended`, severity: 'error' };
}

/** Wall-clock deadline of one load, checked between files (each file is bounded by the per-file limits). */
function deadline(limits: TotalLimits): (file: string) => Diagnostic | undefined {
  const end = performance.now() + limits.loadTimeoutSeconds * 1000;
  return (file) => (performance.now() >= end ? limitDiagnostic(file, 'load-timeout', `loading took longer than ${limits.loadTimeoutSeconds} s`, 'loadTimeoutSeconds') : undefined);
}

/** Loads and validates every document under `root`. Never throws for bad input; `state` is set only when there is no error. */
export async function loadDesiredState(root: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const limits = totalLimits(opts.limits);
  const late = deadline(limits);
  const rootStat = await lstat(root).catch(() => undefined);
  if (!rootStat?.isDirectory()) {
    const d: Diagnostic = { file: '', line: 0, col: 0, path: '', code: 'path-invalid', message: `${root} is not a directory`, severity: 'error' };
    return { diagnostics: [d], files: [], resources: [] };
  }
  const { files, diagnostics } = await findYamlFiles(root);
  const inputs: Array<{ file: string; bytes: Uint8Array }> = [];
  let totalBytes = 0;
  for (const full of files) {
    const file = relative(root, full).split(sep).join('/');
    const timedOut = late(file);
    if (timedOut) {
      diagnostics.push(timedOut);
      break;
    }
    const st = await lstat(full);
    if (st.size > LIMITS.maxFileBytes) {
      diagnostics.push({ file, line: 1, col: 1, path: '', code: 'file-too-large', message: `file is ${st.size} bytes, above the limit of ${LIMITS.maxFileBytes}`, severity: 'error' });
      continue;
    }
    // Sized before it is read: a state over the limit is refused without ever being held in memory.
    totalBytes += st.size;
    if (totalBytes > limits.maxTotalBytes) {
      diagnostics.push(limitDiagnostic(file, 'state-too-large', `the desired state is larger than ${limits.maxTotalBytes} bytes in total`, 'maxTotalBytes'));
      break;
    }
    inputs.push({ file, bytes: await readFile(full) });
  }
  const invalidSoFar = diagnostics.some((d) => d.severity === 'error' && (d.code === 'state-too-large' || d.code === 'load-timeout'));
  const result = invalidSoFar ? { diagnostics: diagnostics.sort(compareDiagnostics), resources: [] } : loadFromFiles(inputs, { limits, late, found: diagnostics });
  // Errors found while listing and sizing files (symlinks, too large, too many) invalidate the state as much as parse errors.
  const invalid = diagnostics.some((d) => d.severity === 'error');
  return { ...result, state: invalid ? undefined : result.state, files: files.map((f) => relative(root, f).split(sep).join('/')) };
}

/** Pure core of loading: files' bytes in, resources and diagnostics out. */
export function loadFromFiles(
  inputs: ReadonlyArray<{ file: string; bytes: Uint8Array }>,
  opts: {
    limits?: Partial<TotalLimits>;
    late?: (file: string) => Diagnostic | undefined;
    /** Findings about files made before reading them (symlinks, sizes): listed with the findings inside documents. */
    found?: readonly Diagnostic[];
  } = {},
): Omit<LoadResult, 'files'> {
  const limits = totalLimits(opts.limits);
  const late = opts.late ?? deadline(limits);
  const diagnostics: Diagnostic[] = [...(opts.found ?? [])];
  const resources: AnyResource[] = [];
  // Objects written but refused (syntax or schema): defined all the same, so nothing that refers to them is reported missing.
  const broken = new Set<string>();
  let documents = 0;
  let stopped = false;
  for (const { file, bytes } of inputs) {
    const timedOut = late(file);
    if (timedOut) {
      diagnostics.push(timedOut);
      stopped = true;
      break;
    }
    const parsed = parseFile(file, bytes);
    for (const d of parsed.diagnostics) diagnostics.push(d);
    for (const id of parsed.broken ?? []) addBroken(broken, id);
    documents += parsed.documents.length;
    if (documents > limits.maxDocuments) {
      diagnostics.push(limitDiagnostic(file, 'too-many-documents', `the desired state holds more than ${limits.maxDocuments} YAML documents`, 'maxDocuments'));
      stopped = true;
      break;
    }
    for (const doc of parsed.documents) {
      const r = toResource(doc, diagnostics, broken);
      if (r) resources.push(r);
    }
    if (resources.length > limits.maxObjects) {
      diagnostics.push(limitDiagnostic(file, 'too-many-objects', `the desired state holds more than ${limits.maxObjects} objects`, 'maxObjects'));
      stopped = true;
      break;
    }
  }
  // Past a limit the state is refused: cross-references of a partial state would only add noise.
  if (stopped) return { diagnostics: diagnostics.sort(compareDiagnostics), resources };
  // What is wrong inside a document comes first, then what is inconsistent between documents, often its consequence.
  diagnostics.sort(compareDiagnostics);
  const across: Diagnostic[] = [];
  const state = indexResources(resources, across);
  // One by one: spreading millions of findings into push() overflows the call stack.
  for (const d of checkReferences(state, { broken })) across.push(d);
  across.sort(compareDiagnostics);
  for (const d of across) diagnostics.push(d);
  const hasError = diagnostics.some((d) => d.severity === 'error');
  return { state: hasError ? undefined : state, diagnostics, resources };
}

/** Records a refused object's identity under the kind it was meant to be (`Usr` counts as `User`); a kind not close to any is dropped. */
function addBroken(broken: Set<string>, { kind, name }: BrokenIdentity): void {
  const meant = (KINDS as readonly string[]).includes(kind) ? kind : new Suggester().closest(kind, KINDS);
  if (meant !== undefined) broken.add(`${meant}/${name}`);
}

function sourceRef(doc: ParsedDocument): SourceRef {
  return { file: doc.file, line: doc.start.line, col: doc.start.col, at: doc.at };
}

function toResource(doc: ParsedDocument, diagnostics: Diagnostic[], broken: Set<string>): AnyResource | undefined {
  const source = sourceRef(doc);
  const report = (path: ReadonlyArray<string | number>, code: string, message: string) => {
    const { line, col } = source.at(path);
    diagnostics.push({ file: doc.file, line, col, path: formatPath(path), code, message, severity: 'error' });
  };
  const value = doc.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    report([], 'document-invalid', 'a document must be a mapping with apiVersion, kind, metadata and spec');
    return undefined;
  }
  const obj = value as Record<string, unknown>;
  const name = (obj['metadata'] as Record<string, unknown> | null | undefined)?.['name'];
  const refused = () => {
    if (typeof obj['kind'] === 'string' && typeof name === 'string') addBroken(broken, { kind: obj['kind'], name });
    return undefined;
  };
  if (obj['apiVersion'] !== API_VERSION) {
    report(['apiVersion'], 'api-version', `apiVersion must be "${API_VERSION}"`);
    return refused();
  }
  const kind = obj['kind'];
  if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) {
    const meant = typeof kind === 'string' ? new Suggester().closest(kind, KINDS) : undefined;
    const known = meant === undefined ? `; expected one of ${KINDS.join(', ')}` : didYouMean(meant);
    // A kind that is not a string is not echoed: it could be any value, a secret pasted in the wrong place included.
    report(['kind'], 'kind-unknown', typeof kind === 'string' ? `unknown kind ${quoteText(kind)}${known}` : `kind must be one of ${KINDS.join(', ')}`);
    return refused();
  }
  let ok = true;
  for (const { path, value: text } of strings(obj)) {
    const last = path[path.length - 1];
    if (last === 'encrypted') continue; // armored ciphertext is multi-line by design; the schema pins its alphabet
    if (CONTROL_CHARS.test(text)) {
      report(path, 'control-character', 'control characters (CR, LF, NUL, TAB...) are not allowed');
      ok = false;
    } else if (text.length > LIMITS.maxStringLength) {
      report(path, 'value-too-long', `string longer than ${LIMITS.maxStringLength} characters`);
      ok = false;
    }
  }
  for (const issue of validateAgainstSchema(kind as Kind, obj, doc.sourceOf)) {
    // Control characters are already reported once, precisely.
    if (!ok && issue.code === 'value-invalid' && issue.message.startsWith('must not contain control')) continue;
    report(issue.path, issue.code, issue.message);
    ok = false;
  }
  if (!ok) return refused();
  const metadata = obj['metadata'] as AnyResource['metadata'];
  const spec = normalizeSpec(kind as Kind, obj['spec'] as Record<string, unknown>);
  return { apiVersion: API_VERSION, kind, metadata, spec, source } as unknown as AnyResource;
}

/** Every string (keys included) in a plain JSON-like value, with its path; iterative, depth already bounded by the parser. */
function* strings(root: unknown): Generator<{ path: Array<string | number>; value: string }> {
  const stack: Array<[unknown, Array<string | number>]> = [[root, []]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (typeof node === 'string') yield { path, value: node };
    else if (Array.isArray(node)) node.forEach((v, i) => stack.push([v, [...path, i]]));
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (CONTROL_CHARS.test(k)) yield { path: [...path, k], value: k };
        stack.push([v, [...path, k]]);
      }
    }
  }
}

const COLLECTION: Record<Kind, keyof DesiredState> = {
  User: 'users', Group: 'groups', Extension: 'extensions', Conference: 'conferences', VpnProfile: 'vpnProfiles',
  FirewallAlias: 'firewallAliases', FirewallRule: 'firewallRules', PortForward: 'portForwards', MailDomain: 'mailDomains', MailAlias: 'mailAliases',
};

/** Indexes resources by kind and name; a second object with the same identity is an error at its own location. */
function indexResources(resources: readonly AnyResource[], diagnostics: Diagnostic[]): DesiredState {
  const maps = Object.fromEntries(Object.values(COLLECTION).map((k) => [k, new Map<string, AnyResource>()])) as Record<keyof DesiredState, Map<string, AnyResource>>;
  for (const r of resources) {
    const map = maps[COLLECTION[r.kind]];
    const first = map.get(r.metadata.name);
    if (first) {
      const { line, col } = r.source.at(['metadata', 'name']);
      diagnostics.push({ file: r.source.file, line, col, path: 'metadata.name', code: 'duplicate-identity',
        message: `${r.kind} "${r.metadata.name}" is already defined at ${first.source.file}:${first.source.line}`, severity: 'error' });
      continue;
    }
    map.set(r.metadata.name, r);
  }
  return maps as unknown as DesiredState;
}

/** Count of resources per kind, for summaries. */
export function countByKind(state: DesiredState): Record<Kind, number> {
  return Object.fromEntries(KINDS.map((k) => [k, (state[COLLECTION[k]] as ReadonlyMap<string, unknown>).size])) as Record<Kind, number>;
}

export function resourcesOf(state: DesiredState): AnyResource[] {
  return KINDS.flatMap((k) => [...(state[COLLECTION[k]] as ReadonlyMap<string, AnyResource>).values()]);
}

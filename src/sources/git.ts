// Git source: fetches a pinned branch, tag or commit with simple-git into the state directory, checks it out, reads author and signature. Credentials never reach a URL, argv, log or error.
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import type { Lineage } from './fast-forward.ts';
import { SourceError, type SignatureCheck, type SignatureState, type Source, type SourceDescription, type SourceSnapshot } from './source.ts';

export interface GitSourceSettings {
  readonly url: string;
  /** Branch (`main`, `refs/heads/main`), tag (`refs/tags/v1`, `tags/v1`) or a full 40-hex commit. */
  readonly ref: string;
  /** Sub-directory of the repository holding the desired state. */
  readonly path: string;
  /** Where the clone and the verification keyring live (under the controller's state directory). */
  readonly workDir: string;
  /** HTTPS token (read from a file or the environment by the caller); sent as an HTTP header, never in the URL. */
  readonly token?: string;
  /** User name paired with the token in Basic auth: `oauth2` suits GitLab, `x-access-token` GitHub. */
  readonly tokenUsername?: string;
  readonly sshKeyFile?: string;
  /** known_hosts for SSH; without it the first host key seen is accepted and pinned in the work dir. */
  readonly knownHostsFile?: string;
  readonly verifySignatures?: boolean;
  /** SSH allowed_signers file (git's gpg.ssh.allowedSignersFile format). */
  readonly allowedSignersFile?: string;
  /** Armored OpenPGP public keys whose signatures are accepted. */
  readonly trustedKeysFile?: string;
  /** Ceiling of one git command. */
  readonly timeoutMs?: number;
  /** Bytes of YAML under `path` above which a commit is not checked out (desiredState.maxTotalBytes). */
  readonly maxDesiredBytes?: number;
}

const COMMIT = /^[0-9a-f]{40}$/;

/**
 * What is applied is the reviewed blob: no `ident` expansion, no clean/smudge filter (git-lfs included), no
 * working-tree re-encoding, no end-of-line conversion, whatever the repository's .gitattributes ask for.
 */
const RAW_ATTRIBUTES = '* -text -eol -ident -filter -working-tree-encoding\n';
/** Attribute sources outside the clone (the user's or the system's) are ignored, and so are line-ending settings. */
const RAW_CHECKOUT = ['-c', 'core.attributesFile=/dev/null', '-c', 'core.autocrlf=false', '-c', 'core.eol=lf'];

type PinnedRef =
  | { readonly type: 'branch'; readonly name: string; readonly refspec: string; readonly local: string }
  | { readonly type: 'tag'; readonly name: string; readonly refspec: string; readonly local: string }
  | { readonly type: 'commit'; readonly name: string; readonly refspec: string; readonly local: string };

/** Pure: what to fetch for a configured ref and where it lands locally. */
export function parseRef(ref: string): PinnedRef {
  const r = ref.trim();
  if (/^[0-9a-f]{40}$/i.test(r)) return { type: 'commit', name: r.toLowerCase(), refspec: '+refs/heads/*:refs/remotes/origin/*', local: r.toLowerCase() };
  const tag = /^(?:refs\/)?tags\/(.+)$/.exec(r);
  if (tag) return { type: 'tag', name: tag[1]!, refspec: `+refs/tags/${tag[1]}:refs/tags/${tag[1]}`, local: `refs/tags/${tag[1]}` };
  const name = r.replace(/^refs\/heads\//, '');
  if (!name || /[\s~^:?*[\\]|\.\.|^-/.test(name)) throw new SourceError(`git ref "${ref}" is not a valid branch, tag or commit`, { ref });
  return { type: 'branch', name, refspec: `+refs/heads/${name}:refs/remotes/origin/${name}`, local: `refs/remotes/origin/${name}` };
}

/** Pure: a URL safe to print, with user info (tokens, passwords) removed. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1');
}

const SIGNATURE_STATES: Record<string, SignatureState> = {
  G: 'good', B: 'bad', U: 'untrusted', X: 'expired', Y: 'expired', R: 'revoked', E: 'unknown-key', N: 'unsigned',
};

/** Pure: why a snapshot may not be applied under signature verification, or undefined when it may. */
export function signatureRefusal(sig: SignatureCheck, required: boolean): string | undefined {
  if (!required || sig.state === 'good') return undefined;
  const who = sig.key ? ` (key ${sig.key})` : '';
  switch (sig.state) {
    case 'unsigned':
      return 'head commit is not signed and signature verification is on';
    case 'untrusted':
    case 'unknown-key':
      return `head commit is signed by a key that is not in the allowed signers${who}`;
    case 'bad':
      return `head commit has a bad signature${who}`;
    case 'expired':
      return `head commit's signature or key has expired${who}`;
    case 'revoked':
      return `head commit is signed by a revoked key${who}`;
    case 'not-checked':
      return 'head commit signature was not checked';
  }
}

export class GitSource implements Source {
  private readonly repoDir: string;
  private readonly gnupgHome: string;
  private readonly pinned: PinnedRef;
  private readonly timeoutMs: number;
  private keyringReady: Promise<void> | undefined;
  private remoteReady = false;
  /** The commit in the working tree, as far as this process knows. */
  private checkedOut: string | undefined;

  constructor(private readonly settings: GitSourceSettings) {
    this.repoDir = join(resolve(settings.workDir), 'repo');
    this.gnupgHome = join(resolve(settings.workDir), 'gnupg');
    this.pinned = parseRef(settings.ref);
    this.timeoutMs = settings.timeoutMs ?? 120_000;
  }

  /** The local clone, for history queries (`audit log`). */
  get repository(): string {
    return this.repoDir;
  }

  describe(): SourceDescription {
    return { kind: 'git', location: redactUrl(this.settings.url), ref: this.settings.ref, path: this.settings.path };
  }

  refusal(snapshot: SourceSnapshot): string | undefined {
    return signatureRefusal(snapshot.signature, this.settings.verifySignatures === true);
  }

  async sync(signal: AbortSignal): Promise<SourceSnapshot> {
    await this.ensureRepository(signal);
    const git = this.git(signal, true);
    try {
      await git.raw(['fetch', '--no-tags', '--prune', '--quiet', 'origin', this.pinned.refspec, ...(this.pinned.type === 'commit' ? ['+refs/tags/*:refs/tags/*'] : [])]);
    } catch (err) {
      throw this.failure(`cannot fetch ${this.settings.ref} from ${redactUrl(this.settings.url)}`, err);
    }
    const meta = await this.describeCommit(this.pinned.local, signal).catch((err: unknown) => {
      throw err instanceof SourceError ? err : this.failure(`${this.pinned.type} ${this.pinned.name} not found in ${redactUrl(this.settings.url)}`, err);
    });
    const limit = this.settings.maxDesiredBytes;
    if (limit !== undefined && meta.revision !== this.checkedOut) {
      const bytes = await this.desiredBytes(meta.revision, signal);
      // Nothing is written: the root names no directory, so nothing could load the previous tree by mistake.
      if (bytes > limit) return { ...meta, root: join(resolve(this.settings.workDir), 'not-checked-out'), tooLarge: { bytes, limit } };
    }
    return this.checkoutCommit(meta, signal);
  }

  /** Bytes of the YAML blobs under the desired-state path of a commit, read from Git's tree (one command, no file written). */
  private async desiredBytes(revision: string, signal: AbortSignal): Promise<number> {
    let out: string;
    try {
      out = await this.git(signal, false).raw(['ls-tree', '-r', '-l', '-z', '--full-tree', revision, '--', this.settings.path === '' ? '.' : this.settings.path]);
    } catch (err) {
      throw this.failure(`cannot list ${revision.slice(0, 12)}`, err);
    }
    let total = 0;
    for (const entry of out.split('\0')) {
      const m = /^\d+ blob [0-9a-f]+ +(\d+)\t(.*)$/s.exec(entry);
      if (m && /\.ya?ml$/i.test(m[2]!)) total += Number(m[1]);
    }
    return total;
  }

  async lineage(adopted: string, head: string, signal: AbortSignal): Promise<Lineage> {
    if (adopted === head) return 'same';
    if (!COMMIT.test(adopted) || !(await this.hasCommit(adopted, signal))) return 'unknown';
    if (await this.isAncestor(adopted, head, signal)) return 'descends';
    return (await this.isAncestor(head, adopted, signal)) ? 'rewind' : 'sideways';
  }

  async checkout(revision: string, signal: AbortSignal): Promise<SourceSnapshot | undefined> {
    if (!COMMIT.test(revision) || !(await this.hasCommit(revision, signal))) return undefined; // nothing to fall back to
    return this.checkoutCommit(await this.describeCommit(revision, signal), signal);
  }

  private async hasCommit(revision: string, signal: AbortSignal): Promise<boolean> {
    if (!(await exists(join(this.repoDir, '.git')))) return false;
    try {
      await this.git(signal, false).raw(['cat-file', '-e', `${revision}^{commit}`]);
      return true;
    } catch {
      return false;
    }
  }

  /** `git merge-base --is-ancestor`: exit 0 yes, 1 no, anything else is an error (simple-git would read a silent 1 as success). */
  private isAncestor(ancestor: string, descendant: string, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolvePromise, reject) => {
      execFile('git', ['merge-base', '--is-ancestor', ancestor, descendant], {
        cwd: this.repoDir, signal, timeout: this.timeoutMs, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', LANG: 'C', GIT_TERMINAL_PROMPT: '0' },
      }, (err, _stdout, stderr) => {
        if (!err) return resolvePromise(true);
        if ((err as { code?: unknown }).code === 1) return resolvePromise(false);
        reject(this.failure(`cannot compare ${ancestor.slice(0, 12)} with ${descendant.slice(0, 12)}`, new Error(String(stderr) || err.message)));
      });
    });
  }

  /** Resolves a ref to its commit and reads author, subject and (when verifying) the signature, in one git call. */
  private async describeCommit(ref: string, signal: AbortSignal): Promise<Omit<SourceSnapshot, 'root'>> {
    if (this.settings.verifySignatures) await this.prepareKeyring();
    const sigConfig = this.settings.allowedSignersFile ? ['-c', `gpg.ssh.allowedSignersFile=${resolve(this.settings.allowedSignersFile)}`] : [];
    const format = this.settings.verifySignatures ? '%H%x00%an <%ae>%x00%cI%x00%s%x00%G?%x00%GK%x00%GS' : '%H%x00%an <%ae>%x00%cI%x00%s';
    let out: string;
    try {
      out = await this.git(signal, false).raw([...sigConfig, 'log', '-1', `--format=${format}`, ref, '--']);
    } catch (err) {
      throw this.failure(`cannot read commit ${ref}`, err);
    }
    const [hash, author, committedAt, subject, g, key, signer] = out.replace(/\n$/, '').split('\0');
    if (!hash || !/^[0-9a-f]{40}$/.test(hash)) throw new SourceError(`cannot resolve ${ref} to a commit`, { ref: this.settings.ref });
    const signature: SignatureCheck = this.settings.verifySignatures
      ? { state: SIGNATURE_STATES[g ?? ''] ?? 'bad', ...(key ? { key } : {}), ...(signer ? { signer } : {}) }
      : { state: 'not-checked' };
    return { revision: hash, author, committedAt, subject, signature };
  }

  /** Puts the commit in the working tree; a no-op when it is already there (the usual poll with nothing new). */
  private async checkoutCommit(meta: Omit<SourceSnapshot, 'root'>, signal: AbortSignal): Promise<SourceSnapshot> {
    if (this.checkedOut !== meta.revision) {
      const git = this.git(signal, false);
      try {
        // The first checkout of a process rewrites every file: a tree written before (by an older version, with
        // attributes applied) must not survive because its index entry looks current.
        if (this.checkedOut === undefined) await git.raw(['read-tree', '--empty']);
        await git.raw([...RAW_CHECKOUT, 'checkout', '--quiet', '--force', '--detach', meta.revision]);
        // Only the controller writes in this tree; stray files can only predate this process.
        if (this.checkedOut === undefined) await git.raw(['clean', '-ffdxq']);
      } catch (err) {
        this.checkedOut = undefined;
        throw this.failure(`cannot check out ${meta.revision.slice(0, 12)}`, err);
      }
      this.checkedOut = meta.revision;
    }
    return { ...meta, root: join(this.repoDir, this.settings.path) };
  }

  private async ensureRepository(signal: AbortSignal): Promise<void> {
    if (this.remoteReady) return;
    await mkdir(this.repoDir, { recursive: true, mode: 0o700 });
    const git = this.git(signal, false);
    if (!(await exists(join(this.repoDir, '.git')))) {
      await git.raw(['init', '--quiet']);
      await git.raw(['remote', 'add', 'origin', this.settings.url]);
    } else {
      // The configured URL may have changed between runs; the remote follows it.
      await git.raw(['remote', 'set-url', 'origin', this.settings.url]);
    }
    // info/attributes outranks every .gitattributes of the repository: what is checked out is the committed blob.
    await mkdir(join(this.repoDir, '.git', 'info'), { recursive: true });
    await writeFile(join(this.repoDir, '.git', 'info', 'attributes'), RAW_ATTRIBUTES);
    this.remoteReady = true;
  }

  /**
   * A simple-git instance with a clean environment: nothing inherited can redirect git (PAGER, GIT_SSH…),
   * and credentials travel as environment-provided config, never on the command line.
   */
  private git(signal: AbortSignal, network: boolean): SimpleGit {
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      LANG: 'C',
      GIT_TERMINAL_PROMPT: '0',
      GNUPGHOME: this.gnupgHome,
    };
    let sshCommand = false;
    let configCount = 0;
    if (network && this.settings.token) {
      const basic = Buffer.from(`${this.settings.tokenUsername ?? 'oauth2'}:${this.settings.token}`).toString('base64');
      env[`GIT_CONFIG_KEY_${configCount}`] = 'http.extraHeader';
      env[`GIT_CONFIG_VALUE_${configCount}`] = `Authorization: Basic ${basic}`;
      configCount++;
    }
    if (configCount > 0) env['GIT_CONFIG_COUNT'] = String(configCount);
    if (network && this.settings.sshKeyFile) {
      const knownHosts = this.settings.knownHostsFile
        ? `-o UserKnownHostsFile=${shellQuote(resolve(this.settings.knownHostsFile))} -o StrictHostKeyChecking=yes`
        : `-o UserKnownHostsFile=${shellQuote(join(resolve(this.settings.workDir), 'known_hosts'))} -o StrictHostKeyChecking=accept-new`;
      env['GIT_SSH_COMMAND'] = `ssh -i ${shellQuote(resolve(this.settings.sshKeyFile))} -o IdentitiesOnly=yes -o BatchMode=yes ${knownHosts}`;
      sshCommand = true;
    }
    return simpleGit({
      baseDir: this.repoDir,
      maxConcurrentProcesses: 1,
      abort: signal,
      timeout: { block: this.timeoutMs },
      unsafe: { allowUnsafeSshCommand: sshCommand, allowUnsafeConfigEnvCount: configCount > 0 },
    }).env(env);
  }

  /** A private keyring holding exactly the trusted OpenPGP keys, each marked ultimately trusted, rebuilt once per process. */
  private prepareKeyring(): Promise<void> {
    this.keyringReady ??= (async () => {
      await rm(this.gnupgHome, { recursive: true, force: true });
      await mkdir(this.gnupgHome, { recursive: true, mode: 0o700 });
      // Importing and verifying need no agent; without this gpg would leave one running per state directory.
      await writeFile(join(this.gnupgHome, 'gpg.conf'), 'no-autostart\n', { mode: 0o600 });
      const file = this.settings.trustedKeysFile;
      if (!file) return;
      const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', GNUPGHOME: this.gnupgHome, LANG: 'C' };
      await run('gpg', ['--batch', '--quiet', '--import', resolve(file)], env);
      const listing = await run('gpg', ['--batch', '--with-colons', '--show-keys', resolve(file)], env);
      const fingerprints: string[] = [];
      let wantFpr = false;
      for (const line of listing.split('\n')) {
        if (line.startsWith('pub:')) wantFpr = true;
        else if (line.startsWith('fpr:') && wantFpr) {
          fingerprints.push(line.split(':')[9]!);
          wantFpr = false;
        }
      }
      if (fingerprints.length === 0) throw new SourceError(`no OpenPGP public key found in ${file}`, { file });
      await run('gpg', ['--batch', '--quiet', '--import-ownertrust'], env, fingerprints.map((f) => `${f}:6:\n`).join(''));
    })().catch((err) => {
      this.keyringReady = undefined;
      throw err instanceof SourceError ? err : new SourceError(`cannot prepare the OpenPGP keyring: ${(err as Error).message}`, {}, { cause: err });
    });
    return this.keyringReady;
  }

  /** A SourceError whose message carries git's first stderr line with credentials scrubbed. */
  private failure(message: string, err: unknown): SourceError {
    const detail = this.scrub(String((err as Error)?.message ?? err).split('\n').map((l) => l.trim()).filter(Boolean)[0] ?? '');
    return new SourceError(detail ? `${message}: ${detail}` : message, { ref: this.settings.ref }, { cause: new Error(this.scrub(String((err as Error)?.message ?? err))) });
  }

  private scrub(text: string): string {
    let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1');
    const token = this.settings.token;
    if (token) {
      out = out.split(token).join('(sensitive)');
      const basic = Buffer.from(`${this.settings.tokenUsername ?? 'oauth2'}:${token}`).toString('base64');
      out = out.split(basic).join('(sensitive)');
    }
    return out;
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function run(cmd: string, args: string[], env: Record<string, string>, input?: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(cmd, args, { env, timeout: 30_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} failed: ${String(stderr).split('\n')[0] || err.message}`));
      else resolvePromise(String(stdout));
    });
    // A child that exits before reading its input (a verifier refusing at once) closes the pipe: EPIPE on stdin is not
    // an error of ours, the exit status above says how it ended. Unhandled, it would crash the process.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

/** Reads a credential file, trimmed; a missing or empty file is a configuration error worth stopping for. */
export async function readCredentialFile(path: string): Promise<string> {
  const value = (await readFile(path, 'utf8')).trim();
  if (!value) throw new SourceError(`credential file ${path} is empty`, { file: path });
  return value;
}

// `infrasec validate` run as a real child process against directories written to temp dirs.
import { spawn } from 'node:child_process';
import { chmod, cp, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, formatGithubAnnotation, type Diagnostic } from '../../src/desired/diagnostic.ts';
import { baseFiles, writeTree } from '../desired/documents.ts';

// Runs the real `infrasec` command (bin/infrasec.js) as a child process.
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/infrasec.js', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `withoutFileOverride` runs the command as root minus the capabilities that let root read any file (through
 * util-linux's setpriv), to meet a permission error. Not as another user: that user could not read the
 * repository itself when the clone lies under a private directory such as /root.
 */
function runInfrasec(args: readonly string[], opts: { cwd?: string; withoutFileOverride?: boolean } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const [command, commandArgs] = opts.withoutFileOverride
      ? ['setpriv', ['--bounding-set=-dac_override,-dac_read_search', '--', process.execPath, BIN, ...args]]
      : [process.execPath, [BIN, ...args]];
    const child = spawn(command, commandArgs, { cwd: opts.cwd ?? REPO_ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** A Node stack frame ("    at fn (file:line:col)"): bad input must never produce one. */
const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

const PROBLEMS = `apiVersion: infrasec/v1
kind: User
metadata:
  name: bnoel
spec:
  givenName: Bruno
  surname: Noel
  groups: [ops]
  password: S3CRET-plain-password
---
apiVersion: infrasec/v1
kind: Extension
metadata: {name: ext-300}
spec:
  number: "300"
  callerIdName: "Bob;x"
  secret: {encrypted: "S3CRET-not-age-armor"}
---
apiVersion: infrasec/v1
kind: Group
metadata: {name: g2}
spec:
  members: [User/jdupont, User/ghost]
`;

const SECRET_MESSAGE = 'secret must be {encrypted: <age armored ciphertext>} or {generate: true}; plaintext secrets are not allowed in Git';
const EXPECTED_TEXT = [
  'broken.yaml:2:1: Flow sequence in block collection must be sufficiently indented and end with a ] [yaml-syntax]',
  `zz/problems.yaml:9:13 spec.password: ${SECRET_MESSAGE} [secret-invalid]`,
  'zz/problems.yaml:16:17 spec.callerIdName: must not contain control characters or ; " < > [ ] \\ (they have a meaning in Asterisk configuration) [value-invalid]',
  `zz/problems.yaml:17:11 spec.secret: ${SECRET_MESSAGE} [secret-invalid]`,
  'zz/problems.yaml:23:27 spec.members[1]: user "ghost" is not defined [ref-missing]',
];

let valid: string;
let invalid: string;
// One run per format over the invalid tree, shared by the tests that read it (each spawn costs a tsx start).
let text: Run;
let json: Run;
let github: Run;

beforeAll(async () => {
  valid = await writeTree(baseFiles());
  invalid = await writeTree({ ...baseFiles(), 'broken.yaml': 'a: [1, 2\nb: 3\n', 'zz/problems.yaml': PROBLEMS });
  [text, json, github] = await Promise.all([
    runInfrasec(['validate', invalid]),
    runInfrasec(['validate', invalid, '--format', 'json']),
    runInfrasec(['validate', invalid, '-f', 'github']),
  ]);
});

const expectClean = (run: Run) => {
  expect(run.signal).toBeNull();
  expect(run.stderr).not.toMatch(STACK_FRAME);
  expect(run.stdout).not.toMatch(STACK_FRAME);
};

describe.concurrent('infrasec validate', () => {
  it('exits 0 for the example repository and summarises what it holds', async () => {
    const run = await runInfrasec(['validate', 'desired-state']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('desired-state: valid — 13 files: 13 users, 7 groups, 13 extensions, 2 conferences, 7 VPN profiles, 9 firewall aliases, 10 firewall rules, 1 port forwards, 1 mail domains, 5 mail aliases\n');
  });

  it('validates ./desired-state when no path is given', async () => {
    const run = await runInfrasec(['validate']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^desired-state: valid — 13 files/);
  });

  it('exits 0 for a valid directory given by absolute path', async () => {
    const run = await runInfrasec(['validate', valid]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${valid}: valid — 7 files: 2 users, 2 groups, 2 extensions, 1 conferences, 1 VPN profiles, 3 firewall aliases, 2 firewall rules, 1 port forwards, 1 mail domains, 1 mail aliases\n`);
  });

  describe('with problems', () => {
    it('exits 1 and prints every problem of every file as file:line:col path: message [code]', () => {
      const run = text;
      expectClean(run);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe('');
      expect(run.stdout.split('\n')).toEqual([...EXPECTED_TEXT, `${invalid}: invalid — 5 error(s) in 9 files`, '']);
    });

    it('prints the same findings as JSON with --format json', () => {
      const run = json;
      expectClean(run);
      expect(run.code).toBe(1);
      const out = JSON.parse(run.stdout) as { valid: boolean; root: string; files: number; errors: number; warnings: number; counts: unknown; diagnostics: Array<Record<string, unknown>> };
      expect(out).toMatchObject({ valid: false, root: invalid, files: 9, errors: 5, warnings: 0, counts: null });
      expect(out.diagnostics.map((d) => `${d['file']}:${d['line']}:${d['col']} ${d['path']} [${d['code']}] ${d['severity']}`)).toEqual([
        'broken.yaml:2:1  [yaml-syntax] error',
        'zz/problems.yaml:9:13 spec.password [secret-invalid] error',
        'zz/problems.yaml:16:17 spec.callerIdName [value-invalid] error',
        'zz/problems.yaml:17:11 spec.secret [secret-invalid] error',
        'zz/problems.yaml:23:27 spec.members[1] [ref-missing] error',
      ]);
      expect(out.diagnostics[4]!['message']).toBe('user "ghost" is not defined');
    });

    it('prints JSON with counts for a valid directory', async () => {
      const out = JSON.parse((await runInfrasec(['validate', valid, '--format', 'json'])).stdout) as Record<string, unknown>;
      expect(out).toMatchObject({ valid: true, errors: 0, diagnostics: [], counts: { User: 2, Extension: 2, MailAlias: 1 } });
    });

    it('prints GitHub workflow annotations with -f github', () => {
      const run = github;
      expectClean(run);
      expect(run.code).toBe(1);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(6);
      expect(lines[0]).toBe(`::error file=${invalid}/broken.yaml,line=2,col=1,title=yaml-syntax::Flow sequence in block collection must be sufficiently indented and end with a ]`);
      expect(lines[1]).toBe(`::error file=${invalid}/zz/problems.yaml,line=9,col=13,title=secret-invalid::spec.password: ${SECRET_MESSAGE}`);
      expect(lines[4]).toBe(`::error file=${invalid}/zz/problems.yaml,line=23,col=27,title=ref-missing::spec.members[1]: user "ghost" is not defined`);
      expect(lines[5]).toBe(`${invalid}: 5 error(s) in 9 files`);
    });

    it.each(['text', 'json', 'github'] as const)('never prints the value of a secret field in %s output', (format) => {
      const run = { text, json, github }[format];
      expect(run.code).toBe(1);
      expect(run.stdout + run.stderr).not.toContain('S3CRET');
    });

    it('escapes a key holding CR/LF instead of letting it forge an output line', async () => {
      const root = await writeTree({ 'g.yaml': 'apiVersion: infrasec/v1\nkind: Group\nmetadata: {name: g}\nspec:\n  "x\\r\\nforged.yaml:1:1: all good [ok]": 1\n' });
      const run = await runInfrasec(['validate', root]);
      expect(run.code).toBe(1);
      expect(run.stdout.split('\n').filter((l) => l.startsWith('forged.yaml'))).toEqual([]);
      expect(run.stdout).toContain('g.yaml:5:42 spec["x\\r\\nforged.yaml:1:1: all good [ok]"]: unknown field "x\\r\\nforged.yaml:1:1: all good [ok]" [field-unknown]');
    });
  });

  describe('with hostile file names', () => {
    it('quotes a file name holding a newline or an escape sequence, so it cannot forge a line or reach the terminal', async () => {
      const bad = 'apiVersion: infrasec/v1\nkind: Group\nmetadata: {name: g}\nspec: {shoeSize: 1}\n';
      const root = await writeTree({ ...baseFiles(), 'x\nforged.yaml:1:1: all good [ok]\n.yaml': bad, '\u001b[2J\u001b[31mred.yaml': bad.replace('name: g', 'name: h') });
      const run = await runInfrasec(['validate', root]);
      expect(run.code).toBe(1);
      expect(run.stdout).not.toContain('\u001b');
      expect(run.stdout.split('\n').filter((l) => l.startsWith('forged.yaml'))).toEqual([]);
      expect(run.stdout).toMatch(/^"x\\u000aforged\.yaml:1:1: all good \[ok\]\\u000a\.yaml":4:\d+ spec\.shoeSize: unknown field "shoeSize" \[field-unknown\]$/m);
      expect(run.stdout).toMatch(/^"\\u001b\[2J\\u001b\[31mred\.yaml":4:\d+ spec\.shoeSize: /m);
    });
  });

  describe('with files it must not read', () => {
    it('exits 1 for a symlinked YAML file, naming it', async () => {
      const root = await writeTree(baseFiles());
      await symlink('/etc/hostname', join(root, 'hostname.yaml'));
      const run = await runInfrasec(['validate', root]);
      expect(run.code).toBe(1);
      expect(run.stdout.split('\n')[0]).toBe('hostname.yaml:1:1: symbolic links are not followed in the desired state [file-symlink]');
    });

    it('exits 1 for a file above 1 MiB, naming it', async () => {
      const root = await writeTree(baseFiles());
      await writeFile(join(root, 'huge.yaml'), `# ${'x'.repeat(1024 * 1024)}\n`);
      const run = await runInfrasec(['validate', root]);
      expect(run.code).toBe(1);
      expect(run.stdout.split('\n')[0]).toBe('huge.yaml:1:1: file is 1048579 bytes, above the limit of 1048576 [file-too-large]');
    });
  });

  describe('on the usual mistakes of a first hour, replayed on a copy of desired-state/', () => {
    // One mistake per file, each in an object others refer to (mlefebvre, jmeyer, egarnier, net-lan, srv-ad): every
    // mistake is one finding at its own line, none is echoed as "is not defined" by what refers to the broken object.
    const MISTAKES: Array<[string, string, string]> = [
      ['users/direction.yaml', 'givenName: Marie', 'givenNmae: Marie'],
      ['users/operateurs.yaml', '[cod-operateurs]', '[cod-operateur]'],
      ['telephony/extensions.yaml', 'number: "201"', 'number: 201'],
      ['groups.yaml', 'members: [Group/cod-terrain, Group/cod-informatique]', 'members: [Group/cod-terrain, cod-informatique]'],
      ['users/terrain.yaml', '\n  surname: Meyer', '\n\tsurname: Meyer'],
      ['users/informatique.yaml', 'kind: User', 'kind: Usr'],
      ['firewall/aliases.yaml', '  type: network\n', '  type: network\n  type: host\n'],
      ['firewall/aliases.yaml', '\n  description: Contrôleurs', '\n   description: Contrôleurs'],
    ];
    const EXPECTED = [
      'firewall/aliases.yaml:10:3 spec.type: key "type" is written twice in this mapping (first on line 9); keep one [duplicate-key]',
      'firewall/aliases.yaml:29:4 spec.description: this line is indented by 3 spaces, the line above by 2 spaces: fields of one mapping start at the same column, and YAML reads a deeper line as part of the value above [yaml-syntax]',
      'telephony/extensions.yaml:31:11 spec.number: must be a string; quote it: "201" [schema-type]',
      'users/direction.yaml:9:14 spec.givenNmae: unknown field "givenNmae"; did you mean "givenName"? [field-unknown]',
      'users/informatique.yaml:5:7 kind: unknown kind "Usr"; did you mean "User"? [kind-unknown]',
      'users/terrain.yaml:10:1 spec.surname: YAML indentation must use spaces, not tabs: replace the tab at the start of this line with spaces [yaml-syntax]',
      // What is inconsistent between objects comes after what is wrong inside them.
      'groups.yaml:38:32 spec.members[1]: user "cod-informatique" is not defined, but a group of that name is; did you mean "Group/cod-informatique"? [ref-missing]',
      'users/operateurs.yaml:14:12 spec.groups[0]: group "cod-operateur" is not defined; did you mean "cod-operateurs"? [ref-missing]',
    ];
    let copy: string;
    let runs: Record<'text' | 'json' | 'github', Run>;

    beforeAll(async () => {
      copy = await mkdtemp(join(tmpdir(), 'infrasec-first-hour-'));
      await cp(join(REPO_ROOT, 'desired-state'), copy, { recursive: true });
      for (const [file, from, to] of MISTAKES) {
        const text = await readFile(join(copy, file), 'utf8');
        if (!text.includes(from)) throw new Error(`${file} no longer holds ${JSON.stringify(from)}: update the replay`);
        await writeFile(join(copy, file), text.replace(from, to));
      }
      const [text, json, github] = await Promise.all((['text', 'json', 'github'] as const).map((f) => runInfrasec(['validate', copy, '--format', f])));
      runs = { text: text!, json: json!, github: github! };
    });

    it('prints one finding per mistake, the cause first, in plain words with a suggestion', () => {
      expectClean(runs.text);
      expect(runs.text.code).toBe(1);
      expect(runs.text.stdout.split('\n')).toEqual([...EXPECTED, `${copy}: invalid — 8 error(s) in 13 files`, '']);
    });

    it('gives the same findings, in the same order, as JSON and as GitHub annotations', () => {
      const out = JSON.parse(runs.json.stdout) as { valid: boolean; errors: number; diagnostics: Diagnostic[] };
      expect(runs.json.code).toBe(1);
      expect(out).toMatchObject({ valid: false, errors: 8 });
      expect(out.diagnostics.map(formatDiagnostic)).toEqual(EXPECTED);
      expect(runs.github.code).toBe(1);
      expect(runs.github.stdout.trimEnd().split('\n')).toEqual([...out.diagnostics.map((d) => formatGithubAnnotation(d, copy)), `${copy}: 8 error(s) in 13 files`]);
    });
  });

  describe('with bad arguments', () => {
    it('exits 1 for a path that is not a directory, without a stack trace', async () => {
      const run = await runInfrasec(['validate', '/nonexistent/desired-state']);
      expectClean(run);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('(desired state): /nonexistent/desired-state is not a directory [path-invalid]\n/nonexistent/desired-state: invalid — 1 error(s) in 0 files\n');
    });

    it('exits 1 for an unknown format and names the allowed ones, without a stack trace', async () => {
      const run = await runInfrasec(['validate', 'desired-state', '--format', 'xml']);
      expectClean(run);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain("argument 'xml' is invalid. must be one of text, json, github");
    });

    it('exits 1 for an unreadable directory, with a message and no stack trace', async () => {
      const root = await writeTree(baseFiles());
      await chmod(root, 0o000);
      try {
        // Root reads every directory whatever its mode: drop that power then.
        const run = await runInfrasec(['validate', root], { withoutFileOverride: process.getuid?.() === 0 });
        expectClean(run);
        expect(run.code).toBe(1);
        expect(run.stderr).toMatch(/^infrasec: .*EACCES/);
      } finally {
        await chmod(root, 0o700);
      }
    });
  });
});

// The hostile-input corpus: every file in corpus/ (plus the few too big or too binary to commit, generated here) must be
// refused with a located diagnostic of the expected code, alone through the loader and all together through the real CLI.
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../src/desired/diagnostic.ts';
import { loadDesiredState } from '../../src/desired/load.ts';
import { LIMITS } from '../../src/desired/parse.ts';
import { lineOf } from '../desired/documents.ts';

// Runs the real `infrasec` command (bin/infrasec.js) as a child process.
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/infrasec.js', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runInfrasec(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
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

const CORPUS = fileURLToPath(new URL('./corpus', import.meta.url));
/** Every secret-looking value in the corpus contains this marker; no output may ever show it. */
const SECRET_MARKER = 'S3CRET';

interface Case {
  readonly file: string;
  readonly code: string;
  /** Text on the expected line (committed files) or the line number (generated ones). */
  readonly at: string | number;
  readonly path?: string;
}

// [file, expected code, text on the expected line, expected field path]
const committed: Array<[string, string, string, string?]> = [
  ['alias-bomb.yaml', 'alias-limit', 'apiVersion'],
  ['alias-unresolved.yaml', 'alias-unresolved', 'apiVersion'],
  ['duplicate-key.yaml', 'duplicate-key', 'surname: Durand'],
  ['duplicate-kind.yaml', 'duplicate-key', 'kind: User'],
  ['deep-flow-nesting.yaml', 'nesting-too-deep', 'members: [[['],
  ['deep-block-nesting.yaml', 'nesting-too-deep', 'k31:'],
  ['compact-block-nesting.yaml', 'nesting-too-deep', '- - -'],
  ['syntax-unclosed-flow.yaml', 'yaml-syntax', 'enabled: true'],
  ['syntax-tab-indent.yaml', 'yaml-syntax', '\tname: g'],
  ['unknown-kind.yaml', 'kind-unknown', 'kind: DomainAdmin', 'kind'],
  ['unknown-field.yaml', 'field-unknown', 'adminCount', 'spec.adminCount'],
  ['unknown-api-version.yaml', 'api-version', 'infrasec/v0', 'apiVersion'],
  ['not-a-mapping.yaml', 'document-invalid', '- apiVersion'],
  ['js-function-tag.yaml', 'yaml-syntax', '!!js/function'],
  ['merge-key.yaml', 'field-unknown', '<<:', 'spec["<<"]'],
  ['proto-key.yaml', 'field-unknown', 'givenName: Jean', 'spec.__proto__'],
  ['ldap-dn-in-name.yaml', 'value-invalid', 'cn=x,dc=evil', 'metadata.name'],
  ['ldap-filter-in-name.yaml', 'value-invalid', '*)(uid=*', 'metadata.name'],
  ['ldap-filter-in-group-ref.yaml', 'value-invalid', '*)(uid=*', 'spec.groups[0]'],
  ['ldap-escaped-nul-in-name.yaml', 'value-invalid', 'jdupont\\00', 'metadata.name'],
  ['nul-in-name.yaml', 'control-character', 'jdupont\\0admin', 'metadata.name'],
  ['ami-crlf-callerid.yaml', 'control-character', 'callerIdName', 'spec.callerIdName'],
  ['ami-crlf-conference-title.yaml', 'control-character', 'title:', 'spec.title'],
  ['ami-lf-block-scalar.yaml', 'control-character', 'callerIdName: |', 'spec.callerIdName'],
  ['ami-nel-callerid.yaml', 'control-character', 'callerIdName', 'spec.callerIdName'],
  ['ami-line-separator-description.yaml', 'control-character', 'description:', 'spec.description'],
  ['ami-crlf-in-key.yaml', 'control-character', 'Action: Originate', 'spec["description\\r\\nAction: Originate"]'],
  ['asterisk-semicolon.yaml', 'value-invalid', 'allow=all', 'spec.callerIdName'],
  ['asterisk-brackets-title.yaml', 'value-invalid', '[globals', 'spec.title'],
  ['asterisk-quote-callerid.yaml', 'value-invalid', 'sip:666@evil', 'spec.callerIdName'],
  ['plaintext-password.yaml', 'secret-invalid', '  password: S3CRET', 'spec.password'],
  ['plaintext-sip-secret.yaml', 'secret-invalid', 'secret:', 'spec.secret'],
  ['plaintext-voicemail-pin.yaml', 'secret-invalid', 'pin:', 'spec.voicemail.pin'],
  ['plaintext-conference-pins.yaml', 'secret-invalid', 'leaderPin:', 'spec.leaderPin'],
  ['encrypted-not-age.yaml', 'secret-invalid', 'encrypted:', 'spec.password'],
  ['secret-as-yaml-tag.yaml', 'yaml-syntax', 'password: !'],
  ['secret-as-block-header.yaml', 'yaml-syntax', 'password: |'],
  ['port-alias-three-parts.yaml', 'port-invalid', '80:90:100', 'spec.entries[1]'],
];

/** Cases written at test time: too big or too binary to commit, or links. */
async function generate(dir: string): Promise<Case[]> {
  const head = 'apiVersion: infrasec/v1\nkind: Group\nmetadata: {name: g}\n';
  await writeFile(join(dir, 'huge.yaml'), `# more than 1 MiB\n${'#'.repeat(LIMITS.maxFileBytes)}\n`);
  await writeFile(join(dir, 'non-utf8.yaml'), Buffer.concat([Buffer.from(`${head}spec:\n  description: `), Buffer.from([0xff, 0xfe, 0x00, 0x41]), Buffer.from('\n')]));
  await writeFile(join(dir, 'latin1.yaml'), Buffer.from(`${head}spec:\n  description: Hélène\n`, 'latin1'));
  await writeFile(join(dir, 'deep-flow-10000.yaml'), `# 10,000 nested flow sequences\n${head}spec:\n  members: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`);
  // Before the lexer check, yaml's parser spent about 1 GB on this and a few such files aborted the process.
  await writeFile(join(dir, 'unclosed-flow-1mib.yaml'), '['.repeat(LIMITS.maxFileBytes - 1));
  const keys = Array.from({ length: 20_000 }, (_, i) => `  k${i}: ${i}`);
  await writeFile(join(dir, 'many-keys-duplicate.yaml'), `${head}spec:\n${keys.join('\n')}\n  k42: again\n`);
  await writeFile(join(dir, 'long-string.yaml'), `${head}spec:\n  description: ${'x'.repeat(LIMITS.maxStringLength + 1)}\n`);
  const outside = await scratch('infrasec-outside-');
  await writeFile(join(outside, 'admins.yaml'), `${head}spec: {}\n`);
  await symlink(join(outside, 'admins.yaml'), join(dir, 'symlink.yaml'));
  await symlink(outside, join(dir, 'symlinked-dir'));
  return [
    { file: 'huge.yaml', code: 'file-too-large', at: 1 },
    { file: 'non-utf8.yaml', code: 'encoding-invalid', at: 5 },
    { file: 'latin1.yaml', code: 'encoding-invalid', at: 5 },
    { file: 'deep-flow-10000.yaml', code: 'nesting-too-deep', at: 6 },
    { file: 'unclosed-flow-1mib.yaml', code: 'nesting-too-deep', at: 1 },
    { file: 'many-keys-duplicate.yaml', code: 'duplicate-key', at: 20_005 },
    { file: 'long-string.yaml', code: 'value-too-long', at: 5, path: 'spec.description' },
    { file: 'symlink.yaml', code: 'file-symlink', at: 1 },
    { file: 'symlinked-dir', code: 'file-symlink', at: 1 },
  ];
}

let all: string;
const cases: Case[] = [];
/** Every directory this file makes, removed after its tests. */
const made: string[] = [];
async function scratch(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })));
});
const lines = new Map<string, number>();

beforeAll(async () => {
  all = await scratch('infrasec-hostile-');
  for (const [file, code, at, path] of committed) {
    const text = await readFile(join(CORPUS, file), 'utf8');
    await writeFile(join(all, file), text);
    lines.set(file, lineOf(text, at));
    cases.push({ file, code, at, path });
  }
  for (const c of await generate(all)) {
    lines.set(c.file, c.at as number);
    cases.push(c);
  }
});

const matches = (d: Diagnostic, c: Case) => d.file === c.file && d.code === c.code && d.line === lines.get(c.file) && (c.path === undefined || d.path === c.path);

describe('the hostile corpus', () => {
  it('has a table entry for every file in corpus/, and a file for every entry', async () => {
    expect((await readdir(CORPUS)).sort()).toEqual(committed.map(([f]) => f).sort());
  });

  it.each(committed.map(([file]) => file))('refuses %s on its own, at the expected line', async (file) => {
    const c = cases.find((x) => x.file === file)!;
    const root = await scratch('infrasec-case-');
    await writeFile(join(root, file), await readFile(join(CORPUS, file)));
    const result = await loadDesiredState(root);
    expect(result.state).toBeUndefined();
    expect(result.diagnostics.filter((d) => matches(d, c)), JSON.stringify(result.diagnostics, null, 1)).toHaveLength(1);
    expect(result.diagnostics.every((d) => d.file === file && d.line >= 1 && d.col >= 1)).toBe(true);
  });

  it.each(['huge.yaml', 'non-utf8.yaml', 'latin1.yaml', 'deep-flow-10000.yaml', 'unclosed-flow-1mib.yaml', 'many-keys-duplicate.yaml', 'long-string.yaml', 'symlink.yaml', 'symlinked-dir'])(
    'refuses the generated %s on its own, at the expected line',
    async (file) => {
      const c = cases.find((x) => x.file === file)!;
      const root = await scratch('infrasec-case-');
      await cp(join(all, file), join(root, file), { verbatimSymlinks: true });
      const result = await loadDesiredState(root);
      expect(result.state).toBeUndefined();
      expect(result.diagnostics.filter((d) => matches(d, c)), JSON.stringify(result.diagnostics.slice(0, 5), null, 1)).toHaveLength(1);
    },
  );

  describe('through the real CLI, all at once', () => {
    let text: Run;
    let json: Run;
    let github: Run;

    beforeAll(async () => {
      [text, json, github] = await Promise.all([
        runInfrasec(['validate', all]),
        runInfrasec(['validate', all, '--format', 'json']),
        runInfrasec(['validate', all, '--format', 'github']),
      ]);
    });

    it('exits 1 in every format, without a crash or a stack trace', () => {
      for (const run of [text, json, github]) {
        expect(run.signal).toBeNull();
        expect(run.code).toBe(1);
        expect(run.stdout + run.stderr).not.toMatch(STACK_FRAME);
      }
    });

    it('reports every case at its line as file:line:col path: message [code]', () => {
      const printed = text.stdout.split('\n');
      for (const c of cases) {
        const prefix = `${c.file}:${lines.get(c.file)}:`;
        const line = printed.find((l) => l.startsWith(prefix) && l.endsWith(`[${c.code}]`) && (c.path === undefined || l.includes(` ${c.path}: `)));
        expect(line, `${c.file}: ${c.code}`).toBeDefined();
      }
    });

    it('reports every case in the JSON diagnostics', () => {
      const out = JSON.parse(json.stdout) as { valid: boolean; diagnostics: Diagnostic[] };
      expect(out.valid).toBe(false);
      for (const c of cases) expect(out.diagnostics.some((d) => matches(d, c)), `${c.file}: ${c.code}`).toBe(true);
    });

    it('keeps every GitHub annotation on one line', () => {
      const annotations = github.stdout.split('\n').filter((l) => l.startsWith('::'));
      expect(annotations.length).toBe((JSON.parse(json.stdout) as { diagnostics: unknown[] }).diagnostics.length);
      for (const c of cases) expect(annotations.some((a) => a.startsWith(`::error file=${all}/${c.file},line=${lines.get(c.file)},`)), c.file).toBe(true);
    });

    it('never prints a secret value, whatever shape it was given in', () => {
      for (const run of [text, json, github]) expect(run.stdout + run.stderr).not.toContain(SECRET_MARKER);
    });

    it('never prints a raw control character from the input', () => {
      for (const run of [text, github]) expect(run.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
      // Every line is a finding or the summary: no input line break has split one.
      for (const line of text.stdout.trimEnd().split('\n')) expect(line).toMatch(/(\[[A-Za-z-]+\]|in \d+ files)$/);
    });
  });
});

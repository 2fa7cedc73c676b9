// Integration (real git CLI, file:// and a local HTTP server): fetching pinned refs, offline fallback, credentials kept out of errors, SSH and OpenPGP commit signature verification.
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GitSource, parseRef, redactUrl, signatureRefusal } from '../../src/sources/git.ts';
import { SourceError } from '../../src/sources/source.ts';
import { createGitFixture, type GitFixture } from './git-fixture.ts';

const signal = new AbortController().signal;
let fx: GitFixture;
afterEach(() => fx?.cleanup());

const source = (over: Partial<ConstructorParameters<typeof GitSource>[0]> = {}) =>
  new GitSource({ url: fx.url, ref: 'main', path: '.', workDir: join(fx.dir, 'state'), ...over });

describe('parseRef / redactUrl / signatureRefusal', () => {
  it.each([
    ['main', 'branch', 'refs/remotes/origin/main'],
    ['refs/heads/release/2026', 'branch', 'refs/remotes/origin/release/2026'],
    ['tags/v1.2', 'tag', 'refs/tags/v1.2'],
    ['refs/tags/v1.2', 'tag', 'refs/tags/v1.2'],
    ['A'.repeat(40), 'commit', 'a'.repeat(40)],
  ])('%s is a %s resolved at %s', (ref, type, local) => {
    expect(parseRef(ref)).toMatchObject({ type, local });
  });

  it('refuses refs git would misread', () => {
    for (const bad of ['-upload', 'a..b', 'a b', 'x:y', '']) expect(() => parseRef(bad)).toThrow(SourceError);
  });

  it('removes credentials from URLs', () => {
    expect(redactUrl('https://oauth2:glpat-SECRET@gitlab.example/cod/desired.git')).toBe('https://gitlab.example/cod/desired.git');
    expect(redactUrl('ssh://git@host/x.git')).toBe('ssh://host/x.git');
    expect(redactUrl('file:///srv/x.git')).toBe('file:///srv/x.git');
  });

  it('refuses anything but a good signature when verification is on, and nothing when off', () => {
    expect(signatureRefusal({ state: 'good', signer: 'ana' }, true)).toBeUndefined();
    expect(signatureRefusal({ state: 'unsigned' }, true)).toMatch(/not signed/);
    expect(signatureRefusal({ state: 'untrusted', key: 'SHA256:x' }, true)).toMatch(/not in the allowed signers.*SHA256:x/);
    expect(signatureRefusal({ state: 'bad' }, true)).toMatch(/bad signature/);
    expect(signatureRefusal({ state: 'unsigned' }, false)).toBeUndefined();
  });
});

describe('GitSource over file://', () => {
  it('fetches the branch head, checks it out and reads its author; a new commit gives a new revision', async () => {
    fx = createGitFixture();
    const c1 = fx.commit({ 'users/a.yaml': 'a: 1\n' }, 'add a');
    const src = source();
    const s1 = await src.sync(signal);
    expect(s1).toMatchObject({ revision: c1, author: 'Ana Admin <ana@cod67.example>', subject: 'add a', signature: { state: 'not-checked' } });
    expect(readFileSync(join(s1.root, 'users/a.yaml'), 'utf8')).toBe('a: 1\n');
    const c2 = fx.commit({ 'users/a.yaml': 'a: 2\n', 'users/b.yaml': 'b: 1\n' }, 'change a');
    const s2 = await src.sync(signal);
    expect(s2.revision).toBe(c2);
    expect(readFileSync(join(s2.root, 'users/a.yaml'), 'utf8')).toBe('a: 2\n');
  });

  it('serves a sub-directory as the desired-state root', async () => {
    fx = createGitFixture();
    fx.commit({ 'cod/users/a.yaml': 'x\n', 'README': 'r' }, 'one');
    const s = await source({ path: 'cod' }).sync(signal);
    expect(readFileSync(join(s.root, 'users/a.yaml'), 'utf8')).toBe('x\n');
  });

  it('stays on a pinned tag or commit while the branch moves on', async () => {
    fx = createGitFixture();
    const c1 = fx.commit({ 'a.yaml': '1' }, 'one');
    fx.git('tag', 'v1');
    fx.git('push', '-q', 'origin', 'v1');
    fx.commit({ 'a.yaml': '2' }, 'two');
    expect((await source({ ref: 'tags/v1' }).sync(signal)).revision).toBe(c1);
    expect((await source({ ref: c1, workDir: join(fx.dir, 'state2') }).sync(signal)).revision).toBe(c1);
  });

  it('tells a fast-forward from a rewind, a jump sideways and an unknown applied commit', async () => {
    fx = createGitFixture();
    const c1 = fx.commit({ 'a.yaml': '1' }, 'one');
    const c2 = fx.commit({ 'a.yaml': '2' }, 'two');
    const src = source();
    await src.sync(signal);
    fx.git('checkout', '-q', '-b', 'side', c1);
    fx.git('commit', '-q', '--allow-empty', '-m', 'side');
    fx.git('push', '-q', '-f', 'origin', 'HEAD:main');
    const side = (await src.sync(signal)).revision;
    expect(await src.lineage(c2, c2, signal)).toBe('same');
    expect(await src.lineage(c1, c2, signal)).toBe('descends');
    expect(await src.lineage(c2, c1, signal)).toBe('rewind');
    expect(await src.lineage(c2, side, signal)).toBe('sideways');
    expect(await src.lineage('f'.repeat(40), c2, signal)).toBe('unknown');
  });

  it('checks out the committed blobs byte for byte, whatever .gitattributes asks (ident, eol, working-tree-encoding)', async () => {
    fx = createGitFixture();
    const files = {
      '.gitattributes': '*.yaml ident eol=crlf\nenc/*.yaml working-tree-encoding=UTF-16LE\n',
      'users/a.yaml': 'title: "$Id$"\nline: two\n',
      'enc/b.yaml': 'name: b\n',
    };
    // Committed with the attributes off, so the blobs are exactly these bytes.
    const c = fx.commit(files, 'attributes', []);
    const src = source();
    const snap = await src.sync(signal);
    expect(snap.revision).toBe(c);
    for (const path of ['users/a.yaml', 'enc/b.yaml']) {
      const blob = execFileSync('git', ['-C', fx.bare, 'cat-file', 'blob', `${c}:${path}`]);
      expect(readFileSync(join(snap.root, path)), path).toEqual(blob);
    }
    expect(readFileSync(join(snap.root, 'users/a.yaml'), 'utf8')).toBe('title: "$Id$"\nline: two\n');
  });

  it('names a missing branch in its error', async () => {
    fx = createGitFixture();
    fx.commit({ 'a.yaml': '1' }, 'one');
    await expect(source({ ref: 'nope' }).sync(signal)).rejects.toThrow(/nope/);
  });

  it('throws SourceError when the remote is gone, and can still check out a revision it fetched before', async () => {
    fx = createGitFixture();
    const c1 = fx.commit({ 'a.yaml': '1' }, 'one');
    const src = source();
    await src.sync(signal);
    renameSync(fx.bare, `${fx.bare}.away`);
    await expect(src.sync(signal)).rejects.toBeInstanceOf(SourceError);
    const offline = await src.checkout(c1, signal);
    expect(offline?.revision).toBe(c1);
    expect(await src.checkout('f'.repeat(40), signal)).toBeUndefined();
  });
});

describe('credentials', () => {
  let server: Server;
  let seen: string[] = [];
  let port = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(String(req.headers['authorization'] ?? ''));
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' });
      res.end('denied');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('sends the token as an Authorization header, never in the URL, and keeps it out of the error', async () => {
    fx = createGitFixture();
    seen = [];
    const token = 'glpat-VERY-SECRET-123';
    const src = source({ url: `http://127.0.0.1:${port}/cod/desired.git`, token, tokenUsername: 'oauth2' });
    const err = (await src.sync(signal).catch((e: unknown) => e)) as SourceError;
    expect(err).toBeInstanceOf(SourceError);
    expect(seen.some((h) => h === `Basic ${Buffer.from(`oauth2:${token}`).toString('base64')}`)).toBe(true);
    const everything = `${err.message} ${String((err.cause as Error)?.message)} ${JSON.stringify(err.context)}`;
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(Buffer.from(`oauth2:${token}`).toString('base64'));
    const config = readFileSync(join(fx.dir, 'state', 'repo', '.git', 'config'), 'utf8');
    expect(config).not.toContain(token);
  });

  it('removes credentials written inline in the URL from errors', async () => {
    fx = createGitFixture();
    const err = (await source({ url: `http://user:inline-PASS-42@127.0.0.1:${port}/x.git` }).sync(signal).catch((e: unknown) => e)) as Error;
    expect(err.message).not.toContain('inline-PASS-42');
  });
});

describe('commit signatures', () => {
  it('accepts only SSH signatures by an allowed signer', async () => {
    fx = createGitFixture();
    const keys = join(fx.dir, 'keys');
    mkdirSync(keys);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ana', '-f', join(keys, 'ana')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'eve', '-f', join(keys, 'eve')]);
    const allowed = join(keys, 'allowed_signers');
    writeFileSync(allowed, `ana@cod67.example ${readFileSync(join(keys, 'ana.pub'), 'utf8')}`);
    const sign = (key: string) => ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${join(keys, key)}`];
    const src = source({ verifySignatures: true, allowedSignersFile: allowed });

    fx.git(...sign('ana'), 'commit', '-q', '--allow-empty', '-S', '-m', 'signed by ana');
    fx.git('push', '-q', 'origin', 'HEAD:main');
    const good = await src.sync(signal);
    expect(good.signature).toMatchObject({ state: 'good', signer: 'ana@cod67.example' });
    expect(src.refusal(good)).toBeUndefined();

    fx.git(...sign('eve'), 'commit', '-q', '--allow-empty', '-S', '-m', 'signed by eve');
    fx.git('push', '-q', 'origin', 'HEAD:main');
    const eve = await src.sync(signal);
    expect(eve.signature.state).toBe('untrusted');
    expect(src.refusal(eve)).toMatch(/not in the allowed signers/);

    fx.commit({}, 'unsigned');
    const unsigned = await src.sync(signal);
    expect(unsigned.signature.state).toBe('unsigned');
    expect(src.refusal(unsigned)).toMatch(/not signed/);
  });

  it('accepts only OpenPGP signatures by a key in the trusted keys file', async () => {
    fx = createGitFixture();
    const homes = { ana: join(fx.dir, 'gpg-ana'), eve: join(fx.dir, 'gpg-eve') };
    const gpg = (home: string, ...args: string[]) => execFileSync('gpg', ['--batch', '--quiet', ...args], { env: { ...process.env, GNUPGHOME: home }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      for (const [who, home] of Object.entries(homes)) {
        mkdirSync(home, { mode: 0o700 });
        gpg(home, '--passphrase', '', '--quick-gen-key', `${who} <${who}@cod67.example>`, 'ed25519', 'sign', 'never');
      }
      const trusted = join(fx.dir, 'trusted.asc');
      writeFileSync(trusted, gpg(homes.ana, '--armor', '--export', 'ana@cod67.example'));
      const commitAs = (who: 'ana' | 'eve') => {
        execFileSync('git', ['-C', fx.work, '-c', 'user.name=x', '-c', 'user.email=x@y', '-c', 'gpg.format=openpgp', '-c', `user.signingkey=${who}@cod67.example`, 'commit', '-q', '--allow-empty', '-S', '-m', who], { env: { ...process.env, GNUPGHOME: homes[who] }, stdio: 'ignore' });
        fx.git('push', '-q', 'origin', 'HEAD:main');
      };
      const src = source({ verifySignatures: true, trustedKeysFile: trusted });
      commitAs('ana');
      const good = await src.sync(signal);
      expect(good.signature).toMatchObject({ state: 'good' });
      expect(good.signature.signer).toContain('ana@cod67.example');
      commitAs('eve');
      const eve = await src.sync(signal);
      expect(eve.signature.state).toBe('unknown-key');
      expect(src.refusal(eve)).toMatch(/not in the allowed signers/);
      // The controller's keyring never starts a gpg-agent that would outlive it.
      const agents = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('gpg-agent') && l.includes(join(fx.dir, 'state', 'gnupg')));
      expect(agents).toEqual([]);
    } finally {
      for (const home of [...Object.values(homes), join(fx.dir, 'state', 'gnupg')]) {
        try {
          execFileSync('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: home }, stdio: 'ignore' });
        } catch {
          // no agent was started for this home
        }
      }
    }
  });
});

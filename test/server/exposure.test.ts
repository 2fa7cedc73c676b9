// Settings that expose the controller: a listener off loopback without a bearer token, a Git token over http:// — warned about, or refused at start by setting.
import { Writable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildSource, startController } from '../../src/commands/controller.ts';
import { configSchema } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { gitTokenExposure, isLoopbackHost, listenerExposure } from '../../src/server/exposure.ts';

describe('exposure checks', () => {
  it.each([
    ['127.0.0.1', true], ['127.3.2.1', true], ['localhost', true], ['::1', true], ['[::1]', true], ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false], ['', false], ['::', false], ['192.168.10.5', false], ['127.example.org', false], ['::ffff:10.0.0.1', false],
  ])('%s is loopback: %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  it('flags a non-loopback listener only without a bearer token', () => {
    expect(listenerExposure('0.0.0.0', false)).toMatch(/listen on 0\.0\.0\.0 without a bearer token.*controller\.bearerTokenFile \(INFRASEC_BEARER_TOKEN_FILE\)/);
    expect(listenerExposure('0.0.0.0', true)).toBeUndefined();
    expect(listenerExposure('127.0.0.1', false)).toBeUndefined();
  });

  it('flags a Git token only over plain http://', () => {
    expect(gitTokenExposure('http://git.cod67.example/desired.git', true)).toMatch(/plain http:\/\//);
    expect(gitTokenExposure('HTTP://git.cod67.example/desired.git', true)).toMatch(/plain http:\/\//);
    expect(gitTokenExposure('https://git.cod67.example/desired.git', true)).toBeUndefined();
    expect(gitTokenExposure('http://git.cod67.example/desired.git', false)).toBeUndefined();
  });
});

describe('at start', () => {
  let stateDir: string;
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  function capture() {
    const lines: string[] = [];
    const destination = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    return { logger: createLogger({ level: 'warn', destination }), events: () => lines.map((l) => JSON.parse(l) as { event: string; reason: string; token?: unknown }) };
  }

  const config = (controller: Record<string, unknown>) => configSchema.parse({ stateDir, controller });

  it('warns when a Git token would go over http://, and never logs the token', async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'infrasec-exposure-'));
    const { logger, events } = capture();
    await buildSource(config({ git: { url: 'http://git.cod67.example/desired.git', token: 'glpat-S3CRET' } }), logger);
    expect(events().map((e) => e.event)).toEqual(['config.insecure.git-token']);
    expect(JSON.stringify(events())).not.toContain('S3CRET');
    await buildSource(config({ git: { url: 'https://git.cod67.example/desired.git', token: 'glpat-S3CRET' } }), logger);
    expect(events()).toHaveLength(1);
  });

  it('refuses a Git token over http:// when controller.insecure is refuse', async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'infrasec-exposure-'));
    await expect(buildSource(config({ insecure: 'refuse', git: { url: 'http://git.cod67.example/desired.git', token: 'glpat-S3CRET' } })))
      .rejects.toThrow(/plain http:\/\/.*refused: controller.insecure is refuse/);
  });

  it('refuses to start with an unauthenticated listener on all interfaces when controller.insecure is refuse, before binding anything', async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'infrasec-exposure-'));
    const { logger } = capture();
    await expect(startController(config({ insecure: 'refuse', listen: '0.0.0.0:0', directory: stateDir }), { logger }))
      .rejects.toThrow(/listen on 0\.0\.0\.0 without a bearer token.*refused/);
  });
});

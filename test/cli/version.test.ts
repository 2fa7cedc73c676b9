// `infrasec --version` prints the version of package.json, the same one infrasec_build_info reports.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildInfo } from '../../src/server/build-info.ts';

const ROOT = join(import.meta.dirname, '..', '..');

describe('infrasec --version', () => {
  it('is package.json\'s version, as in infrasec_build_info', async () => {
    const want = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'infrasec.js'), '--version'], { cwd: ROOT });
    expect(stdout.trim()).toBe(want);
    expect(buildInfo().version).toBe(want);
  }, 60_000);
});

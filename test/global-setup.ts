// Vitest global setup: each run gets its own scratch directory as TMPDIR, removed when the run ends, so what tests leave in os.tmpdir() cannot pile up; caches shared between runs stay in the machine's temp directory (test/harness/machine-tmp.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default async function setup(): Promise<() => Promise<void>> {
  const machine = process.env['INFRASEC_TEST_MACHINE_TMP'] ?? tmpdir();
  const run = await mkdtemp(join(machine, 'infrasec-vitest-'));
  // Test files run in forks started after this: they inherit both.
  process.env['INFRASEC_TEST_MACHINE_TMP'] = machine;
  process.env['TMPDIR'] = run;
  return async () => {
    process.env['TMPDIR'] = machine;
    await rm(run, { recursive: true, force: true });
  };
}

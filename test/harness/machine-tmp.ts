// The machine's temp directory, for what outlives one test run (DC and Modoboa templates, the loopback address locks shared by concurrent runs); os.tmpdir() is the run's own scratch directory (test/global-setup.ts).
import { tmpdir } from 'node:os';

export function machineTmp(): string {
  return process.env['INFRASEC_TEST_MACHINE_TMP'] ?? tmpdir();
}

// Issue cases replayed as an admin meets them, through the real bin/infrasec.js against a real Samba DC: an unowned account
// in the way exits 4 (not 0, not 2) from plan and apply; a configuration mistake ends the plan with a failure naming the
// setting to fix (never `Plan: 0 to create…`, never an internal error or a stack trace).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, type Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resource, writeTree, yamlDocs } from '../desired/documents.ts';
import { findAccounts, ldapClient } from '../controller/ad-fixture.ts';
import { adEnvironment, startSambaDc, type SambaDc } from '../harness/samba.ts';
import { initStateDir } from '../../src/state/generator-key.ts';
import { runCli, type CliRun } from './run-cli.ts';

const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

let dc: SambaDc;
let admin: Client;
let scratch: string;
let desired: string;

type Run = CliRun;

function infrasec(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return runCli(args, scratch, { PATH: process.env['PATH'], HOME: process.env['HOME'], INFRASEC_CONFIG: join(scratch, 'none.yaml'), INFRASEC_STATE_DIR: join(scratch, 'state'), ...adEnvironment(dc), ...env });
}

const lastLine = (run: Run) => run.stdout.trim().split('\n').pop();
const SKIPPED = 'Skipped: asterisk (not configured), pfsense (not configured), modoboa (not configured).';

beforeAll(async () => {
  dc = await startSambaDc();
  admin = ldapClient(dc);
  await admin.bind(dc.bindDN, dc.bindPassword);
  // Made by hand before infrasec, in the default container: not infrasec's.
  await admin.add(`CN=svcbackup,CN=Users,${dc.baseDN}`, [
    new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
    new Attribute({ type: 'sAMAccountName', values: ['svcbackup'] }),
  ]);
  scratch = await mkdtemp(join(tmpdir(), 'infrasec-cli-ad-'));
  await initStateDir(join(scratch, 'state'));
  desired = await writeTree({
    'groups.yaml': yamlDocs(resource('Group', 'cod-ops', { description: 'Operators' })),
    'users.yaml': yamlDocs(
      resource('User', 'alice', { givenName: 'Alice', surname: 'Martin', groups: ['cod-ops'] }),
      resource('User', 'svcbackup', { givenName: 'Backup', surname: 'Service' }),
    ),
  }, 'infrasec-cli-ad-desired-');
}, 180_000);

afterAll(async () => {
  await admin?.unbind().catch(() => undefined);
  await dc?.stop();
  for (const dir of [scratch, desired]) if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('an unowned account in the way of a desired one', () => {
  it('exits 4 from plan and from apply, which still applies the rest, and from the next plan while it stays', async () => {
    const plan = await infrasec(['plan', desired]);
    expect(plan.stdout).toMatch(/^ {2}\? User\/svcbackup {2}conflict: .*CN=svcbackup,CN=Users/m);
    expect(lastLine(plan)).toMatch(/^Plan: \d+ to create, \d+ to update, 0 to disable, 0 to delete; 1 conflict\(s\) to resolve\. Skipped: /);
    expect(plan.code).toBe(4);

    const apply = await infrasec(['apply', desired, '--yes']);
    expect(lastLine(apply)).toMatch(/^Apply complete: \d+ created, .*; 1 conflict\(s\) to resolve\. Skipped: /);
    expect(apply.code).toBe(4);
    expect(await findAccounts(admin, dc, 'alice')).toHaveLength(1);
    expect((await findAccounts(admin, dc, 'svcbackup'))[0]?.['dn']).toBe(`CN=svcbackup,CN=Users,${dc.baseDN}`);

    const again = await infrasec(['plan', desired, '--format', 'json']);
    expect(again.code).toBe(4);
    const json = JSON.parse(again.stdout);
    expect(json.systems[0]).toMatchObject({ status: 'in-sync', changes: [], conflicts: [expect.objectContaining({ kind: 'User', name: 'svcbackup' })] });
  });
});

describe('a configuration mistake ends the plan with a failure naming the setting', () => {
  it.each<{ name: string; env: Record<string, string>; code: string; names: string }>([
    { name: 'AD unreachable', env: { INFRASEC_AD_URL: 'ldaps://127.0.0.1:1' }, code: 'target-unavailable', names: 'systems.active-directory.url (INFRASEC_AD_URL)' },
    { name: 'a wrong bind password', env: { INFRASEC_AD_BIND_PASSWORD: 'Wr0ng-But-Plausible!' }, code: 'authentication-failed', names: 'systems.active-directory.bindPassword (INFRASEC_AD_BIND_PASSWORD)' },
    { name: 'a CA that did not sign the DC certificate', env: { INFRASEC_AD_CA_FILE: '/etc/ssl/certs/ca-certificates.crt' }, code: 'target-unavailable', names: 'systems.active-directory.caFile (INFRASEC_AD_CA_FILE)' },
    { name: 'a TLS name the certificate does not carry', env: { INFRASEC_AD_TLS_SERVER_NAME: 'dc.elsewhere.test' }, code: 'target-unavailable', names: 'systems.active-directory.tlsServerName (INFRASEC_AD_TLS_SERVER_NAME)' },
    { name: 'a base DN that does not exist', env: { INFRASEC_AD_BASE_DN: 'DC=nowhere,DC=test' }, code: 'config-invalid', names: 'systems.active-directory.baseDN (INFRASEC_AD_BASE_DN)' },
    { name: 'a managed OU under an OU that does not exist', env: { INFRASEC_AD_MANAGED_OU: 'OU=infrasec,OU=Missing' }, code: 'config-invalid', names: 'systems.active-directory.managedOU (INFRASEC_AD_MANAGED_OU)' },
  ])('$name: exit 1, $code, naming $names', async ({ env, code, names }) => {
    const run = await infrasec(['plan', desired], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`error [${code}]: `);
    expect(run.stdout).toContain(names);
    expect(lastLine(run)).toBe(`Plan FAILED for 1 of 1 system(s): active-directory [${code}]. Nothing was planned. ${SKIPPED}`);
    expect(run.stdout + run.stderr).not.toMatch(STACK_FRAME);
    expect(run.stderr).not.toContain('"internal"');
  });
});

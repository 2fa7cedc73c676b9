// Test fixture for controller end-to-end tests: a Git repository seeded from desired-state/, controller configuration for a Samba DC, and LDAP look-ups.
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Attribute, Change as LdapChange, Client } from 'ldapts';
import { configSchema, type Config } from '../../src/config.ts';
import { adEnvironment, type SambaDc } from '../harness/samba.ts';
import { createGitFixture, type GitFixture } from '../sources/git-fixture.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A bare repository whose first commit is the example desired state of the COD. */
export function seededRepository(): GitFixture & { seed: string } {
  const fx = createGitFixture('infrasec-ctl-');
  cpSync(join(REPO_ROOT, 'desired-state'), fx.work, { recursive: true });
  const seed = fx.commit({}, 'Seed the COD desired state');
  return Object.assign(fx, { seed });
}

export function userYaml(name: string, title: string, extra = ''): string {
  return `apiVersion: infrasec/v1\nkind: User\nmetadata:\n  name: ${name}\nspec:\n  givenName: Test\n  surname: ${name}\n  title: ${title}\n  groups: [cod-operateurs]\n${extra}`;
}

export function controllerConfig(dc: SambaDc, fx: GitFixture, stateDir: string, controller: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    stateDir,
    systems: {
      'active-directory': { url: dc.ldapsUrl, bindDN: dc.bindDN, bindPassword: dc.bindPassword, baseDN: dc.baseDN, caFile: dc.caFile, tlsServerName: dc.tlsServerName },
    },
    controller: { git: { url: fx.url, ref: 'main' }, listen: '127.0.0.1:0', pollIntervalSeconds: 1, driftIntervalSeconds: 1, webhookSecret: 'e2e-hook-secret', retry: { initialSeconds: 0.2, maxSeconds: 2 }, ...controller },
    logLevel: 'silent',
  });
}

/** Environment for `node bin/infrasec.js run` against the same DC and repository. */
export function controllerEnv(dc: SambaDc, fx: GitFixture, stateDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'], HOME: process.env['HOME'],
    ...adEnvironment(dc),
    INFRASEC_GIT_URL: fx.url, INFRASEC_GIT_REF: 'main', INFRASEC_STATE_DIR: stateDir, INFRASEC_LISTEN: '127.0.0.1:0',
    INFRASEC_POLL_INTERVAL: '1', INFRASEC_DRIFT_INTERVAL: '1', INFRASEC_LOG_LEVEL: 'info', ...extra,
  };
}

export function ldapClient(dc: SambaDc): Client {
  return new Client({ url: dc.ldapsUrl, tlsOptions: { ca: readFileSync(dc.caFile), servername: dc.tlsServerName }, timeout: 10_000, connectTimeout: 10_000 });
}

/** Every entry with this sAMAccountName under the domain (more than one would be a duplicate). */
export async function findAccounts(admin: Client, dc: SambaDc, sam: string, attributes: string[] = ['title']): Promise<Array<Record<string, unknown>>> {
  const { searchEntries } = await admin.search(dc.baseDN, { filter: `(sAMAccountName=${sam})`, attributes: ['dn', ...attributes] });
  return searchEntries;
}

export async function setTitleByHand(admin: Client, dc: SambaDc, sam: string, title: string): Promise<void> {
  const [entry] = await findAccounts(admin, dc, sam);
  if (!entry) throw new Error(`no account ${sam}`);
  await admin.modify(String(entry['dn']), [new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'title', values: [title] }) })]);
}

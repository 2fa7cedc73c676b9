// Integration: infrasec points the real Modoboa at the real Samba AD (LDAPS, certificate verified), and people of the example log in to Modoboa with the password AD holds.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Attribute, Change as LdapChange, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, loadConfig, policyOf } from '../../../src/config.ts';
import type { ResolvedState, User } from '../../../src/desired/model.ts';
import { loadResolvedState } from '../../../src/desired/resolve.ts';
import { MemoryFingerprintStore } from '../../../src/state/fingerprints.ts';
import type { AnyReconciler } from '../../../src/engine/module.ts';
import { runPass } from '../../../src/engine/pass.ts';
import { buildSystems } from '../../../src/engine/systems.ts';
import { createLogger } from '../../../src/log.ts';
import { startModoboa, type Modoboa } from '../../harness/modoboa.ts';
import { adEnvironment, startSambaDc, type SambaDc } from '../../harness/samba.ts';
import { initStateDir } from '../../../src/state/generator-key.ts';

const EXAMPLE = fileURLToPath(new URL('../../../desired-state', import.meta.url));
const PERSON = 'jmeyer';
const ADDRESS = 'jmeyer@cod67.example.fr';
/** The service account Modoboa binds as: its password comes from a file, like any connection secret. */
const BIND_PASSWORD = 'Modoboa-Bind-S3cret!';

let dc: SambaDc;
let m: Modoboa;
let work: string;
let config: Config;
let desired: ResolvedState;
let logs = '';
let ad: AnyReconciler;
let mail: AnyReconciler;
const fingerprints = new MemoryFingerprintStore();

async function configFor(modoboa: Modoboa, name: string): Promise<Config> {
  const passwordFile = join(work, `${name}-ldap-bind`);
  await writeFile(passwordFile, `${BIND_PASSWORD}\n`, { mode: 0o600 });
  const file = join(work, `${name}.yaml`);
  await writeFile(file, '{}\n');
  return loadConfig({
    file,
    env: {
      ...adEnvironment(dc),
      INFRASEC_STATE_DIR: join(work, 'state'),
      INFRASEC_MODOBOA_URL: modoboa.url,
      INFRASEC_MODOBOA_TOKEN: modoboa.token,
      INFRASEC_MODOBOA_LDAP_URL: dc.ldapsUrl,
      INFRASEC_MODOBOA_LDAP_BIND_DN: `CN=svc-modoboa,CN=Users,${dc.baseDN}`,
      INFRASEC_MODOBOA_LDAP_BIND_PASSWORD_FILE: passwordFile,
      INFRASEC_MODOBOA_LDAP_SEARCH_BASE: dc.baseDN,
    },
  });
}

async function systemsFor(c: Config) {
  const logger = createLogger({ level: 'debug', destination: new Writable({ write: (chunk, _enc, done) => ((logs += String(chunk)), done()) }) });
  return (await buildSystems(c, { fingerprints, logger })).reconcilers;
}

const pass = (r: AnyReconciler, state: ResolvedState, c = config, drift = false) =>
  runPass(r, state, policyOf(c, r.system), { mode: 'apply', revision: 'test', isDriftPass: drift });
const why = (p: Awaited<ReturnType<typeof runPass>>) => JSON.stringify({ error: p.error, verify: p.verify, refused: p.refused, failed: p.applied.filter((a) => !a.ok).map((a) => `${a.change.name}: ${a.error}`) });

async function adminLdap(): Promise<Client> {
  // By IP and without a server name: the harness's certificate names the DC's address too.
  const c = new Client({ url: dc.ldapsUrl, tlsOptions: { ca: readFileSync(dc.caFile) }, timeout: 10_000, connectTimeout: 10_000 });
  await c.bind(dc.bindDN, dc.bindPassword);
  return c;
}
const utf16 = (s: string) => Buffer.from(`"${s}"`, 'utf16le');

/** What a person does at first logon: a password change (AD checks the old one), which also lifts "must change". */
async function changePassword(name: string, from: string, to: string): Promise<void> {
  const admin = await adminLdap();
  try {
    const { searchEntries } = await admin.search(dc.baseDN, { filter: `(sAMAccountName=${name})`, attributes: ['dn'] });
    await admin.modify(searchEntries[0]!.dn, [
      new LdapChange({ operation: 'delete', modification: new Attribute({ type: 'unicodePwd', values: [utf16(from)] as unknown as string[] }) }),
      new LdapChange({ operation: 'add', modification: new Attribute({ type: 'unicodePwd', values: [utf16(to)] as unknown as string[] }) }),
    ]);
  } finally {
    await admin.unbind();
  }
}

/** The same desired state with one person disabled (a leaver). */
function withLeaver(state: ResolvedState, name: string): ResolvedState {
  const users = new Map(state.resources.users);
  const u = users.get(name)!;
  users.set(name, { ...u, spec: { ...u.spec, enabled: false } } satisfies User);
  return { ...state, resources: { ...state.resources, users } };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'infrasec-modoboa-ad-'));
  await initStateDir(join(work, 'state'));
  dc = await startSambaDc({ certificateNamesAddress: true });
  m = await startModoboa({ ldapCaFile: dc.caFile });
  // A read-only service account for Modoboa's searches, as an AD admin would make one.
  const admin = await adminLdap();
  try {
    await admin.add(`CN=svc-modoboa,CN=Users,${dc.baseDN}`, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      sAMAccountName: 'svc-modoboa',
      unicodePwd: utf16(BIND_PASSWORD) as unknown as string,
      userAccountControl: '66048', // normal account, password never expires
    });
  } finally {
    await admin.unbind();
  }
  config = await configFor(m, 'infrasec');
  const resolved = await loadResolvedState(EXAMPLE, config, 'test');
  expect(resolved.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  desired = resolved.state!;
  const systems = await systemsFor(config);
  ad = systems.get('active-directory')!;
  mail = systems.get('modoboa')!;
}, 900_000);

afterAll(async () => {
  await Promise.all([ad?.close(), mail?.close()]);
  await Promise.all([m?.stop(), dc?.stop()]);
  await rm(work, { recursive: true, force: true });
}, 60_000);

describe('Modoboa authenticates people against Active Directory', () => {
  it('apply sets the LDAP authentication first, over TLS, and a second pass writes nothing (per Modoboa’s database)', async () => {
    const adPass = await pass(ad, desired);
    expect(adPass.status, why(adPass)).toBe('applied');
    const first = await pass(mail, desired);
    expect(first.status, why(first)).toBe('applied');
    const auth = first.applied[0]!.change;
    expect(`${auth.action} ${auth.kind}/${auth.name}`).toBe('update Authentication/ldap');
    expect(Object.fromEntries(auth.wire!.map((f) => [f.path, f.sensitive ? '(changed)' : f.after]))).toEqual({
      authentication_type: 'ldap',
      ldap_server_address: dc.host,
      ldap_server_port: 636,
      ldap_secured: 'ssl',
      ldap_is_active_directory: true,
      ldap_bind_dn: `CN=svc-modoboa,CN=Users,${dc.baseDN}`,
      ldap_search_base: dc.baseDN,
      ldap_search_filter: '(&(objectCategory=person)(objectClass=user)(mail=%(user)s))',
      ldap_bind_password: '(changed)',
    });
    expect(JSON.stringify(auth)).not.toContain(BIND_PASSWORD);
    // The plan names the infrasec.yaml settings those parameters come from.
    expect(auth.fields.map((f) => f.path)).toEqual(['systems.modoboa.ldapUrl', 'systems.modoboa.ldapBindDN', 'systems.modoboa.ldapSearchBase', 'systems.modoboa.ldapSearchFilter', 'systems.modoboa.ldapBindPassword']);
    expect(first.applied.some((a) => a.change.kind === 'Mailbox' && a.change.name === ADDRESS)).toBe(true);

    const [[stored]] = (await m.query('SELECT _parameters FROM core_localconfig')) as [[string]];
    const before = await m.query('SELECT _parameters, need_dovecot_update FROM core_localconfig');
    // Only the LDAP parameters moved: what Modoboa held for the rest (password scheme, theme...) was sent back as it was.
    expect(JSON.parse(stored).core).toMatchObject({ authentication_type: 'ldap', ldap_secured: 'ssl', password_scheme: 'sha512crypt', theme_primary_color: '#046BF8' });

    const second = await pass(mail, desired);
    expect(second.status, why(second)).toBe('in-sync');
    expect(second.writes).toBe(0);
    expect(await m.query('SELECT _parameters, need_dovecot_update FROM core_localconfig')).toEqual(before);
  });

  it('a person logs in with the password AD holds, once AD lets them (not while it demands a change at first logon)', async () => {
    const initial = desired.secrets.get('User', PERSON, 'password')!.reveal();
    // The example sets mustChangePassword: AD refuses a bind with the initial password, so Modoboa does too.
    expect(await m.login(ADDRESS, initial)).toBe(401);

    const chosen = 'Inondati0ns-Printemps!';
    await changePassword(PERSON, initial, chosen);

    expect(await m.login(ADDRESS, 'Not-the-Passw0rd')).toBe(401);
    expect(await m.login(ADDRESS, chosen)).toBe(302);
    // The account that signed in is the mailbox infrasec made (its local password is a random one nobody knows).
    expect(await m.query("SELECT message FROM core_log WHERE message LIKE '%successfully logged in%'")).toEqual([[`User '${ADDRESS}' successfully logged in`]]);
    expect(await m.query('SELECT count(*) FROM core_user WHERE username = ?', [ADDRESS])).toEqual([[1]]);
    // Signing in copies names from AD into Modoboa: the same as Git's, so nothing drifts.
    const after = await pass(mail, desired);
    expect(after.status, why(after)).toBe('in-sync');
  });

  it('switching Modoboa back to local authentication by hand is drift, corrected on the next pass', async () => {
    const res = await fetch(`${m.url}/api/v2/parameters/global/core/`, { headers: { Authorization: `Token ${m.token}` } });
    const { params } = (await res.json()) as { params: Record<string, unknown> };
    const put = await fetch(`${m.url}/api/v2/parameters/global/core/`, {
      method: 'PUT',
      headers: { Authorization: `Token ${m.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...params, authentication_type: 'local', ldap_bind_password: 'typed-by-hand' }),
    });
    expect(put.status).toBe(200);
    const corrected = await pass(mail, desired, config, true);
    expect(corrected.status, why(corrected)).toBe('applied');
    expect(corrected.applied.map((a) => [a.change.key, a.change.wire?.map((f) => f.path)])).toEqual([['Authentication/ldap', ['authentication_type', 'ldap_bind_password']]]);
    expect(corrected.applied[0]!.change.fields).toEqual([
      { path: 'systems.modoboa.ldapUrl', before: null, after: expect.stringMatching(/^ldaps:\/\//) },
      { path: 'systems.modoboa.ldapBindPassword', before: '(sensitive)', after: '(sensitive)', sensitive: true },
    ]);
    expect(JSON.stringify(corrected.applied[0]!.change)).not.toContain('typed-by-hand');
    expect(JSON.parse(((await m.query('SELECT _parameters FROM core_localconfig')) as [[string]])[0][0]).core).toMatchObject({ authentication_type: 'ldap', ldap_bind_password: BIND_PASSWORD });
  });

  it('a leaver can no longer log in: disabled in AD and in Modoboa in the same commit', async () => {
    const leaving = withLeaver(desired, PERSON);
    expect((await pass(ad, leaving)).status).toBe('applied');
    const mailPass = await pass(mail, leaving);
    expect(mailPass.status, why(mailPass)).toBe('applied');
    expect(mailPass.applied.map((a) => `${a.change.action} ${a.change.key}`)).toContain(`disable Mailbox/${ADDRESS}`);
    expect(await m.login(ADDRESS, 'Inondati0ns-Printemps!')).toBe(401);
  });

  it('never shows the bind password: not in plans, results or logs', async () => {
    const results = JSON.stringify([await runPass(mail, desired, policyOf(config, 'modoboa'), { mode: 'plan', revision: 'test' })]);
    expect(results).not.toContain(BIND_PASSWORD);
    expect(logs).not.toContain(BIND_PASSWORD);
    expect(logs).not.toContain(desired.secrets.get('User', PERSON, 'password')!.reveal());
  });

  it('keeps certificate checks on: a Modoboa that does not trust the AD’s CA signs nobody in', async () => {
    const untrusting = await startModoboa();
    try {
      const c = await configFor(untrusting, 'untrusting');
      const r = (await systemsFor(c)).get('modoboa')!;
      try {
        const p = await pass(r, desired, c);
        expect(p.status, why(p)).toBe('applied');
        await changePassword('nhoffmann', desired.secrets.get('User', 'nhoffmann', 'password')!.reveal(), 'Cru3-du-Rhin!');
        expect(await m.login('nhoffmann@cod67.example.fr', 'Cru3-du-Rhin!')).toBe(302);
        expect(await untrusting.login('nhoffmann@cod67.example.fr', 'Cru3-du-Rhin!')).toBe(401);
        expect(readFileSync(join(untrusting.dir, 'gunicorn.log'), 'utf8')).toMatch(/certificate|Can't contact LDAP server/i);
      } finally {
        await r.close();
      }
    } finally {
      await untrusting.stop();
    }
  }, 300_000);
});

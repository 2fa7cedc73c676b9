// Against the real Samba: a refused bind stalls the system instead of being retried, so the service account is never locked out.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change as LdapChange, type Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type RunningController } from '../../src/commands/controller.ts';
import { configSchema } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { encodeUnicodePwd } from '../../src/reconcilers/active-directory/encoding.ts';
import { startSambaDc, type SambaDc } from '../harness/samba.ts';
import { ldapClient, seededRepository, userYaml } from './ad-fixture.ts';
import { eventually } from './fakes.ts';
import { initStateDir } from '../../src/state/generator-key.ts';

let dc: SambaDc;
let admin: Client;
let serviceDN: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  dc = await startSambaDc();
  admin = ldapClient(dc);
  await admin.bind(dc.bindDN, dc.bindPassword);
  // Samba counts bad passwords only under a lockout policy: a usual one, far enough away not to lock the account here.
  await admin.modify(dc.baseDN, [new LdapChange({ operation: 'replace', modification: new Attribute({ type: 'lockoutThreshold', values: ['1000'] }) })]);
  serviceDN = `CN=svc-infrasec,CN=Users,${dc.baseDN}`;
  await admin.add(serviceDN, [
    new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
    new Attribute({ type: 'sAMAccountName', values: ['svc-infrasec'] }),
    new Attribute({ type: 'unicodePwd', values: [encodeUnicodePwd('Svc-R1ght-Passw0rd!')] }),
    new Attribute({ type: 'userAccountControl', values: ['512'] }),
  ]);
}, 120_000);
afterAll(async () => {
  await admin?.unbind();
  await dc?.stop();
});

async function badPwdCount(): Promise<number> {
  const { searchEntries } = await admin.search(serviceDN, { scope: 'base', attributes: ['badPwdCount'] });
  return Number(searchEntries[0]?.['badPwdCount'] ?? 0);
}

describe('a refused bind', () => {
  it('raises the service account badPwdCount by at most one per commit or configuration change', async () => {
    const fx = seededRepository();
    const stateDir = await mkdtemp(join(tmpdir(), 'infrasec-stall-state-'));
    await initStateDir(stateDir);
    const config = (bindPassword: string) => configSchema.parse({
      stateDir,
      systems: { 'active-directory': { url: dc.ldapsUrl, bindDN: serviceDN, bindPassword, baseDN: dc.baseDN, caFile: dc.caFile, tlsServerName: dc.tlsServerName } },
      controller: { git: { url: fx.url, ref: 'main' }, listen: '127.0.0.1:0', pollIntervalSeconds: 0.5, driftIntervalSeconds: 0.5, retry: { initialSeconds: 0.1, maxSeconds: 0.5 } },
      logLevel: 'silent',
    });
    let ctl: RunningController | undefined;
    const ad = () => ctl!.controller.status.snapshot().systems.find((s) => s.system === 'active-directory')!;
    try {
      expect(await badPwdCount()).toBe(0);
      ctl = await startController(config('Wrong-Passw0rd!'), { logger: silentLogger });
      await eventually(() => ad().state === 'stalled', 60_000, 'stalled');
      expect(ad().stalled).toMatchObject({ code: 'authentication-failed', revision: fx.seed });
      expect(ad().lastError?.message).not.toContain('Wrong-Passw0rd!');
      const metrics = await (await fetch(`${ctl.server!.url}/metrics`)).text();
      expect(metrics).toContain('infrasec_system_stalled{system="active-directory",reason="authentication-failed"} 1');
      // Half a minute of polls, drift intervals and retry steps (a transient failure would be retried ~60 times here).
      await sleep(30_000);
      expect(await badPwdCount()).toBe(1);

      // A new commit is worth one more try, and only one.
      const next = fx.commit({ 'users/stall.yaml': userYaml('stallnext', 'Suivant') }, 'Add stallnext');
      await eventually(async () => ad().stalled?.revision === next, 60_000, 'stalled on the new commit');
      await sleep(15_000);
      expect(await badPwdCount()).toBe(2);

      // A restart with the same configuration keeps the stall; a new password is a new configuration.
      await ctl.stop();
      ctl = await startController(config('Wrong-Passw0rd!'), { logger: silentLogger });
      expect(ad().state).toBe('stalled');
      await sleep(5_000);
      expect(await badPwdCount()).toBe(2);
      await ctl.stop();
      ctl = await startController(config('Still-Wr0ng-Passw0rd!'), { logger: silentLogger });
      await eventually(async () => ad().stalled !== null && ad().stalled!.since > new Date(Date.now() - 60_000).toISOString() && (await badPwdCount()) === 3, 60_000, 'one more try');
      await sleep(5_000);
      expect(await badPwdCount()).toBe(3);
    } finally {
      await ctl?.stop();
      fx.cleanup();
      await rm(stateDir, { recursive: true, force: true });
    }
  }, 240_000);
});

// Integration: the AD client against a real Samba DC that freezes (SIGSTOP) or dies and comes back: every operation settles by its deadline, reconnects are serialized, and the client works again once the DC does.
import { Attribute, Change as LdapChange } from 'ldapts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Secret, sha256Hex } from '../../../src/desired/secret.ts';
import { TargetUnavailableError } from '../../../src/errors.ts';
import type { GuardedPlan } from '../../../src/engine/types.ts';
import { applyPlan } from '../../../src/reconcilers/active-directory/apply.ts';
import { AdClient } from '../../../src/reconcilers/active-directory/client.ts';
import type { AdChange } from '../../../src/reconcilers/active-directory/plan.ts';
import { MemoryFingerprintStore } from '../../../src/state/fingerprints.ts';
import { expectHaltedAfterLoss } from '../../engine/halted-apply.ts';
import { resolveAdSettings } from '../../../src/reconcilers/active-directory/settings.ts';
import { ldapClient } from '../../controller/ad-fixture.ts';
import { startSambaDc, type SambaDc } from '../../harness/samba.ts';

const TIMEOUT_MS = 1_500;
/** How long a frozen DC stays frozen in these tests: well past the operation timeout. */
const FROZEN_MS = 4 * TIMEOUT_MS;

let dc: SambaDc;
const clients: AdClient[] = [];
const dns: string[] = [];

function adClient(): AdClient {
  const c = new AdClient(
    resolveAdSettings({
      url: dc.ldapsUrl, bindDN: dc.bindDN, bindPassword: new Secret(dc.bindPassword, 'env', sha256Hex('bind')), baseDN: dc.baseDN,
      caFile: dc.caFile, tlsServerName: dc.tlsServerName, timeoutMs: TIMEOUT_MS,
    }),
  );
  clients.push(c);
  return c;
}

function describeChange(value: string) {
  return [{ operation: 'replace' as const, attribute: 'description', values: [value] }];
}

/**
 * Settles every promise, but never waits past `capMs`: what is still pending then is reported as 'pending'. The cap
 * is a safety net that turns "hangs forever" into a failed assertion, not a performance bound.
 */
async function settleWithin<T>(promises: Array<Promise<T>>, capMs: number): Promise<Array<'fulfilled' | 'rejected' | 'pending'>> {
  const states: Array<'fulfilled' | 'rejected' | 'pending'> = promises.map(() => 'pending');
  const all = Promise.all(promises.map((p, i) => p.then(() => void (states[i] = 'fulfilled'), () => void (states[i] = 'rejected'))));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((r) => (timer = setTimeout(r, capMs)))]);
  clearTimeout(timer);
  return states;
}

async function descriptionOf(dn: string): Promise<string | undefined> {
  const admin = ldapClient(dc);
  try {
    await admin.bind(dc.bindDN, dc.bindPassword);
    const { searchEntries } = await admin.search(dn, { scope: 'base', attributes: ['description'] });
    return searchEntries[0]?.['description'] as string | undefined;
  } finally {
    await admin.unbind();
  }
}

beforeAll(async () => {
  dc = await startSambaDc();
  const admin = ldapClient(dc);
  await admin.bind(dc.bindDN, dc.bindPassword);
  for (let i = 0; i < 4; i++) {
    const dn = `CN=fault-${i},CN=Users,${dc.baseDN}`;
    await admin.add(dn, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], sAMAccountName: `fault-${i}` });
    dns.push(dn);
  }
  await admin.unbind();
}, 180_000);

afterEach(async () => {
  dc?.resume();
  for (const c of clients.splice(0)) await c.close();
});

afterAll(async () => {
  await dc?.stop();
}, 60_000);

describe('AD apply when the DC freezes mid-pass', () => {
  it('the first lost connection stops the remaining changes, which are recorded as not attempted, not each left to time out', async () => {
    const client = adClient();
    const changes: AdChange[] = Array.from({ length: 12 }, (_, i) => {
      const dn = dns[i % dns.length]!;
      return {
        system: 'active-directory', kind: 'User', name: `fault-${i}`, key: `User/fault-${i}`, action: 'update', prune: false, adopt: false, rank: 1, reason: 'test', fields: [],
        payload: { dn, writes: [{ op: 'modify', dn, changes: describeChange(`halt-${i}`) }], expect: { kind: 'User', name: `fault-${i % dns.length}`, present: true } },
      };
    });
    const plan = { system: 'active-directory', changes, conflicts: [], ownedCount: 0 } as unknown as GuardedPlan<never>;
    let frozen = false;
    try {
      const applied = await applyPlan(plan as never, { client, fingerprints: new MemoryFingerprintStore(), concurrency: 2 }, new AbortController().signal, {
        onApplied: () => {
          if (!frozen) {
            frozen = true;
            dc.pause();
          }
        },
      });
      expect(applied.filter((a) => a.ok).length).toBeGreaterThanOrEqual(1);
      // Two changes in flight at the freeze wait out their deadline; nothing else is sent.
      expectHaltedAfterLoss(applied, changes.length, 2);
      expect(applied.find((a) => a.notAttempted)?.error).toContain('Active Directory became unavailable during the pass');
    } finally {
      dc.resume();
    }
  }, 60_000);
});

describe('AD client against a DC that freezes or restarts', () => {
  it('4 concurrent modifies on a bound session during a freeze all reject by their deadline, and the client works after SIGCONT', async () => {
    const client = adClient();
    await client.modify(dns[0]!, describeChange('before'));
    dc.pause();
    try {
      const ops = dns.map((dn, i) => client.modify(dn, describeChange(`frozen-${i}`)));
      const states = await settleWithin(ops, FROZEN_MS);
      expect(states).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
      const errors = await Promise.allSettled(ops);
      for (const e of errors) expect((e as PromiseRejectedResult).reason).toBeInstanceOf(TargetUnavailableError);
    } finally {
      dc.resume();
    }
    await client.modify(dns[1]!, describeChange('after'));
    expect(await descriptionOf(dns[1]!)).toBe('after');
  }, 60_000);

  it('4 concurrent modifies that must reconnect while the DC is frozen all reject by their deadline (one reconnect, not four racing)', async () => {
    const client = adClient();
    await client.modify(dns[0]!, describeChange('before'));
    dc.pause();
    try {
      // The first failure kills the session; the next four all need a new one while the DC is still frozen.
      await expect(client.modify(dns[0]!, describeChange('lost'))).rejects.toBeInstanceOf(TargetUnavailableError);
      const ops = dns.map((dn, i) => client.modify(dn, describeChange(`reconnect-${i}`)));
      const states = await settleWithin(ops, FROZEN_MS);
      expect(states).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
      expect(client.connectAttempts).toBeLessThanOrEqual(3);
    } finally {
      dc.resume();
    }
    const after = dns.map((dn, i) => client.modify(dn, describeChange(`thawed-${i}`)));
    expect(await settleWithin(after, FROZEN_MS)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    for (const [i, dn] of dns.entries()) expect(await descriptionOf(dn)).toBe(`thawed-${i}`);
  }, 60_000);

  it('an aborted signal ends an operation on a frozen DC at once, before the operation timeout', async () => {
    const client = adClient();
    await client.modify(dns[2]!, describeChange('before'));
    dc.pause();
    try {
      const stop = new AbortController();
      const op = client.modify(dns[2]!, describeChange('never'), stop.signal);
      stop.abort(new Error('pass deadline'));
      // The abort reaches the operation before any timer could: it has settled one macrotask later.
      expect(await settleWithin([op], 0)).toEqual(['rejected']);
      await expect(op).rejects.toThrow(/aborted|pass deadline/);
    } finally {
      dc.resume();
    }
    await client.modify(dns[2]!, describeChange('after-abort'));
    expect(await descriptionOf(dns[2]!)).toBe('after-abort');
  }, 60_000);

  it('a DC killed and restarted between operations: the next operations fail or succeed, none hangs, and the client reconnects', async () => {
    const client = adClient();
    await client.modify(dns[3]!, describeChange('before'));
    await dc.restart(500);
    const ops = dns.map((dn, i) => client.modify(dn, describeChange(`restarted-${i}`)));
    const states = await settleWithin(ops, FROZEN_MS);
    expect(states).not.toContain('pending');
    // Whatever failed was the old socket's death; the client recovers on the next call.
    for (const [i, dn] of dns.entries()) await client.modify(dn, describeChange(`restarted-${i}`));
    for (const [i, dn] of dns.entries()) expect(await descriptionOf(dn)).toBe(`restarted-${i}`);
  }, 120_000);
});

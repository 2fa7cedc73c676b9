// Unit: reading Modoboa's core parameters, which Modoboa 2.12 may answer with its defaults while another request runs beside the read.
import { describe, expect, it } from 'vitest';
import { TargetUnavailableError } from '../../../src/errors.ts';
import type { ModoboaClient } from '../../../src/reconcilers/modoboa/client.ts';
import { normalizeAuthentication, readCoreParameters } from '../../../src/reconcilers/modoboa/observe.ts';

/** A client answering GETs from a script, counting them. */
function scripted(answers: unknown[]) {
  const client = { gets: 0, call: async (method: string) => (expect(method).toBe('GET'), client.gets++, answers.shift()) };
  return client as unknown as ModoboaClient & { gets: number };
}
const set = (address: string) => ({ label: 'General', params: { authentication_type: 'ldap', ldap_server_address: address, ldap_bind_password: 'pw' } });
const signal = new AbortController().signal;

describe('readCoreParameters', () => {
  it('trusts two equal answers in a row', async () => {
    const c = scripted([set('dc1'), set('dc1')]);
    expect((await readCoreParameters(c, signal))['ldap_server_address']).toBe('dc1');
    expect(c.gets).toBe(2);
  });

  it('reads again past an answer that a concurrent request reset to the defaults', async () => {
    const c = scripted([set('localhost'), set('dc1'), set('dc1')]);
    expect((await readCoreParameters(c, signal))['ldap_server_address']).toBe('dc1');
    expect(c.gets).toBe(3);
  });

  it('gives up after four reads that never agree, as a transient failure naming no value', async () => {
    const c = scripted([set('a'), set('b'), set('c'), set('d'), set('d')]);
    const err = await readCoreParameters(c, signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetUnavailableError);
    expect((err as Error).message).not.toContain('pw');
    expect(c.gets).toBe(4);
  });

  it('refuses an answer that is not a parameter set without quoting it (it holds secrets)', async () => {
    const err = await readCoreParameters(scripted([{ params: 'ldap_bind_password=pw' }]), signal).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/not a parameter set/);
    expect((err as Error).message).not.toContain('pw');
  });
});

describe('normalizeAuthentication', () => {
  it('needs a super administrator’s token: without the bind password shown, it refuses rather than rewrite it every pass', () => {
    expect(() => normalizeAuthentication({ authentication_type: 'ldap' })).toThrow(/super administrator/);
  });

  it('holds the live bind password as a Secret', () => {
    const live = normalizeAuthentication(set('dc1').params);
    expect(JSON.stringify(live)).not.toContain('"pw"');
    expect(live.bindPassword.reveal()).toBe('pw');
  });
});

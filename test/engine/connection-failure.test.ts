// Pure: a failed HTTPS connection's kind from Node and undici codes (wrapped or not), and the sentence naming the setting to fix.
import { describe, expect, it } from 'vitest';
import { classifyConnectionFailure, describeConnectionFailure, NAME_MISMATCH } from '../../src/engine/connection-failure.ts';

const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });
const settings = {
  system: 'Relay', url: 'https://relay.test', urlSetting: 'systems.relay.url (R_URL)', caFileSetting: 'systems.relay.caFile (R_CA)', caFileSet: false,
  timeoutSetting: 'systems.relay.timeoutMs (R_T)', timeoutMs: 1500,
};

describe('classifyConnectionFailure', () => {
  it.each([
    ['SELF_SIGNED_CERT_IN_CHAIN', 'untrusted'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'untrusted'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'wrong-name'],
    [NAME_MISMATCH, 'wrong-name'],
    ['CERT_HAS_EXPIRED', 'expired'],
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
    ['ETIMEDOUT', 'timeout'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'handshake'],
    ['EPROTO', 'handshake'],
    ['ECONNREFUSED', 'unreachable'],
    ['ENOTFOUND', 'unreachable'],
    ['UND_ERR_SOCKET', 'unreachable'],
  ])('%s is %s', (code, kind) => {
    expect(classifyConnectionFailure(coded(code)).kind).toBe(kind);
  });

  it('finds the code in a cause (fetch-style wrapping) and tells a name mismatch with Node\'s code', () => {
    const wrapped = new TypeError('fetch failed', { cause: coded(NAME_MISMATCH, 'Hostname/IP does not match') });
    expect(classifyConnectionFailure(wrapped)).toEqual({ kind: 'wrong-name', detail: 'ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match' });
  });
});

describe('describeConnectionFailure', () => {
  it('names caFile, saying whether one is set', () => {
    expect(describeConnectionFailure(coded('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed'), settings)).toBe(
      "Relay at https://relay.test: its certificate is not signed by a trusted CA (SELF_SIGNED_CERT_IN_CHAIN: self-signed); set systems.relay.caFile (R_CA) to a PEM file of the CA that signed it (unset: only the system's CA store is trusted)",
    );
    expect(describeConnectionFailure(coded('SELF_SIGNED_CERT_IN_CHAIN'), { ...settings, caFileSet: true })).toContain('(the file set now does not hold it)');
  });

  it('names the timeout setting for no answer, the url for the rest', () => {
    expect(describeConnectionFailure(coded('UND_ERR_HEADERS_TIMEOUT', 'Headers Timeout Error'), settings)).toBe(
      'Relay at https://relay.test did not answer within 1500 ms (UND_ERR_HEADERS_TIMEOUT: Headers Timeout Error); check systems.relay.url (R_URL) and that Relay is running, or raise systems.relay.timeoutMs (R_T)',
    );
    expect(describeConnectionFailure(coded('ERR_SSL_WRONG_VERSION_NUMBER'), settings)).toContain('check that systems.relay.url (R_URL) names its HTTPS port and scheme, then systems.relay.caFile (R_CA)');
    expect(describeConnectionFailure(coded('CERT_HAS_EXPIRED'), settings)).toContain("renew the certificate of Relay, or check this machine's clock");
  });
});

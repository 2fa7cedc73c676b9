// Emulator vs contract sections 1–2 and errata 6, 7, 15: envelope, codes, auth methods, content negotiation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, closeAgent } from './api-test-client.js';
import { type PfSenseEmulator, seedInterfaces, startPfSenseEmulator } from './index.js';

let emu: PfSenseEmulator;

beforeAll(async () => {
  emu = await startPfSenseEmulator({ seed: async (e) => seedInterfaces(e) });
  emu.state.users.push({ name: 'viewer', password: 'v', scope: 'user', priv: [], disabled: false, descr: '', expires: '', cert: [], uid: 2001, authorizedkeys: '', ipsecpsk: '' });
});
afterAll(async () => {
  await closeAgent(emu);
  await emu.close();
});

const RULE = { type: 'pass', interface: ['lan'], ipprotocol: 'inet', source: 'any', destination: 'any', descr: 'x' };

describe('pfSense emulator protocol', () => {
  it('wraps a success in the envelope with code 200 (creates too) and SUCCESS', async () => {
    const r = await call(emu, 'POST', 'firewall/rule', { json: RULE });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ code: 200, status: 'ok', response_id: 'SUCCESS', message: '' });
    expect(r.body.data.id).toBe(0);
    expect(r.headers['content-type']).toBe('application/json');
  });

  it('answers a missing object with 404 MODEL_OBJECT_NOT_FOUND, data [] and backticks for quotes', async () => {
    const r = await call(emu, 'GET', 'firewall/rule', { query: 'id=99' });
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ code: 404, status: 'not found', response_id: 'MODEL_OBJECT_NOT_FOUND', message: 'Object with ID `99` does not exist.', data: [] });
  });

  it('requires an id on the singular GET (400 MODEL_REQUIRES_ID)', async () => {
    const r = await call(emu, 'GET', 'firewall/rule');
    expect([r.status, r.body.response_id]).toEqual([400, 'MODEL_REQUIRES_ID']);
  });

  it('returns only the first validation error, in field order', async () => {
    const r = await call(emu, 'POST', 'firewall/rule', { json: { interface: ['nope'], source: 'bogus' } });
    expect([r.status, r.body.response_id, r.body.message]).toEqual([400, 'FIELD_IS_REQUIRED', 'Field `type` is required.']);
  });

  it('refuses bad credentials with 401 and the Basic realm, an unprivileged user with 403', async () => {
    const bad = await call(emu, 'GET', 'firewall/rules', { basic: 'admin:wrong' });
    expect([bad.status, bad.body.response_id]).toEqual([401, 'AUTH_AUTHENTICATION_FAILED']);
    expect(bad.headers['www-authenticate']).toBe('Basic realm="Login for pfSense REST API"');
    const none = await call(emu, 'GET', 'firewall/rules', { basic: null });
    expect(none.status).toBe(401);
    const viewer = await call(emu, 'GET', 'firewall/rules', { basic: 'viewer:v' });
    expect([viewer.status, viewer.body.response_id]).toEqual([403, 'AUTH_AUTHORIZATION_FAILED']);
  });

  it('accepts X-API-Key only once KeyAuth is enabled, and Basic claims the request first', async () => {
    const created = await call(emu, 'POST', 'auth/key', { json: { descr: 'infrasec' } });
    expect(created.status).toBe(200);
    const key = created.body.data.key as string;
    expect(key).toMatch(/^[0-9a-f]{48}$/);
    const listed = await call(emu, 'GET', 'auth/keys');
    expect(JSON.stringify(listed.body.data)).not.toContain(key);
    expect(listed.body.data[0]).not.toHaveProperty('hash');
    const before = await call(emu, 'GET', 'firewall/rules', { basic: null, headers: { 'x-api-key': key } });
    expect(before.status).toBe(401);
    const patched = await call(emu, 'PATCH', 'system/restapi/settings', { json: { auth_methods: ['BasicAuth', 'KeyAuth'] } });
    expect(patched.body.data.auth_methods).toEqual(['BasicAuth', 'KeyAuth']);
    const after = await call(emu, 'GET', 'firewall/rules', { basic: null, headers: { 'x-api-key': key } });
    expect(after.status).toBe(200);
    const wrongBasic = await call(emu, 'GET', 'firewall/rules', { basic: 'admin:wrong', headers: { 'x-api-key': key } });
    expect(wrongBasic.status).toBe(401);
    const wrongKey = await call(emu, 'GET', 'firewall/rules', { basic: null, headers: { 'x-api-key': `${key}0` } });
    expect(wrongKey.status).toBe(401);
  });

  it('issues a JWT over Basic that works as a Bearer token once JWTAuth is enabled', async () => {
    const t = await call(emu, 'POST', 'auth/jwt');
    const token = t.body.data.token as string;
    expect((await call(emu, 'GET', 'firewall/rules', { basic: null, headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    await call(emu, 'PATCH', 'system/restapi/settings', { json: { auth_methods: ['BasicAuth', 'KeyAuth', 'JWTAuth'] } });
    expect((await call(emu, 'GET', 'firewall/rules', { basic: null, headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('ignores the query string of a GET sent with a JSON content type', async () => {
    const withJson = await call(emu, 'GET', 'firewall/rule', { query: 'id=0', headers: { 'content-type': 'application/json' } });
    expect([withJson.status, withJson.body.response_id]).toEqual([400, 'MODEL_REQUIRES_ID']);
    const plain = await call(emu, 'GET', 'firewall/rule', { query: 'id=0' });
    expect(plain.status).toBe(200);
  });

  it('guesses urlencoded types: an all-digit port becomes an int and is refused by a string field', async () => {
    const r = await call(emu, 'POST', 'firewall/rule', {
      body: 'type=pass&interface[]=lan&ipprotocol=inet&protocol=tcp&source=any&destination=any&destination_port=443',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect([r.status, r.body.response_id]).toEqual([400, 'FIELD_INVALID_TYPE']);
    const json = await call(emu, 'POST', 'firewall/rule', { json: { ...RULE, protocol: 'tcp', destination_port: 443 } });
    expect(json.body.response_id).toBe('FIELD_INVALID_TYPE');
  });

  it('rejects undecodable JSON (400) and unknown media types (415/406)', async () => {
    const bad = await call(emu, 'POST', 'firewall/rule', { body: '{nope', headers: { 'content-type': 'application/json' } });
    expect([bad.status, bad.body.response_id]).toEqual([400, 'JSON_CONTENT_HANDLER_COULD_NOT_DECODE_JSON']);
    const octet = await call(emu, 'POST', 'firewall/rule', { body: 'x', headers: { 'content-type': 'application/octet-stream' } });
    expect([octet.status, octet.body.response_id]).toEqual([415, 'CONTENT_HANDLER_CANNOT_DECODE_CONTENT']);
    const xml = await call(emu, 'POST', 'firewall/rule', { body: '<a/>', headers: { 'content-type': 'text/xml' } });
    expect([xml.status, xml.body.response_id]).toEqual([415, 'CONTENT_HANDLER_DECODE_NOT_FOUND']);
    const list = await call(emu, 'GET', 'firewall/rules', { headers: { accept: 'application/json, text/plain, */*' } });
    expect([list.status, list.body.response_id]).toEqual([406, 'CONTENT_HANDLER_ENCODE_NOT_FOUND']);
  });

  it('executes a write sent with Accept octet-stream before answering 406 (errata 7)', async () => {
    const before = emu.state.config.rules.length;
    const r = await call(emu, 'POST', 'firewall/rule', { json: { ...RULE, descr: 'octet' }, headers: { accept: 'application/octet-stream' } });
    expect(r.status).toBe(406);
    expect(emu.state.config.rules.length).toBe(before + 1);
  });

  it('answers 405 for a method an endpoint lacks and 404 for an unknown endpoint', async () => {
    const r = await call(emu, 'PUT', 'firewall/rule', { json: {} });
    expect([r.status, r.body.response_id]).toEqual([405, 'ENDPOINT_METHOD_NOT_ALLOWED']);
    const u = await call(emu, 'GET', 'firewall/nothing');
    expect(u.status).toBe(404);
  });

  it('refuses writes in read-only mode with 405, before authentication', async () => {
    emu.state.settings.read_only = true;
    try {
      const r = await call(emu, 'POST', 'firewall/rule', { json: RULE, basic: null });
      expect([r.status, r.body.response_id]).toEqual([405, 'ENDPOINT_METHOD_NOT_ALLOWED_IN_READ_ONLY_MODE']);
    } finally {
      emu.state.settings.read_only = false;
    }
  });
});

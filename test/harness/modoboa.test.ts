// Integration: the Modoboa harness starts real, independent instances with their own token, honours the throttle setting, and stop() leaves nothing behind.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModoboa, type Modoboa } from './modoboa.ts';

async function api(m: Modoboa, path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${m.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { Authorization: `Token ${init.token ?? m.token}`, 'Content-Type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
}

describe('startModoboa', () => {
  let a: Modoboa;
  let b: Modoboa;
  beforeAll(async () => {
    // The template is deployed by the first call (once per machine); the second copies it.
    a = await startModoboa();
    b = await startModoboa();
  }, 900_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  }, 60_000);

  it('serves the v2 API on a loopback address to its own token only', async () => {
    expect(a.host).toMatch(/^127\.0\.2\.\d+$/);
    expect(a.url).not.toBe(b.url);
    expect(a.token).toMatch(/^[0-9a-f]{40}$/);
    expect(a.token).not.toBe(b.token);
    const list = await api(a, '/api/v2/accounts/');
    expect(list.status).toBe(200);
    expect((list.body as { results: { username: string; role: string }[] }).results).toEqual([
      expect.objectContaining({ username: 'admin', role: 'SuperAdmins' }),
    ]);
    expect((await api(a, '/api/v2/accounts/', { token: b.token })).status).toBe(401);
  });

  it('gives each instance its own database (no Redis needed to write)', async () => {
    const created = await api(a, '/api/v2/domains/', { method: 'POST', body: { name: 'harness.test', quota: 100, default_mailbox_quota: 10 } });
    expect(created.status).toBe(201);
    const mailbox = await api(a, '/api/v2/accounts/', {
      method: 'POST',
      body: { username: 'jo@harness.test', role: 'SimpleUsers', password: 'Harness1234x', mailbox: { use_domain_quota: true } },
    });
    expect(mailbox.status).toBe(201);
    expect(await a.query('SELECT name, quota FROM admin_domain')).toEqual([['harness.test', 100]]);
    expect(await b.query('SELECT count(*) FROM admin_domain')).toEqual([[0]]);
    expect(((await api(b, '/api/v2/domains/')).body as { count: number }).count).toBe(0);
  });

  it('runs manage.py in the instance', async () => {
    expect(await a.manage(['check'])).toMatch(/no issues/);
  }, 120_000);

  it('throttles with the rates it was given, answering 429 with Retry-After', async () => {
    const slow = await startModoboa({ throttleRates: { user: '3/minute' } });
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${slow.url}/api/v2/domains/`, { headers: { Authorization: `Token ${slow.token}` }, signal: AbortSignal.timeout(30_000) });
        await res.arrayBuffer();
        statuses.push(res.status);
        if (res.status === 429) retryAfter = res.headers.get('retry-after');
      }
      // The harness's own readiness probe used part of the budget: 200s, then only 429s for the rest of the minute.
      const first429 = statuses.indexOf(429);
      expect(statuses[0]).toBe(200);
      expect(first429).toBeGreaterThan(0);
      expect(statuses.slice(first429).every((s) => s === 429)).toBe(true);
      expect(Number(retryAfter)).toBeGreaterThan(0);
      // The other instances kept the test rates.
      expect((await api(a, '/api/v2/domains/')).status).toBe(200);
    } finally {
      await slow.stop();
    }
  }, 180_000);

  it('stop() ends its gunicorn and workers, removes its directory and is idempotent', async () => {
    const m = await startModoboa();
    const { pid, dir, url } = m;
    await m.stop();
    await m.stop();
    expect(existsSync(dir)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(() => process.kill(-pid, 0)).toThrow(); // no worker left in its process group
    await expect(fetch(`${url}/api/v2/domains/`, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow();
    expect((await api(a, '/api/v2/domains/')).status).toBe(200);
  }, 180_000);
});

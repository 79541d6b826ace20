import { Client } from '@simscope/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, openTestApp } from '../test/fixtures.js';
import { FaultProxy } from './fault-proxy.js';

/** 80 names of 250 characters that match no run: with the two real ones, a filter of about 20 KB. */
const PADDING = Array.from(
  { length: 80 },
  (_, i) => `absent-${String(i).padStart(3, '0')}-${'x'.repeat(239)}`,
);

describe('query client with a filter too long for a URL', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let base: string;
  let proxy: FaultProxy;
  let client: Client;

  beforeAll(async () => {
    t = await openTestApp('sqlite');
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    proxy = await FaultProxy.start(base);
    client = new Client({ url: proxy.url, token: ADMIN_TOKEN });
    for (const name of ['long-a', 'long-b', 'long-c']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/runs',
        headers: t.auth,
        payload: { name },
      });
      expect(res.statusCode).toBe(201);
    }
  });
  afterAll(async () => {
    await proxy.close();
    await t.close();
  });

  it('sends a 20 KB filter as POST /runs/search, page by page, and short ones as GET', async () => {
    const names = [...PADDING, 'long-a', 'long-b'];
    const filterLength = names.reduce((n, s) => n + s.length, 0);
    expect(filterLength).toBeGreaterThan(20_000);
    proxy.requests.length = 0;
    const all = await client.runs.listAll({ name__in: names, sort: 'name' }, { pageSize: 1 });
    expect(all.items.map((r) => r.name)).toEqual(['long-a', 'long-b']);
    expect(all.pages).toBe(2);
    expect(proxy.requests.map((r) => `${r.method} ${r.url.split('?')[0]}`)).toEqual([
      'POST /api/v1/runs/search',
      'POST /api/v1/runs/search',
    ]);

    proxy.requests.length = 0;
    const text = names.map((n) => `name == "${n}"`).join(' or ');
    const viaText = await client.getRuns(text, { sort: 'name' });
    expect(viaText.map((r) => r.name)).toEqual(['long-a', 'long-b']);
    expect(proxy.count('POST', '/api/v1/runs/search')).toBe(1);

    proxy.requests.length = 0;
    const short = await client.runs.list({ name__in: ['long-c'] });
    expect(short.items.map((r) => r.name)).toEqual(['long-c']);
    expect(proxy.requests.map((r) => r.method)).toEqual(['GET']);
  });

  it('answers a GET with such a filter 431 header_too_large in the API error shape', async () => {
    const filter = [...PADDING, 'long-a'].map((n) => `name == "${n}"`).join(' or ');
    const res = await fetch(`${base}/api/v1/runs?${new URLSearchParams({ filter })}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(431);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('header_too_large');
  });
});

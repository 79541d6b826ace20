import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openTestApp } from '../../../../test/fixtures.js';

describe.each(BACKENDS)('text with NUL on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  beforeAll(async () => {
    t = await openTestApp(backend);
  });
  afterAll(async () => {
    await t.close();
  });
  const call = (method: string, url: string, payload?: string) =>
    t.app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers: { ...t.auth, ...(payload ? { 'content-type': 'application/json' } : {}) },
      ...(payload ? { payload } : {}),
    });

  it('a lookup by a name with NUL finds nothing: 404, as for any name that does not exist', async () => {
    for (const url of ['/runs/a%00b', '/folders/a%00b', '/alerts/a%00b', '/runs/a%00b/metrics']) {
      const res = await call('GET', url);
      expect(res.statusCode, `${url}: ${res.body}`).toBe(404);
    }
  });

  it('NUL in a filter, metadata, description or event is a 400 or stored whole, never a 500', async () => {
    const filter = encodeURIComponent('name == "a\\u0000b"');
    const cases: [string, string, string?][] = [
      ['GET', `/runs?filter=${filter}`],
      ['GET', `/runs?filter=${encodeURIComponent('metadata.k == "a\\u0000"')}`],
      ['POST', '/runs', '{"name":"nul-meta","metadata":{"k":"a\\u0000b"}}'],
      ['POST', '/runs', '{"name":"nul-desc","description":"a\\u0000b"}'],
    ];
    for (const [method, url, body] of cases) {
      const res = await call(method, url, body);
      expect(res.statusCode, `${method} ${url} ${body ?? ''}: ${res.body}`).toBeLessThan(500);
    }
  });
});

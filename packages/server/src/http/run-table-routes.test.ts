import { describe, expect, it } from 'vitest';
import { appForSuite, BACKENDS } from '../../../../test/fixtures.js';

describe.each(BACKENDS)('run table on %s', (backend) => {
  const t = appForSuite(backend);
  const call = (method: string, url: string, payload?: unknown) => t.call(method, url, payload);

  it('pages runs as columns with metadata and last metric values', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      t.clock.now += 1_000_000;
      const run = await call('POST', '/runs', {
        name: `t-${i}`,
        folder: `/f/${i % 2}`,
        tags: i === 0 ? ['first'] : [],
        metadata: { re: i * 10, solver: { name: `s${i}` }, 'a.b': i, ...(i === 2 ? { only2: true } : {}) },
      });
      ids.push(run.body.id);
      if (i !== 3) {
        await call('POST', `/runs/t-${i}/metrics`, {
          writer: 'w',
          seq: 0,
          series: [{ name: 'loss', values: [9, i === 4 ? 'Infinity' : i / 2] }],
        });
      }
    }
    const columns = encodeURIComponent(
      JSON.stringify(['metadata.re', 'metadata.solver.name', 'metadata.a.b', 'metrics.loss']),
    );
    const first = await call('GET', `/run-table?limit=3&columns=${columns}&metricNames=true`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      count: 3,
      id: [ids[4], ids[3], ids[2]],
      name: ['t-4', 't-3', 't-2'],
      status: ['running', 'running', 'running'],
      folder: ['/f/0', '/f/1', '/f/0'],
      user: ['admin', 'admin', 'admin'],
      tags: [[], [], []],
      ended: [null, null, null],
      columns: {
        'metadata.re': [40, 30, 20],
        'metadata.solver.name': ['s4', 's3', 's2'],
        'metadata.a.b': [4, 3, 2],
        'metrics.loss': ['Infinity', null, 1],
      },
      metadataKeys: ['a.b', 'only2', 're', 'solver'],
      metricNames: ['loss'],
    });
    expect(first.body.next).toEqual(expect.any(String));
    const second = await call('GET', `/run-table?limit=3&columns=${columns}&next=${first.body.next}`);
    expect(second.body).toMatchObject({
      count: 2,
      name: ['t-1', 't-0'],
      tags: [[], ['first']],
      columns: { 'metrics.loss': [0.5, 0] },
      next: null,
    });
    expect(second.body.metricNames).toBeUndefined();
    expect(second.body.metadataKeys).toEqual([]);
    const filtered = await call(
      'GET',
      `/run-table?filter=${encodeURIComponent('metadata.re >= 30 or has tag.first')}`,
    );
    expect(filtered.body.name).toEqual(['t-4', 't-3', 't-0']);
  });

  it('pages runs made in the same microsecond in one order, each once', async () => {
    t.clock.now += 1_000_000;
    for (let i = 0; i < 7; i++) await call('POST', '/runs', { name: `tie-${i}`, folder: '/ties' });
    const filter = encodeURIComponent('folder == "/ties"');
    const names: string[] = [];
    let next: string | null = null;
    do {
      const page = await call('GET', `/run-table?limit=3&filter=${filter}${next ? `&next=${next}` : ''}`);
      expect(page.body.count).toBe(page.body.name.length);
      names.push(...page.body.name);
      next = page.body.next;
    } while (next);
    expect(names).toEqual(['tie-6', 'tie-5', 'tie-4', 'tie-3', 'tie-2', 'tie-1', 'tie-0']);
    const one = await call('GET', `/run-table?limit=1&filter=${filter}`);
    expect(one.body).toMatchObject({ count: 1, name: ['tie-6'] });
    const after = await call('GET', `/run-table?limit=1&filter=${filter}&next=${one.body.next}`);
    expect(after.body.name).toEqual(['tie-5']);
    const exact = await call('GET', `/run-table?limit=7&filter=${filter}`);
    expect(exact.body).toMatchObject({ count: 7, next: null });
    const none = await call('GET', `/run-table?filter=${encodeURIComponent('name == "nobody"')}`);
    expect(none.body).toMatchObject({ count: 0, id: [], tags: [], columns: {}, next: null });
  });

  it('names the field of a bad request', async () => {
    expect((await call('GET', '/run-table?columns=oops')).body.error).toEqual({
      code: 'invalid_field',
      message: 'query.columns: must be a JSON array of strings such as ["metadata.re","metrics.loss"]',
    });
    expect(
      (await call('GET', `/run-table?columns=${encodeURIComponent('["name"]')}`)).body.error.message,
    ).toBe("query.columns[0]: 'name' is neither metadata.KEY nor metrics.NAME");
    expect((await call('GET', '/run-table?limit=50001')).body.error.message).toBe(
      "query.limit: must be a whole number from 1 to 50000, got '50001'",
    );
    const bad = await call('GET', '/run-table?filter=status%20%3D%3D');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_filter');
    expect((await call('GET', '/run-table?next=xyz')).body.error.code).toBe('invalid_cursor');
  });
});

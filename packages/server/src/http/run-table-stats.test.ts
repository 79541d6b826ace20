import { describe, expect, it } from 'vitest';
import { appForSuite, BACKENDS } from '../../../../test/fixtures.js';

describe.each(BACKENDS)('run table summaries, paths and folder counts on %s', (backend) => {
  const t = appForSuite(backend);
  const call = (method: string, url: string, payload?: unknown) => t.call(method, url, payload);
  const table = (query: Record<string, string>) =>
    call('GET', `/run-table?${new URLSearchParams(query).toString()}`);

  it('serves last, min, max and mean of a metric, the mean of finite values over every append', async () => {
    for (const [i, name] of ['s-a', 's-b', 's-c'].entries()) {
      t.clock.now += 1_000_000;
      await call('POST', '/runs', {
        name,
        folder: '/stats',
        metadata: { mesh: { nx: 8 * (i + 1), ny: 4 }, re: i },
      });
    }
    await call('POST', '/runs/s-a/metrics', {
      writer: 'w',
      seq: 0,
      series: [{ name: 'res', values: [4, 2] }],
    });
    await call('POST', '/runs/s-a/metrics', {
      writer: 'w',
      seq: 1,
      series: [{ name: 'res', values: [9, 'NaN', 'Infinity', 1] }],
    });
    await call('POST', '/runs/s-b/metrics', { writer: 'w', seq: 0, series: [{ name: 'res', values: [-3] }] });
    const columns = JSON.stringify([
      'metrics.res',
      'last:metrics.res',
      'min:metrics.res',
      'max:metrics.res',
      'mean:metrics.res',
    ]);
    const page = await table({ filter: 'folder == "/stats"', columns });
    expect(page.status).toBe(200);
    expect(page.body.name).toEqual(['s-c', 's-b', 's-a']);
    expect(page.body.columns).toEqual({
      'metrics.res': [null, -3, 1],
      'last:metrics.res': [null, -3, 1],
      'min:metrics.res': [null, -3, 1],
      'max:metrics.res': [null, -3, 'Infinity'],
      'mean:metrics.res': [null, -3, 4],
    });
  });

  it('takes values whose sum passes the largest double, and then has no mean, never a 500', async () => {
    t.clock.now += 1_000_000;
    await call('POST', '/runs', { name: 'huge', folder: '/huge' });
    for (const [seq, values] of [[1.7e308, 1e308], [-9.9792015476736e291, 0], [1.5e308]].entries()) {
      const res = await call('POST', '/runs/huge/metrics', {
        writer: 'w',
        seq,
        series: [{ name: 'h', values }],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    await call('POST', '/runs/huge/metrics', {
      writer: 'w',
      seq: 9,
      series: [{ name: 'ok', values: [1e308, 5e307] }],
    });
    const page = await table({
      filter: 'folder == "/huge"',
      columns: JSON.stringify(['mean:metrics.h', 'mean:metrics.ok', 'max:metrics.h']),
    });
    expect(page.body.columns).toEqual({
      'mean:metrics.h': [null],
      'mean:metrics.ok': [7.5e307],
      'max:metrics.h': [1.7e308],
    });
  });

  it('lists nested metadata as leaf paths and serves them as columns', async () => {
    t.clock.now += 1_000_000;
    await call('POST', '/runs', {
      name: 'p-1',
      folder: '/paths',
      metadata: { mesh: { nx: 64, cells: { total: 4096 } }, solver: 'gmres', list: [1, 2], empty: {} },
    });
    const page = await table({
      filter: 'folder == "/paths"',
      columns: JSON.stringify(['metadata.mesh.cells.total']),
    });
    expect(page.body.metadataKeys).toEqual(['empty', 'list', 'mesh', 'solver']);
    expect(page.body.metadataPaths).toEqual(['empty', 'list', 'mesh.cells.total', 'mesh.nx', 'solver']);
    expect(page.body.columns).toEqual({ 'metadata.mesh.cells.total': [4096] });
  });

  it('counts the runs matching the filter in each folder, on request', async () => {
    for (const [i, folder] of ['/fc/a', '/fc/a', '/fc/a/b', '/fc/c'].entries()) {
      t.clock.now += 1_000_000;
      await call('POST', '/runs', { name: `fc-${i}`, folder, tags: i === 0 ? [] : ['x'] });
    }
    const all = await table({ filter: 'name matches "^fc-"', folderCounts: 'true', limit: '1' });
    expect(all.body.folderCounts).toEqual({ '/fc/a': 2, '/fc/a/b': 1, '/fc/c': 1 });
    const tagged = await table({
      filter: 'name matches "^fc-" and has tag.x',
      folderCounts: 'true',
      limit: '1',
    });
    expect(tagged.body.folderCounts).toEqual({ '/fc/a': 1, '/fc/a/b': 1, '/fc/c': 1 });
    expect((await table({ filter: 'name matches "^fc-"', limit: '1' })).body.folderCounts).toBeUndefined();
    const searched = await call('POST', '/run-table/search', {
      filter: 'name matches "^fc-"',
      limit: 1,
      folderCounts: true,
    });
    expect(searched.body.folderCounts).toEqual({ '/fc/a': 2, '/fc/a/b': 1, '/fc/c': 1 });
  });

  it('refuses unknown summaries and bad flags with 400 naming the field', async () => {
    const bad = await table({ columns: JSON.stringify(['median:metrics.res']) });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('query.columns');
    expect(bad.body.error.message).toContain("'median:metrics.res'");
    const stat = await table({ columns: JSON.stringify(['min:metadata.re']) });
    expect(stat.status).toBe(400);
    const flag = await table({ folderCounts: 'yes' });
    expect(flag.status).toBe(400);
    expect(flag.body.error.message).toContain('query.folderCounts');
  });
});

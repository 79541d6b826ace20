import { describe, expect, it } from 'vitest';
import { appForSuite, BACKENDS } from '../../../../test/fixtures.js';

describe.each(BACKENDS)('GET /alerts/:alert/runs on %s', (backend) => {
  const t = appForSuite(backend);

  const call = (method: string, url: string, payload?: unknown) => t.call(method, url, payload);

  it('lists the runs an alert is attached to by name, the critical ones alone, page by page', async () => {
    for (const name of ['sweep-c', 'sweep-a', 'sweep-b']) {
      expect((await call('POST', '/runs', { name, status: 'running' })).status).toBe(201);
      const attached = await call('POST', `/runs/${name}/alerts`, { name: 'diverged', source: 'user' });
      expect(attached.status).toBe(201);
    }
    for (const name of ['sweep-c', 'sweep-a']) {
      const set = await call('PUT', `/runs/${name}/alerts/diverged/state`, {
        state: 'critical',
        message: `${name} blew up`,
      });
      expect(set.status).toBe(200);
    }

    const all = await call('GET', '/alerts/diverged/runs');
    expect(all.status).toBe(200);
    expect(all.body!.items.map((i: any) => [i.run.name, i.state, i.alert.name])).toEqual([
      ['sweep-a', 'critical', 'diverged'],
      ['sweep-b', 'ok', 'diverged'],
      ['sweep-c', 'critical', 'diverged'],
    ]);
    expect(all.body!.next).toBeNull();

    const first = await call('GET', '/alerts/diverged/runs?critical=true&limit=1');
    expect(first.body!.items.map((i: any) => i.run.name)).toEqual(['sweep-a']);
    expect(typeof first.body!.next).toBe('string');
    const second = await call(
      'GET',
      `/alerts/diverged/runs?critical=true&limit=1&next=${encodeURIComponent(first.body!.next)}`,
    );
    expect(second.body!.items.map((i: any) => i.run.name)).toEqual(['sweep-c']);
    expect(second.body!.next).toBeNull();

    const listed = await call('GET', '/alerts?critical=true');
    expect(listed.body!.items.map((a: any) => [a.name, a.runs, a.critical])).toEqual([['diverged', 3, 2]]);
  });

  it('answers 404 for an unknown alert and 400 for a bad flag', async () => {
    const missing = await call('GET', '/alerts/no-such-alert/runs');
    expect(missing.status).toBe(404);
    expect(missing.body!.error.code).toBe('not_found');
    await call('POST', '/alerts', { name: 'quiet', source: 'user' });
    const bad = await call('GET', '/alerts/quiet/runs?critical=yes');
    expect(bad.status).toBe(400);
    expect(bad.body!.error.message).toBe("query.critical: must be 'true' or 'false', got 'yes'");
    const none = await call('GET', '/alerts/quiet/runs');
    expect(none.body).toEqual({ items: [], next: null });
  });
});

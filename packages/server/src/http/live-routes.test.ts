import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openTestApp } from '../../../../test/fixtures.js';

interface Sse {
  events: { event: string; data: any }[];
  next(type: string, match?: (data: any) => boolean): Promise<any>;
  close(): void;
}

/** Reads a server-sent event stream with fetch, as the web UI does (a token header, no EventSource). */
async function openStream(url: string, token: string): Promise<Sse> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const events: { event: string; data: any }[] = [];
  const waiters: (() => void)[] = [];
  (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          cut = buffer.indexOf('\n\n');
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
          for (const w of waiters.splice(0)) w();
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    events,
    async next(type, match = () => true) {
      const deadline = Date.now() + 5000;
      for (;;) {
        const found = events.find((e) => e.event === type && match(e.data));
        if (found) {
          events.splice(events.indexOf(found), 1);
          return found.data;
        }
        if (Date.now() > deadline) throw new Error(`no '${type}' event; got ${JSON.stringify(events)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
    close: () => abort.abort(),
  };
}

describe.each(BACKENDS)('live changes on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let base: string;
  const token = 'ssk_test_admin_token_000000000000000000000';
  beforeAll(async () => {
    t = await openTestApp(backend);
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await t.close();
  });
  const post = (url: string, body: unknown, method = 'POST') =>
    fetch(`${base}/api/v1${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('streams runs created and changed, metric names and events as they arrive', async () => {
    const all = await openStream(`${base}/api/v1/live`, token);
    expect((await all.next('ready')).workspace).toMatch(/^[\w-]{16}$/);
    const created: any = await (await post('/runs', { name: 'live-a', folder: '/live' })).json();
    const seen = await all.next('run', (d) => d.run.name === 'live-a');
    expect(seen.run).toEqual(created);

    const one = await openStream(`${base}/api/v1/live?runs=live-a`, token);
    await one.next('ready');
    expect(
      (
        await post('/runs/live-a/metrics', {
          writer: 'w',
          seq: 0,
          series: [{ name: 'loss', values: [1, 2] }],
        })
      ).status,
    ).toBe(200);
    expect(
      (await post('/runs/live-a/metrics', { writer: 'w', seq: 1, series: [{ name: 'acc', values: [3] }] }))
        .status,
    ).toBe(200);
    // Two batches within one interval come as one message naming both metrics.
    const metrics = await one.next('metrics');
    expect(metrics).toEqual({ type: 'metrics', run: created.id, names: ['loss', 'acc'] });
    await post('/runs/live-a/events', { writer: 'w', seq: 0, events: [{ message: '<b>hi</b>' }] });
    expect(await one.next('events')).toEqual({ type: 'events', run: created.id });
    const patched: any = await (await post('/runs/live-a', { status: 'completed' }, 'PATCH')).json();
    expect((await one.next('run')).run).toEqual(patched);
    expect(patched.status).toBe('completed');

    // A run outside the filter reaches the workspace stream, not the filtered one.
    await post('/runs', { name: 'live-b' });
    await all.next('run', (d) => d.run.name === 'live-b');
    await new Promise((r) => setTimeout(r, 400));
    expect(one.events.filter((e) => e.event === 'run' && e.data.run.name === 'live-b')).toEqual([]);
    // A failed write publishes nothing.
    expect(
      (await post('/runs/live-a/metrics', { writer: 'w', seq: 2, series: [{ name: 'x' }] })).status,
    ).toBe(400);
    await new Promise((r) => setTimeout(r, 400));
    expect(one.events.filter((e) => e.event === 'metrics')).toEqual([]);
    all.close();
    one.close();
  });

  it('refuses the stream without a token', async () => {
    const res = await fetch(`${base}/api/v1/live`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe('unauthorized');
  });
});

import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, BACKENDS, openTestStore } from '../../../../test/fixtures.js';
import { bootstrap } from '../bootstrap.js';
import type { Store } from '../store/store.js';
import { createApp } from './app.js';
import { listenMetrics, ServerMetrics } from './metrics.js';

/** The value of one sample line of an exposition text: `name{labels} value`, labels as written by prom-client. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe.each(BACKENDS)('Prometheus metrics on %s', (backend) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let app: FastifyInstance;
  let metrics: ServerMetrics;
  let base: string;
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

  beforeAll(async () => {
    ({ store, cleanup } = await openTestStore(backend));
    await bootstrap(store, Date.now() * 1000, ADMIN_TOKEN);
    metrics = new ServerMetrics();
    app = await createApp({ store, metrics });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
  });

  const post = (url: string, body: unknown) =>
    fetch(`${base}/api/v1${url}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('counts requests, latency, points, events, batches, live streams, leases, the pool and event-loop lag', async () => {
    expect((await post('/runs', { name: 'scraped' })).status).toBe(201);
    const batch = {
      writer: 'w',
      seq: 0,
      series: [
        { name: 'loss', values: [1, 2, 3] },
        { name: 'acc', values: [4, 5] },
      ],
    };
    expect((await post('/runs/scraped/metrics', batch)).status).toBe(200);
    expect((await post('/runs/scraped/metrics', batch)).status).toBe(200); // a replay: nothing stored
    expect(
      (await post('/runs/scraped/metrics', { writer: 'w', seq: 1, series: [{ name: 'loss', values: [9] }] }))
        .status,
    ).toBe(200);
    expect(
      (
        await post('/runs/scraped/events', {
          writer: 'w',
          seq: 0,
          events: [{ message: 'a' }, { message: 'b' }],
        })
      ).status,
    ).toBe(200);
    expect((await fetch(`${base}/api/v1/runs/nope`, { headers: auth })).status).toBe(404);
    const abort = new AbortController();
    const live = await fetch(`${base}/api/v1/live`, { headers: auth, signal: abort.signal });
    expect(live.status).toBe(200);
    metrics.leaseHolder.set({ lease: 'lost-runs' }, 1);

    const scraped = await fetch(`${base}/metrics`, { headers: auth });
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await scraped.text();
    abort.abort();

    expect(
      sample(text, 'simscope_http_requests_total{method="POST",route="/api/v1/runs",status="201"}'),
    ).toBe(1);
    expect(
      sample(
        text,
        'simscope_http_requests_total{method="POST",route="/api/v1/runs/:run/metrics",status="200"}',
      ),
    ).toBe(3);
    expect(
      sample(
        text,
        'simscope_http_requests_total{method="POST",route="/api/v1/runs/:run/events",status="200"}',
      ),
    ).toBe(1);
    expect(
      sample(text, 'simscope_http_requests_total{method="GET",route="/api/v1/runs/:run",status="404"}'),
    ).toBe(1);
    expect(
      sample(
        text,
        'simscope_http_request_duration_seconds_count{method="POST",route="/api/v1/runs/:run/metrics"}',
      ),
    ).toBe(3);
    expect(
      sample(
        text,
        'simscope_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/api/v1/runs/:run/metrics"}',
      ),
    ).toBe(3);
    expect(sample(text, 'simscope_points_ingested_total')).toBe(6);
    expect(sample(text, 'simscope_events_ingested_total')).toBe(2);
    expect(sample(text, 'simscope_ingest_batch_size_count{kind="metrics"}')).toBe(2);
    expect(sample(text, 'simscope_ingest_batch_size_sum{kind="metrics"}')).toBe(6);
    expect(sample(text, 'simscope_ingest_batch_size_bucket{le="1",kind="metrics"}')).toBe(1);
    expect(sample(text, 'simscope_ingest_batch_size_count{kind="events"}')).toBe(1);
    expect(sample(text, 'simscope_live_connections')).toBe(1);
    expect(sample(text, 'simscope_lease_holder{lease="lost-runs"}')).toBe(1);
    expect(sample(text, 'simscope_db_connections{state="open"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'simscope_db_connections{state="idle"}')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'simscope_db_queue_waiting')).toBe(0);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    // Raw URLs never become labels: one series per route pattern.
    expect(text).not.toContain('route="/api/v1/runs/scraped');
  });

  it('asks the main listener for an admin token; the loopback listener needs none', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const made: any = await (
      await post('/admin/tokens', { user: 'admin', name: 'reader', scopes: ['read'] })
    ).json();
    expect(
      (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${made.token}` } })).status,
    ).toBe(403);

    const side = await listenMetrics(metrics, '127.0.0.1', 0);
    try {
      const port = (side.address() as AddressInfo).port;
      const open = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(open.status).toBe(200);
      expect(sample(await open.text(), 'simscope_points_ingested_total')).toBe(6);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      await new Promise((done) => side.close(done));
    }
  });

  it('sends a sane X-Request-Id back and replaces one that is not', async () => {
    const kept = await fetch(`${base}/api/v1/runs/nope`, {
      headers: { ...auth, 'x-request-id': 'trace-42.a' },
    });
    expect(kept.status).toBe(404);
    expect(kept.headers.get('x-request-id')).toBe('trace-42.a');
    const replaced = await fetch(`${base}/api/v1/version`, {
      headers: { 'x-request-id': 'has space\tand tab' },
    });
    expect(replaced.headers.get('x-request-id')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    const fresh = await fetch(`${base}/api/v1/version`);
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(fresh.headers.get('x-request-id')).not.toBe(replaced.headers.get('x-request-id'));
  });
});

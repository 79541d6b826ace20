import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, BACKENDS, openTestStore } from '../../../../test/fixtures.js';
import { LocalBlobStore } from '../blob/local-blob-store.js';
import { bootstrap } from '../bootstrap.js';
import { parseRateLimits } from '../services/rate-limit.js';
import type { Store } from '../store/store.js';
import { createApp } from './app.js';
import { ServerMetrics } from './metrics.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('parseRateLimits', () => {
  it('reads subject.kind=N pairs, sizes for artifact bytes, and nothing as no limits', () => {
    expect(parseRateLimits('token.requests=50, workspace.points=2e6,workspace.artifact_bytes=10GB')).toEqual({
      'token.requests': 50,
      'workspace.points': 2_000_000,
      'workspace.artifact_bytes': 10_000_000_000,
    });
    expect(parseRateLimits(undefined)).toEqual({});
    expect(parseRateLimits('none')).toEqual({});
    expect(() => parseRateLimits('user.requests=5')).toThrow(
      "rate limit: 'user.requests=5' is not SUBJECT.KIND=N with SUBJECT token or workspace and KIND requests, points, artifact_bytes (sizes such as 10GB for artifact_bytes)",
    );
    expect(() => parseRateLimits('token.requests=5MB')).toThrow("rate limit: 'token.requests=5MB' is not");
    expect(() => parseRateLimits('token.points=0')).toThrow('rate limit: token.points must be at least 1');
  });
});

describe.each(BACKENDS)('rate limits on %s', (backend) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let dir: string;
  const apps: FastifyInstance[] = [];
  // Both apps share the clock: 0.25 s into a second, so the requests window ends in 0.75 s (Retry-After: 1).
  const clock = { now: 1_700_000_000_250_000 };

  const open = async (rateLimits: string, metrics?: ServerMetrics) => {
    const app = await createApp({
      store,
      now: () => clock.now,
      rateLimits: parseRateLimits(rateLimits),
      blobs: new LocalBlobStore(dir),
      ...(metrics ? { metrics } : {}),
    });
    apps.push(app);
    return app;
  };
  const call = (app: FastifyInstance, method: string, url: string, payload?: unknown, headers = {}) =>
    app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers: { ...auth, ...headers },
      ...(payload === undefined ? {} : { payload: payload as string }),
    });

  beforeAll(async () => {
    ({ store, cleanup } = await openTestStore(backend));
    dir = mkdtempSync(join(tmpdir(), 'simscope-rate-'));
    await bootstrap(store, clock.now, ADMIN_TOKEN);
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts requests of a token across two server processes and answers 429 with Retry-After', async () => {
    const metrics = new ServerMetrics();
    const a = await open('token.requests=3', metrics);
    const b = await open('token.requests=3');
    clock.now = 1_700_000_100_250_000;
    expect((await call(a, 'GET', '/runs')).statusCode).toBe(200);
    expect((await call(b, 'GET', '/runs')).statusCode).toBe(200);
    expect((await call(a, 'GET', '/runs')).statusCode).toBe(200);
    const refused = await call(b, 'GET', '/runs');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toEqual({
      error: {
        code: 'rate_limited',
        message: 'rate limit token.requests reached; retry in 1 s',
        details: { limit: 'token.requests', retryAfter: 1 },
      },
    });
    const onA = await call(a, 'GET', '/runs');
    expect(onA.statusCode).toBe(429);
    // Requests without a token are not counted.
    expect((await a.inject({ method: 'GET', url: '/api/v1/version' })).statusCode).toBe(200);
    clock.now += 1_000_000;
    expect((await call(b, 'GET', '/runs')).statusCode).toBe(200);
    const text = await metrics.registry.getSingleMetricAsString('simscope_rate_limited_total');
    expect(text).toContain('simscope_rate_limited_total{limit="token.requests"} 1');
  });

  it('refuses a metric batch that would pass the points per second of a workspace, and stores none of it', async () => {
    const app = await open('workspace.points=10');
    clock.now = 1_700_000_200_500_000;
    expect((await call(app, 'POST', '/runs', { name: 'limited' })).statusCode).toBe(201);
    const batch = (seq: number, n: number) => ({
      writer: 'w',
      seq,
      series: [{ name: 'loss', values: Array.from({ length: n }, (_, i) => i) }],
    });
    expect((await call(app, 'POST', '/runs/limited/metrics', batch(0, 6))).statusCode).toBe(200);
    const refused = await call(app, 'POST', '/runs/limited/metrics', batch(1, 6));
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.details).toEqual({ limit: 'workspace.points', retryAfter: 1 });
    expect((await call(app, 'POST', '/runs/limited/metrics', batch(2, 4))).statusCode).toBe(200);
    expect((await call(app, 'POST', '/runs/limited/metrics', batch(3, 1))).statusCode).toBe(429);
    clock.now += 1_000_000;
    // A batch larger than the limit passes alone in an empty window.
    expect((await call(app, 'POST', '/runs/limited/metrics', batch(4, 25))).statusCode).toBe(200);
    const names = await call(app, 'GET', '/runs/limited/metrics');
    expect(names.json().items.map((s: { name: string; count: number }) => [s.name, s.count])).toEqual([
      ['loss', 35],
    ]);
  });

  it('counts artifact bytes per token over an hour', async () => {
    const app = await open('token.artifact_bytes=10');
    clock.now = 1_700_004_000_000_000; // 1,200 s into its hour
    expect((await call(app, 'POST', '/runs', { name: 'files' })).statusCode).toBe(201);
    const put = (name: string) =>
      call(app, 'PUT', `/runs/files/artifacts?name=${name}&category=output`, '12345678', {
        'content-type': 'application/octet-stream',
      });
    expect((await put('a.bin')).statusCode).toBe(201);
    const refused = await put('b.bin');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('2400');
  });

  it('limits nothing by default', async () => {
    const app = await open('');
    for (let i = 0; i < 20; i++) expect((await call(app, 'GET', '/runs')).statusCode).toBe(200);
  });
});

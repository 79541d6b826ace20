import { float64Bytes, int64Bytes, MSGPACK_TYPE } from '@simscope/protocol';
import { Packr, Unpackr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openTestApp } from '../../../../test/fixtures.js';
import { pollHealth, settle } from '../../../../test/health-poller.js';

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** A msgpack metric batch of one series `loss` with steps `0..n-1`. */
function batch(n: number): Buffer {
  const steps = new Float64Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    steps[i] = i;
    values[i] = Math.sin(i / 100);
  }
  return packr.pack({
    writer: 'w',
    seq: 0,
    series: [{ name: 'loss', steps: int64Bytes(steps), values: float64Bytes(values) }],
  });
}

describe.each(BACKENDS)('downsampling limits on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let base: string;
  const big: string[] = [];
  const small: string[] = [];

  const post = async (url: string, body: unknown, type = 'application/json') => {
    const res = await fetch(`${base}/api/v1${url}`, {
      method: 'POST',
      headers: { ...t.auth, 'content-type': type },
      body: type === 'application/json' ? JSON.stringify(body) : (body as Buffer),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    t = await openTestApp(backend);
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    // Ten runs of 1 M points: 10 M points, the default cap; 190 runs of 100 points take them over it.
    const million = batch(1_000_000);
    for (let i = 0; i < 10; i++) {
      const run = await post('/runs', { name: `big-${i}` });
      expect((await post(`/runs/${run.body.id}/metrics`, million, MSGPACK_TYPE)).status).toBe(200);
      big.push(run.body.id);
    }
    const hundred = batch(100);
    for (let i = 0; i < 190; i++) {
      const run = await post('/runs', { name: `small-${i}` });
      expect((await post(`/runs/${run.body.id}/metrics`, hundred, MSGPACK_TYPE)).status).toBe(200);
      small.push(run.body.id);
    }
  }, 120_000);
  afterAll(async () => {
    await t.close();
  });

  // First, while no request has read the blocks: decoding them is part of the work.
  it('keeps /health answering while it scans 10 M points', async () => {
    const poll = pollHealth(`${base}/api/v1/health`);
    await settle();
    const start = performance.now();
    const res = await post('/metrics/downsample', { runs: big, name: 'loss', buckets: 1000 });
    const elapsed = performance.now() - start;
    const health = await poll.stop();
    console.log(
      `${backend}: 10 runs × 1 M points downsampled in ${elapsed.toFixed(0)} ms; /health waited at most ${health.maxMs.toFixed(0)} ms over ${health.polls} polls`,
    );
    expect(res.status).toBe(200);
    expect(res.body.runs.map((r: { count: number[] }) => r.count.reduce((a, b) => a + b, 0))).toEqual(
      Array(10).fill(1_000_000),
    );
    expect(health.polls).toBeGreaterThan(3);
    // Typically 60–150 ms; the margin is for a loaded CI machine (2 cores shared), not for the server.
    expect(health.maxMs).toBeLessThan(300);
  }, 60_000);

  it('refuses the same run named twice, by id or by name', async () => {
    const start = performance.now();
    const same = await post('/metrics/downsample', { runs: Array(1000).fill(big[0]), name: 'loss' });
    const elapsed = performance.now() - start;
    expect(same.status).toBe(400);
    const message = `run '${big[0]}' is named more than once`;
    expect(same.body).toEqual({
      error: {
        code: 'invalid_field',
        message: `body.runs: ${message}`,
        details: { issues: [{ field: 'body.runs', message }] },
      },
    });
    expect(elapsed).toBeLessThan(1000);
    const aliased = await post('/metrics/downsample', { runs: [big[1], 'big-1'], name: 'loss' });
    expect(aliased.status).toBe(400);
    expect(aliased.body).toEqual({
      error: {
        code: 'invalid_field',
        message: `body.runs: 'big-1' and '${big[1]}' name the same run`,
      },
    });
  }, 60_000);

  it('refuses a request over the points it may scan before scanning them', async () => {
    const start = performance.now();
    const over = await post('/metrics/downsample', { runs: [...big, ...small], name: 'loss' });
    const elapsed = performance.now() - start;
    console.log(`${backend}: 200 runs over the cap refused in ${elapsed.toFixed(0)} ms`);
    expect(over.status).toBe(400);
    expect(over.body).toEqual({
      error: {
        code: 'invalid_field',
        message:
          "body.runs: 'loss' of these runs holds 10,019,000 points in [from, to); one request may scan at most 10,000,000 (the server's max_scan_points): ask for fewer runs or a narrower from and to",
        details: { points: 10_019_000, maxScanPoints: 10_000_000 },
      },
    });
    expect(elapsed).toBeLessThan(1000);
    // The same runs over a narrower range fit.
    const narrow = await post('/metrics/downsample', {
      runs: [...big, ...small],
      name: 'loss',
      from: 0,
      to: 100,
      buckets: 10,
    });
    expect(narrow.status).toBe(200);
    expect(narrow.body.runs[0].count).toEqual(Array(10).fill(10));
    expect(narrow.body.runs[199].count).toEqual(Array(10).fill(10));
    const one = await fetch(`${base}/api/v1/runs/big-0/metrics/downsample?name=loss&buckets=4`, {
      headers: t.auth,
    });
    expect(one.status).toBe(200);
    expect(((await one.json()) as { count: number[] }).count).toEqual(Array(4).fill(250_000));
  }, 60_000);

  it('pages a long series by reading only the blocks a page needs', async () => {
    const pages: [number, number, number][] = [];
    let next: string | null = null;
    do {
      const cursor: string = next ? `&next=${encodeURIComponent(next)}` : '';
      const res = await fetch(
        `${base}/api/v1/runs/big-2/metrics/series?name=loss&columns=step&limit=300000${cursor}`,
        { headers: { ...t.auth, accept: MSGPACK_TYPE } },
      );
      expect(res.status).toBe(200);
      const page = unpackr.unpack(Buffer.from(await res.arrayBuffer())) as {
        steps: Uint8Array;
        next: string | null;
      };
      const steps = new BigInt64Array(new Uint8Array(page.steps).slice().buffer);
      pages.push([steps.length, Number(steps[0]), Number(steps[steps.length - 1])]);
      next = page.next;
    } while (next);
    expect(pages).toEqual([
      [300_000, 0, 299_999],
      [300_000, 300_000, 599_999],
      [300_000, 600_000, 899_999],
      [100_000, 900_000, 999_999],
    ]);
  });
});

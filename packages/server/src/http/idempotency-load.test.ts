import { float64Bytes, int64Bytes, MSGPACK_TYPE } from '@simscope/protocol';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openTestApp } from '../../../../test/fixtures.js';
import { pollHealth, settle } from '../../../../test/health-poller.js';

const packr = new Packr({ useRecords: false });

/** A metric batch of `n` points with all four columns as binary: 32 bytes a point. */
function bigBatch(n: number, seq: number, offset = 0): Buffer {
  const steps = new Float64Array(n);
  const times = new Float64Array(n);
  const timestamps = new Float64Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    steps[i] = i;
    times[i] = i / 10;
    timestamps[i] = 1_700_000_000_000_000 + i;
    values[i] = Math.sin(i) + offset;
  }
  return packr.pack({
    writer: 'w-big',
    seq,
    series: [
      {
        name: 'loss',
        steps: int64Bytes(steps),
        times: float64Bytes(times),
        timestamps: int64Bytes(timestamps),
        values: float64Bytes(values),
      },
    ],
  });
}

describe.each(BACKENDS)('Idempotency-Key on a large binary body on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let base: string;
  beforeAll(async () => {
    t = await openTestApp(backend, { sinkRoute: true });
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await t.close();
  });

  it('fingerprints a 32 MB msgpack batch in one pass while /health keeps answering', async () => {
    const created = await fetch(`${base}/api/v1/runs`, {
      method: 'POST',
      headers: { ...t.auth, 'content-type': 'application/json' },
      body: '{}',
    });
    const run = (await created.json()) as { id: string };
    const url = `${base}/api/v1/_sink/runs/${run.id}/metrics`;
    const body = bigBatch(1_000_000, 1);
    expect(body.length).toBeGreaterThan(32_000_000);
    const send = (payload: Buffer, key: string) =>
      fetch(url, {
        method: 'POST',
        headers: { ...t.auth, 'content-type': MSGPACK_TYPE, 'idempotency-key': key },
        body: payload,
      });

    const poll = pollHealth(`${base}/api/v1/health`);
    await settle();
    const start = performance.now();
    const first = await send(body, 'big-1');
    const elapsed = performance.now() - start;
    const health = await poll.stop();
    console.log(
      `${backend}: idempotent 32 MB batch took ${elapsed.toFixed(0)} ms; /health waited at most ${health.maxMs.toFixed(0)} ms over ${health.polls} polls`,
    );
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ stored: false, points: 1_000_000 });
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(elapsed).toBeLessThan(1000);
    expect(health.polls).toBeGreaterThan(3);
    expect(health.maxMs).toBeLessThan(300);

    const replay = await send(body, 'big-1');
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.json()).toEqual({ stored: false, points: 1_000_000 });

    const other = await send(bigBatch(1_000_000, 1, 1), 'big-1');
    expect(other.status).toBe(409);
    expect(await other.json()).toEqual({
      error: { code: 'conflict', message: 'header.idempotency-key: this key was used for another request' },
    });
  }, 120_000);
});

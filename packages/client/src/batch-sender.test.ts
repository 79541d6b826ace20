import type { AddressInfo } from 'node:net';
import { Client, Run } from '@simscope/client';
import { LIMITS, readMetricBatch, timestampsFromOrigin } from '@simscope/protocol';
import { Unpackr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, openTestApp } from '../../../test/fixtures.js';
import { clockMicros, stampClock, withoutClock } from './batch-clock.js';
import { cutBatches, encodeMetricBatch, eventBatchSize, type QueuedEvent } from './batch-sender.js';
import type { DrainedSeries } from './metric-queue.js';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

const event = (message: string): QueuedEvent => ({ message, level: 'info', timestamp: 1 });

describe('metric batches', () => {
  const f64 = (xs: number[]) => Float64Array.from(xs);
  const compact: DrainedSeries = {
    name: 'loss',
    values: f64([0.5, Number.NaN, Infinity, -0]),
    times: f64([0, 0.25, 1e-6, 3600.5]),
    steps: null,
    stepStart: 2 ** 40 + 7,
    timestamps: null,
    timestampOrigin: 1_795_409_461_127_876 + 0.25,
  };
  const explicit: DrainedSeries = {
    name: `π/${'é'.repeat(200)}`,
    values: f64([1, 2]),
    times: f64([5, 6]),
    steps: f64([10, Number.NaN]),
    stepStart: 0,
    timestamps: f64([42, 2 ** 52]),
    timestampOrigin: 0,
  };

  it('decode to the columns that were drained, with steps and timestamps from their rules', () => {
    const body = encodeMetricBatch('writer-1', 2 ** 33, [compact, explicit]);
    const batch = readMetricBatch(unpackr.unpack(body));
    expect(batch.writer).toBe('writer-1');
    expect(batch.seq).toBe(2 ** 33);
    const [a, b] = batch.series;
    expect(a!.name).toBe('loss');
    expect(Array.from(a!.values)).toEqual([0.5, Number.NaN, Infinity, -0]);
    expect(Array.from(a!.times!)).toEqual([0, 0.25, 1e-6, 3600.5]);
    expect(Array.from(a!.steps!)).toEqual([0, 1, 2, 3].map((i) => 2 ** 40 + 7 + i));
    expect(Array.from(a!.timestamps!)).toEqual(
      Array.from(timestampsFromOrigin(compact.timestampOrigin, compact.times)),
    );
    expect(a!.timestamps![3]).toBe(1_795_409_461_127_876 + 3_600_500_000);
    expect(b!.name).toBe(explicit.name);
    expect(Array.from(b!.steps!)).toEqual([10, Number.NaN]);
    expect(Array.from(b!.timestamps!)).toEqual([42, 2 ** 52]);
  });

  it('say when they were sent: stamped at each try, and cut off for the spool', () => {
    const before = clockMicros();
    const body = encodeMetricBatch('w', 3, [explicit]);
    const sent = readMetricBatch(unpackr.unpack(body));
    expect(sent.clock).toBeGreaterThanOrEqual(before);
    expect(sent.clock).toBeLessThanOrEqual(clockMicros());
    stampClock(body, 1_795_409_461_127_876);
    expect(readMetricBatch(unpackr.unpack(body)).clock).toBe(1_795_409_461_127_876);
    const spooled = readMetricBatch(unpackr.unpack(withoutClock(body)));
    expect(spooled.clock).toBe(null);
    expect([spooled.writer, spooled.seq, Array.from(spooled.series[0]!.timestamps!)]).toEqual([
      'w',
      3,
      [42, 2 ** 52],
    ]);
  });

  it('cut a long series into batches whose steps go on from one to the next', () => {
    const [first, second] = cutBatches([compact, explicit], 3);
    expect(first!.map((s) => [s.name, s.stepStart, s.values.length])).toEqual([['loss', 2 ** 40 + 7, 3]]);
    expect(second!.map((s) => [s.name, s.stepStart, s.values.length])).toEqual([
      ['loss', 2 ** 40 + 10, 1],
      [explicit.name, 0, 2],
    ]);
    const decoded = readMetricBatch(unpackr.unpack(encodeMetricBatch('w', 1, second!)));
    expect(decoded.series[0]!.steps![0]).toBe(2 ** 40 + 10);
    expect(decoded.series[0]!.timestamps![0]).toBe(Math.round(compact.timestampOrigin + 3600.5e6));
  });
});

describe('event batches', () => {
  it('hold at most the server limit of events and about 8 MiB of text', () => {
    expect(eventBatchSize([])).toBe(0);
    expect(eventBatchSize(Array.from({ length: 10 }, () => event('x')))).toBe(10);
    expect(eventBatchSize(Array.from({ length: LIMITS.eventsPerBatch + 5 }, () => event('x')))).toBe(
      LIMITS.eventsPerBatch,
    );
    const big = 'y'.repeat(LIMITS.eventMessageLength);
    expect(eventBatchSize(Array.from({ length: 1000 }, () => event(big)))).toBe(127);
  });

  describe('against a server', () => {
    let t: Awaited<ReturnType<typeof openTestApp>>;
    let url: string;
    beforeAll(async () => {
      t = await openTestApp('sqlite');
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    });
    afterAll(() => t.close());

    it('sends more events than one batch may hold, all of them, in order', async () => {
      const run = await new Run()
        .config({
          url,
          token: ADMIN_TOKEN,
          systemInfo: false,
          suppressErrors: false,
          flushIntervalMs: 60_000,
          queueSize: LIMITS.eventsPerBatch * 2,
        })
        .init({ name: 'chatty' });
      const n = LIMITS.eventsPerBatch + 1234;
      for (let i = 0; i < n; i++) run.logEvent(`line ${i}`, { timestamp: 1_700_000_000_000_000 + i });
      expect(await run.close()).toMatchObject({ sentEvents: n, failedEvents: 0 });
      const events = await new Client({ url, token: ADMIN_TOKEN }).getEvents('chatty', { limit: n + 10 });
      expect(events).toHaveLength(n);
      expect(events[0]!.message).toBe('line 0');
      expect(events.at(-1)!.message).toBe(`line ${n - 1}`);
    });
  });
});

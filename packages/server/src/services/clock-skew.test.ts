import { int64Bytes, microsToIso } from '@simscope/protocol';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openTestApp } from '../../../../test/fixtures.js';
import { AlertEngine } from './alert-engine.js';

const S = 1_000_000;
const packr = new Packr({ useRecords: false });

describe.each(BACKENDS)('writer clock skew (%s)', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  beforeAll(async () => {
    t = await openTestApp(backend);
  });
  afterAll(async () => {
    await t.close();
  });

  async function call(method: string, url: string, payload?: unknown) {
    const res = await t.app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers: t.auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
  }

  async function postMsgpack(url: string, body: unknown) {
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1${url}`,
      headers: { ...t.auth, 'content-type': 'application/msgpack' },
      payload: packr.pack(body),
    });
    return { status: res.statusCode, body: JSON.parse(res.body) };
  }

  it('shifts a writer 120.3 s behind onto the server clock, so a metric alert over its points fires', async () => {
    const t0 = Math.floor(Date.now() / 1000) * S;
    t.clock.now = t0;
    const run = (await call('POST', '/runs', { name: `skewed-${backend}` })).body.id as string;
    const added = await call('POST', `/runs/${run}/alerts`, {
      name: `loss high ${backend}`,
      metric: 'loss',
      rule: 'is above',
      threshold: 0.5,
      window: 10,
      frequency: 5,
    });
    expect(added.status).toBe(201);
    const engine = new AlertEngine({ store: t.store, now: () => t.clock.now, graceSeconds: 0 });

    // The writer's clock reads 120.3 s less than the server's; its timestamps come from that clock.
    const skew = 120.3 * S;
    t.clock.now = t0 + 4 * S;
    const posted = await call('POST', `/runs/${run}/metrics`, {
      writer: 'solver-1',
      seq: 0,
      clock: t0 + 4 * S - skew,
      series: [
        { name: 'loss', timestamps: [1, 2, 3, 4].map((i) => t0 + i * S - skew), values: [1, 1, 1, 1] },
      ],
    });
    expect(posted.status).toBe(200);

    t.clock.now = t0 + 5 * S;
    expect(await engine.evaluate()).toEqual({ pairs: 1, slots: 1, transitions: 1 });
    const state = await call('GET', `/runs/${run}/alerts/loss high ${backend}`);
    expect(state.body).toMatchObject({ state: 'critical', value: 1 });

    const series = await call('GET', `/runs/${run}/metrics/series?name=loss&columns=timestamp`);
    expect(series.body.timestamps).toEqual([1, 2, 3, 4].map((i) => t0 + i * S));
    const info = await call('GET', `/runs/${run}`);
    expect(info.body.system.clockSkew).toEqual({
      'solver-1': { offsetMicros: 120_300_000, measured: t0 + 4 * S },
    });
    const events = await call('GET', `/runs/${run}/events`);
    expect(events.body.items).toEqual([
      {
        timestamp: t0 + 4 * S,
        time: microsToIso(t0 + 4 * S),
        level: 'warning',
        message:
          "writer 'solver-1' clock is 2m 0.3s behind the server; its timestamps are shifted by +120.3 s",
      },
    ]);
  });

  it('records the offset once, again when it moves by more than 5 s, and shifts msgpack columns and events', async () => {
    const t0 = Math.floor(Date.now() / 1000) * S;
    t.clock.now = t0;
    const run = (await call('POST', '/runs', { name: `drifting-${backend}` })).body.id as string;
    const ahead = 42 * S;
    const batch = (seq: number, clock: number, stamps: number[]) =>
      postMsgpack(`/runs/${run}/metrics`, {
        writer: 'node-7',
        seq,
        clock,
        series: [
          { name: 'x', timestamps: int64Bytes(Float64Array.from(stamps)), values: stamps.map(() => 2) },
        ],
      });

    t.clock.now = t0 + 1 * S;
    expect((await batch(0, t0 + 1 * S + ahead, [t0 + 1 * S + ahead])).status).toBe(200);
    // 2 s of jitter in the measurement: the recorded offset stays, nothing new is logged.
    t.clock.now = t0 + 2 * S;
    expect((await batch(1, t0 + 2 * S + ahead + 2 * S, [t0 + 2 * S + ahead])).status).toBe(200);
    // A batch without its clock (sent later from the spool) is shifted by the recorded offset.
    t.clock.now = t0 + 3 * S;
    const spooled = await postMsgpack(`/runs/${run}/metrics`, {
      writer: 'node-7',
      seq: 2,
      series: [{ name: 'x', timestamps: int64Bytes(Float64Array.from([t0 + 3 * S + ahead])), values: [2] }],
    });
    expect(spooled.status).toBe(200);
    const eventsPosted = await call('POST', `/runs/${run}/events`, {
      writer: 'node-7',
      seq: 3,
      clock: t0 + 3 * S + ahead,
      events: [{ message: 'step 10 done', timestamp: t0 + 2.5 * S + ahead }],
    });
    expect(eventsPosted.status).toBe(200);

    const series = await call('GET', `/runs/${run}/metrics/series?name=x&columns=timestamp`);
    expect(series.body.timestamps).toEqual([t0 + 1 * S, t0 + 2 * S, t0 + 3 * S]);
    let events = await call('GET', `/runs/${run}/events`);
    expect(
      events.body.items.map((e: { timestamp: number; level: string; message: string }) => [
        e.timestamp,
        e.level,
        e.message,
      ]),
    ).toEqual([
      [
        t0 + 1 * S,
        'warning',
        "writer 'node-7' clock is 42s ahead of the server; its timestamps are shifted by -42 s",
      ],
      [t0 + 2.5 * S, 'info', 'step 10 done'],
    ]);

    // The clock moved 10 s further: recorded and logged again. Then it is set right: back in step.
    t.clock.now = t0 + 10 * S;
    expect((await batch(4, t0 + 10 * S + ahead + 10 * S, [t0 + 10 * S + ahead + 10 * S])).status).toBe(200);
    t.clock.now = t0 + 20 * S;
    expect((await batch(5, t0 + 20 * S + 1 * S, [t0 + 20 * S + 1 * S])).status).toBe(200);
    const info = await call('GET', `/runs/${run}`);
    expect(info.body.system.clockSkew).toEqual({ 'node-7': { offsetMicros: 0, measured: t0 + 20 * S } });
    const after = await call('GET', `/runs/${run}/metrics/series?name=x&columns=timestamp`);
    expect(after.body.timestamps).toEqual([t0 + 1 * S, t0 + 2 * S, t0 + 3 * S, t0 + 10 * S, t0 + 21 * S]);
    events = await call('GET', `/runs/${run}/events?level=warning,info`);
    expect(
      events.body.items.slice(2).map((e: { level: string; message: string }) => [e.level, e.message]),
    ).toEqual([
      ['warning', "writer 'node-7' clock is 52s ahead of the server; its timestamps are shifted by -52 s"],
      [
        'info',
        "writer 'node-7' clock is back in step with the server (within 5 s); its timestamps are no longer shifted",
      ],
    ]);
  });

  it('leaves a writer within 5 s of the server alone', async () => {
    const t0 = Math.floor(Date.now() / 1000) * S;
    t.clock.now = t0;
    const run = (await call('POST', '/runs', { name: `in-step-${backend}` })).body.id as string;
    const posted = await call('POST', `/runs/${run}/metrics`, {
      writer: 'w',
      seq: 0,
      clock: t0 - 4.9 * S,
      series: [{ name: 'x', timestamps: [t0 - 5 * S], values: [1] }],
    });
    expect(posted.status).toBe(200);
    const series = await call('GET', `/runs/${run}/metrics/series?name=x&columns=timestamp`);
    expect(series.body.timestamps).toEqual([t0 - 5 * S]);
    expect((await call('GET', `/runs/${run}`)).body.system).toEqual({});
    expect((await call('GET', `/runs/${run}/events`)).body.items).toEqual([]);
  });

  it('refuses a createdAt or a timestamp more than 5 minutes ahead of the server, naming the field', async () => {
    const t0 = Math.floor(Date.now() / 1000) * S;
    t.clock.now = t0;
    const future = t0 + 600 * S;
    const created = await call('POST', '/runs', { name: `future-${backend}`, createdAt: future });
    expect(created.status).toBe(400);
    expect(created.body.error.code).toBe('invalid_field');
    expect(created.body.error.message).toBe(
      'body.createdAt: 10m 0s ahead of the server clock; at most 5 minutes ahead is accepted',
    );
    const run = (await call('POST', '/runs', { name: `now-${backend}`, createdAt: t0 + 299 * S })).body
      .id as string;

    const metrics = await call('POST', `/runs/${run}/metrics`, {
      writer: 'w',
      seq: 0,
      series: [
        { name: 'a', timestamps: [t0], values: [1] },
        { name: 'b', timestamps: [t0, t0 + 300 * S, future], values: [1, 2, 3] },
      ],
    });
    expect(metrics.status).toBe(400);
    expect(metrics.body.error.message).toBe(
      'body.series[1].timestamps[2]: 10m 0s ahead of the server clock; at most 5 minutes ahead is accepted',
    );
    const events = await call('POST', `/runs/${run}/events`, {
      writer: 'w',
      seq: 1,
      events: [
        { message: 'ok', timestamp: t0 },
        { message: 'from the future', timestamp: future },
      ],
    });
    expect(events.status).toBe(400);
    expect(events.body.error.message).toBe(
      'body.events[1].timestamp: 10m 0s ahead of the server clock; at most 5 minutes ahead is accepted',
    );
    // Nothing of either batch was stored.
    expect((await call('GET', `/runs/${run}/metrics`)).body.items).toEqual([]);
    expect((await call('GET', `/runs/${run}/events`)).body.items).toEqual([]);

    // A writer 10 minutes ahead whose clock says so is shifted back, not refused.
    const shifted = await call('POST', `/runs/${run}/metrics`, {
      writer: 'ahead',
      seq: 0,
      clock: future,
      series: [{ name: 'c', timestamps: [future], values: [1] }],
    });
    expect(shifted.status).toBe(200);
    const series = await call('GET', `/runs/${run}/metrics/series?name=c&columns=timestamp`);
    expect(series.body.timestamps).toEqual([t0]);
  });
});

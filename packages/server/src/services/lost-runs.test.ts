import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS, openTestApp } from '../../../../test/fixtures.js';
import { createApp } from '../http/app.js';
import type { RunRecord } from '../store/store.js';
import { LostRunSweeper } from './run-service.js';

/** Heartbeat timeout of the runs below, in seconds and in microseconds. */
const TIMEOUT_S = 0.2;
const TIMEOUT_US = 200_000;

describe.each(BACKENDS)('lost runs on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let reported: string[][];
  let sweeper: LostRunSweeper;
  beforeEach(async () => {
    t = await openTestApp(backend);
    reported = [];
    sweeper = new LostRunSweeper(t.store, 60_000, (runs) => reported.push(runs.map((r) => r.name)));
  });
  afterEach(async () => {
    sweeper.stop();
    await t.close();
  });

  const call = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => {
    const res = await t.app.inject({
      method,
      url: `/api/v1${url}`,
      headers: t.auth,
      ...(payload === undefined ? {} : { payload }),
    });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> };
  };
  const createRun = async (body: object) => {
    const res = await call('POST', '/runs', body);
    expect(res.status).toBe(201);
    return res.body as { id: string; name: string; started: number };
  };
  const statusOf = async (id: string) => (await call('GET', `/runs/${id}`)).body.status as string;
  const names = (runs: RunRecord[]) => runs.map((r) => r.name);

  it('marks a running run lost once its heartbeat is older than the timeout, not before', async () => {
    const start = t.clock.now;
    const run = await createRun({ name: 'silent', heartbeatTimeout: TIMEOUT_S });
    expect(run.started).toBe(start);
    expect(names(await sweeper.sweep(start + TIMEOUT_US))).toEqual([]);
    expect(await statusOf(run.id)).toBe('running');
    const lost = await sweeper.sweep(start + TIMEOUT_US + 1);
    expect(names(lost)).toEqual(['silent']);
    expect(lost[0]).toMatchObject({ id: run.id, status: 'lost', heartbeatAt: start, endedAt: null });
    expect(reported).toEqual([['silent']]);
    expect(await statusOf(run.id)).toBe('lost');
    expect(names(await sweeper.sweep(start + 10 * TIMEOUT_US))).toEqual([]);
    expect(reported).toEqual([['silent']]);
  });

  it('keeps a run that heartbeats in time running, measuring the timeout from the last beat', async () => {
    const start = t.clock.now;
    const run = await createRun({ name: 'beating', heartbeatTimeout: TIMEOUT_S });
    t.clock.now = start + 150_000;
    expect((await call('POST', `/runs/${run.id}/heartbeat`)).body.status).toBe('running');
    expect(names(await sweeper.sweep(start + 300_000))).toEqual([]);
    expect(await statusOf(run.id)).toBe('running');
    expect((await call('GET', `/runs/${run.id}`)).body.heartbeat).toBe(start + 150_000);
    expect(names(await sweeper.sweep(start + 150_000 + TIMEOUT_US + 1))).toEqual(['beating']);
  });

  it('never marks a run without a timeout, nor one that is created or has ended', async () => {
    const start = t.clock.now;
    const forever = await createRun({ name: 'no-timeout' });
    const pending = await createRun({ name: 'pending', status: 'created', heartbeatTimeout: TIMEOUT_S });
    const done = await createRun({ name: 'done', heartbeatTimeout: TIMEOUT_S });
    expect((await call('PATCH', `/runs/${done.id}`, { status: 'completed' })).body.status).toBe('completed');
    await createRun({ name: 'timed', heartbeatTimeout: TIMEOUT_S });
    const yearLater = start + 365 * 24 * 3600 * 1e6;
    expect(names(await sweeper.sweep(yearLater))).toEqual(['timed']);
    expect(await statusOf(forever.id)).toBe('running');
    expect(await statusOf(pending.id)).toBe('created');
    expect(await statusOf(done.id)).toBe('completed');
  });

  it('makes a lost run running again when it heartbeats, and starts its timeout afresh', async () => {
    const start = t.clock.now;
    const run = await createRun({ name: 'comeback', heartbeatTimeout: TIMEOUT_S });
    expect(names(await sweeper.sweep(start + TIMEOUT_US + 1))).toEqual(['comeback']);
    t.clock.now = start + 5_000_000;
    const beat = await call('POST', `/runs/${run.id}/heartbeat`);
    expect(beat).toEqual({
      status: 200,
      body: { status: 'running', abort: { requested: false, at: null, reason: null } },
    });
    const back = (await call('GET', `/runs/${run.id}`)).body;
    expect(back).toMatchObject({
      status: 'running',
      started: start,
      heartbeat: start + 5_000_000,
      ended: null,
    });
    expect(names(await sweeper.sweep(start + 5_000_000 + TIMEOUT_US))).toEqual([]);
    expect(names(await sweeper.sweep(start + 5_000_000 + TIMEOUT_US + 1))).toEqual(['comeback']);
  });

  it('refuses a heartbeat for an ended run with 409 invalid_transition', async () => {
    const run = await createRun({ name: 'finished', heartbeatTimeout: TIMEOUT_S });
    await call('PATCH', `/runs/${run.id}`, { status: 'completed' });
    const beat = await call('POST', `/runs/${run.id}/heartbeat`);
    expect(beat.status).toBe(409);
    expect(beat.body.error).toEqual({
      code: 'invalid_transition',
      message: "run 'finished' has ended (completed) and takes no heartbeats",
    });
    expect(await statusOf(run.id)).toBe('completed');
  });

  it('marks a silent run lost on its timer in real time while a beating one stays running', async () => {
    const live = await createApp({ store: t.store });
    try {
      const post = (url: string, payload?: object) =>
        live.inject({
          method: 'POST',
          url: `/api/v1${url}`,
          headers: t.auth,
          ...(payload ? { payload } : {}),
        });
      const silent = (await post('/runs', { name: 'real-silent', heartbeatTimeout: TIMEOUT_S })).json();
      const beating = (await post('/runs', { name: 'real-beating', heartbeatTimeout: TIMEOUT_S })).json();
      const marked = new Promise<RunRecord[]>((resolve) => {
        sweeper = new LostRunSweeper(t.store, 50, resolve);
      });
      sweeper.start();
      const beats = setInterval(() => void post(`/runs/${beating.id}/heartbeat`), 40);
      try {
        const lost = await marked;
        const silence = Date.now() * 1000 - silent.started;
        expect(names(lost)).toEqual(['real-silent']);
        expect(silence).toBeGreaterThan(TIMEOUT_US);
        expect(silence).toBeLessThan(5_000_000);
        expect(await statusOf(silent.id)).toBe('lost');
        expect(await statusOf(beating.id)).toBe('running');
      } finally {
        clearInterval(beats);
      }
    } finally {
      await live.close();
    }
  });
});

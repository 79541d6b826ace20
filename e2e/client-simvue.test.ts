// What a Simvue user expects of a run, against a real server in this process: crashed runs go lost, durations
// as text, timestamps as Simvue writes them, errors as events, bounded queues, Simvue's positional arguments.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Run } from '@simscope/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../packages/server/src/blob/local-blob-store.js';
import { LostRunSweeper } from '../packages/server/src/services/run-service.js';
import { ADMIN_TOKEN, openTestApp } from '../test/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'simscope-simvue-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runs as Simvue users expect them', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let url: string;
  let client: Client;
  let errors: string[];
  const config = (more: object = {}) => ({
    url,
    token: ADMIN_TOKEN,
    systemInfo: false,
    spoolDir: join(dir, 'spool'),
    onError: (error: unknown) => errors.push((error as Error).message),
    ...more,
  });
  const newRun = (name: string, more: object = {}, init: object = {}) =>
    new Run().config(config(more)).init({ name, ...init });

  beforeAll(async () => {
    t = await openTestApp('sqlite', { blobs: new LocalBlobStore(join(dir, 'blobs')) });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    client = new Client({ url, token: ADMIN_TOKEN });
  });
  afterAll(async () => {
    await t.close();
  });

  it('asks for a 300 s heartbeat timeout by default, so a crashed run becomes lost; text or null when asked', async () => {
    t.clock.now = Date.now() * 1000;
    const start = t.clock.now;
    const crashed = await newRun('simvue-crashed');
    const minutes = await newRun('simvue-ten-minutes', {}, { heartbeatTimeout: '10m' });
    const never = await newRun('simvue-never-lost', {}, { heartbeatTimeout: null });
    const bare = await t.app.inject({
      method: 'POST',
      url: '/api/v1/runs',
      headers: t.auth,
      payload: { name: 'simvue-bare-api' },
    });
    const timeouts = await Promise.all(
      ['simvue-crashed', 'simvue-ten-minutes', 'simvue-never-lost', 'simvue-bare-api'].map(
        async (name) => (await client.getRun(name)).heartbeatTimeout,
      ),
    );
    expect(timeouts).toEqual([300, 600, null, null]);
    expect(bare.json().heartbeatTimeout).toBe(null);

    // The process dies: no close, no more beats.
    const sweeper = new LostRunSweeper(t.store, 60_000);
    expect((await sweeper.sweep(start + 300_000_000)).map((r) => r.name)).toEqual([]);
    expect((await sweeper.sweep(start + 300_000_001)).map((r) => r.name)).toEqual(['simvue-crashed']);
    expect((await client.getRun('simvue-crashed')).status).toBe('lost');
    expect((await sweeper.sweep(start + 600_000_001)).map((r) => r.name)).toEqual(['simvue-ten-minutes']);
    expect((await client.getRun('simvue-never-lost')).status).toBe('running');
    for (const run of [crashed, minutes, never]) await run.close();
  });

  it('takes a longer default timeout when the heartbeat interval is long', async () => {
    const run = await newRun('simvue-slow-beat', { heartbeatIntervalMs: 120_000 });
    expect((await client.getRun('simvue-slow-beat')).heartbeatTimeout).toBe(480);
    await run.close();
  });

  it('reads alert windows and frequencies given as text, and names the unit when a bare number is seconds', async () => {
    errors = [];
    const run = await newRun('simvue-alert-units');
    const attached = await run.addAlert({
      name: 'quality too low',
      metric: 'quality',
      rule: 'is below',
      threshold: 0.4,
      window: '1m',
      frequency: '1m',
    });
    expect(attached?.alert).toMatchObject({ name: 'quality too low', window: 60, frequency: 60 });
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/v1/alerts',
      headers: t.auth,
      payload: { name: 'bad window', metric: 'q', rule: 'is above', threshold: 1, window: '1 minute' },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toBe(
      "body.window: '1 minute' is not a duration: give seconds as a number, or text such as 30s, 1m, 2h",
    );
    await run.close();
  });

  it('takes token and telemetry key lifetimes as durations too', async () => {
    const token = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/tokens',
      headers: t.auth,
      payload: { user: 'admin', name: 'ci-90d', expiresIn: '90d' },
    });
    expect(token.statusCode).toBe(201);
    expect(token.json().expires).toBe(t.clock.now + 90 * 86_400_000_000);
    const key = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/telemetry/keys',
      headers: t.auth,
      payload: { service: 'intake/catalog', name: 'week', expiresIn: '1w' },
    });
    expect(key.statusCode).toBe(201);
    expect(key.json().expires).toBe(t.clock.now + 604_800_000_000);
  });

  it('logs metrics and events at Simvue timestamps, Dates, ISO text with a zone and microseconds', async () => {
    errors = [];
    const run = await newRun('simvue-timestamps', { sendClock: false });
    run.logMetrics({ q: 1 }, { timestamp: '2021-05-03 14:13:27.281920' });
    run.logMetrics({ q: 2 }, { timestamp: new Date('2021-05-03T14:13:28.5Z') });
    run.logMetrics({ q: 3 }, { timestamp: '2021-05-03T16:13:29+02:00' });
    run.logMetrics({ q: 4 }, { timestamp: 1_620_051_210_000_001 });
    run.logMetrics({ q: 5 }, { timestamp: Date.now() });
    run.logMetrics({ q: 6 }, { timestamp: 'yesterday' });
    run.logEvent('restart read', { timestamp: '2022-01-03 16:42:30.849617' });
    run.logEvent('late', { timestamp: 1_641_228_150 });
    const closed = await run.close();
    expect(closed).toMatchObject({ sentPoints: 4, sentEvents: 1 });
    const [series] = await client.getMetricValues(run.id!, 'q', { xaxis: 'timestamp' });
    expect(Array.from(series!.x)).toEqual([
      1_620_051_207_281_920, 1_620_051_208_500_000, 1_620_051_209_000_000, 1_620_051_210_000_001,
    ]);
    expect(Array.from(series!.values)).toEqual([1, 2, 3, 4]);
    expect((await client.getEvents(run.id!)).map((e) => [e.timestamp, e.message])).toEqual([
      [1_641_228_150_849_617, 'restart read'],
    ]);
    expect(errors).toEqual([
      expect.stringMatching(
        /^logMetrics options\.timestamp: \d+ is not microseconds since the epoch from the year 2000 on \(milliseconds such as Date\.now\(\)\? pass a Date, or Date\.now\(\) \* 1000\)$/,
      ),
      "logMetrics options.timestamp: 'yesterday' is not a timestamp; use ISO 8601 such as '2021-05-03 14:13:27.281920' (UTC) or '2021-05-03T14:13:27+02:00'",
      'logEvent options.timestamp: 1641228150 is not microseconds since the epoch from the year 2000 on (milliseconds such as Date.now()? pass a Date, or Date.now() * 1000)',
    ]);
    const strict = await newRun('simvue-timestamps-strict', { suppressErrors: false });
    expect(() => strict.logMetrics({ q: 1 }, { timestamp: Date.now() })).toThrow(
      /^logMetrics options\.timestamp: \d+ is not microseconds/,
    );
    await strict.close();
  });

  it('logs an Error as its name, message and stack at level error', async () => {
    const run = await newRun('simvue-error-event');
    const error = new RangeError('density out of range');
    run.logEvent(error);
    run.logEvent(new Error('kept at warning'), { level: 'warning' });
    await run.close();
    const events = await client.getEvents(run.id!);
    expect(events.map((e) => [e.level, e.message.split('\n')[0]])).toEqual([
      ['error', 'RangeError: density out of range'],
      ['warning', 'Error: kept at warning'],
    ]);
    expect(events[0]!.message).toBe(error.stack);
    expect(events[0]!.message).toMatch(/\n {4}at /);
  });

  it('bounds the event queue: drops and counts past queueSize, or spools with queueBlocking', async () => {
    const dropping = await newRun('simvue-events-dropped', { queueSize: 3, flushIntervalMs: 3_600_000 });
    for (let i = 0; i < 5; i++) dropping.logEvent(`line ${i}`);
    const dropped = await dropping.close();
    expect(dropped).toMatchObject({ sentEvents: 4, droppedEvents: 2, droppedPoints: 0 });
    expect((await client.getEvents(dropping.id!)).map((e) => e.message)).toEqual([
      'line 0',
      'line 1',
      'line 2',
      'simscope: 2 events were dropped because the event queue was full (queueSize 3)',
    ]);

    const blocking = await newRun('simvue-events-blocking', {
      queueSize: 2,
      queueBlocking: true,
      flushIntervalMs: 3_600_000,
    });
    for (let i = 0; i < 5; i++) blocking.logEvent(`line ${i}`);
    const kept = await blocking.close();
    expect(kept).toMatchObject({ sentEvents: 5, droppedEvents: 0, spooledEvents: 0 });
    expect((await client.getEvents(blocking.id!)).map((e) => e.message)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `line ${i}`),
    );
  });

  it("takes Simvue's positional save arguments, and refuses what JavaScript would ignore", async () => {
    errors = [];
    const file = join(dir, 'in.lj');
    writeFileSync(file, 'units lj\n');
    writeFileSync(join(dir, 'out.dat'), '1 2 3\n');
    const run = await newRun('simvue-positional');
    expect(await run.save(file, 'input', 'text/plain')).toMatchObject({
      name: 'in.lj',
      category: 'input',
      mimeType: 'text/plain',
    });
    expect(await run.save(join(dir, 'out.dat'), 'output', 'text/plain', true)).toMatchObject({
      name: join(dir, 'out.dat').slice(1),
      mimeType: 'text/plain',
    });
    expect(await run.save(file, 'input', 42 as never)).toBe(undefined);
    expect(await run.save(file, 'input', {}, true)).toBe(undefined);
    expect(errors).toEqual([
      'run.save options: expected an object or a MIME type, got number; use run.save(path, category, { mimeType, preservePath, … }) or (path, category, mimeType, preservePath)',
      'run.save: preservePath goes in the options object when options are an object; use run.save(path, category, { mimeType, preservePath, … }) or (path, category, mimeType, preservePath)',
    ]);
    expect((await client.listArtifacts(run.id!, 'input')).map((a) => a.name)).toEqual(['in.lj']);
    expect((await client.listArtifacts(run.id!)).length).toBe(2);
    const down = join(dir, 'down');
    expect(await client.getArtifactsAsFiles(run.id!, down, 'input')).toEqual([join(down, 'in.lj')]);
    expect(await client.getArtifactAsFile(run.id!, 'in.lj', join(dir, 'one'))).toBe(
      join(dir, 'one', 'in.lj'),
    );
    await expect(client.listArtifacts(run.id!, 7 as never)).rejects.toThrow(
      'listArtifacts filter: expected an object or a category, got number',
    );
    await run.close();
  });

  it('refuses a second definition under an alert name, naming the call that changes it, and changes it', async () => {
    const run = await newRun('simvue-alert-update', { suppressErrors: false });
    const quality = { name: 'density invalid', metric: 'density', rule: 'is outside range' as const };
    await run.addAlert({ ...quality, rangeLow: 1, rangeHigh: 5, window: 60, frequency: 60 });
    await expect(
      run.addAlert({ ...quality, rangeLow: 1, rangeHigh: 6, window: 60, frequency: 60 }),
    ).rejects.toThrow(
      "body.rangeHigh: an alert named 'density invalid' already exists with another rangeHigh; change it with run.updateAlert('density invalid', changes) or PATCH /alerts/density%20invalid, or use another name",
    );
    const updated = await run.updateAlert('density invalid', { rangeHigh: 6, window: '2m' });
    expect(updated).toMatchObject({
      name: 'density invalid',
      rangeLow: 1,
      rangeHigh: 6,
      window: 120,
      frequency: 60,
    });
    const again = await run.addAlert({ ...quality, rangeLow: 1, rangeHigh: 6, window: 120, frequency: 60 });
    expect(again?.alert.rangeHigh).toBe(6);
    await run.close();
  });
});

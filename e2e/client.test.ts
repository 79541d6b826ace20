import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, ClientError, Run, withRun } from '@simscope/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, openTestApp } from '../test/fixtures.js';

const spoolDir = mkdtempSync(join(tmpdir(), 'simscope-spool-'));
const quiet = { systemInfo: false, onError: () => {}, spoolDir };
afterAll(() => rmSync(spoolDir, { recursive: true, force: true }));

describe('client against an in-process server', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let url: string;
  let client: Client;
  const connection = () => ({ url, token: ADMIN_TOKEN });

  beforeAll(async () => {
    t = await openTestApp('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    client = new Client(connection());
  });
  afterAll(async () => {
    await t.close();
  });

  it('runs the tracking scenario end to end and reads every value back exactly', async () => {
    t.clock.now = Date.now() * 1000;
    const run = await new Run().config({ ...connection(), ...quiet, suppressErrors: false }).init({
      name: 'cavity-re100',
      metadata: { re: 100, solver: 'piso', converged: false },
      tags: ['cfd', 'baseline'],
      description: 'Lid-driven cavity at Re 100',
      folder: '/tests/cavity',
    });
    await run.updateTags(['unconverged']);
    await run.updateMetadata({ converged: null, residual_target: 1e-6 });
    await run.folderDetails('/tests', {
      metadata: { owner: 'ada' },
      tags: ['nightly'],
      description: 'Test runs',
    });
    run.logMetrics({ parameter1: 1.2, parameter2: 3.5 });
    run.logMetrics({ parameter1: 1.3 }, { timestamp: 1_620_051_207_281_920 });
    run.logMetrics({ parameter1: 1.4 }, { time: 42.5, step: 10 });
    run.logMetrics({ parameter1: Number.NaN, parameter2: Number.POSITIVE_INFINITY });
    run.logEvent('Solver started');
    run.logEvent('Diverged at step 3', { level: 'error', timestamp: 1_641_228_150_849_617 });
    const closed = await run.close();
    expect(closed).toMatchObject({
      status: 'completed',
      sentPoints: 6,
      sentEvents: 2,
      droppedPoints: 0,
      failedPoints: 0,
    });

    const info = await client.getRun('cavity-re100');
    expect(info).toMatchObject({
      id: run.id,
      folder: '/tests/cavity',
      description: 'Lid-driven cavity at Re 100',
      tags: ['cfd', 'baseline', 'unconverged'],
      metadata: { re: 100, solver: 'piso', residual_target: 1e-6 },
      status: 'completed',
    });
    expect(info.metadata).not.toHaveProperty('converged');
    const folder = (await client.getFolders({ prefix: '/tests' })).find((f) => f.path === '/tests');
    expect(folder).toMatchObject({ metadata: { owner: 'ada' }, tags: ['nightly'], description: 'Test runs' });
    expect((await client.getMetricNames(run.id!)).map((m) => [m.name, m.count])).toEqual([
      ['parameter1', 4],
      ['parameter2', 2],
    ]);
    const [byStep] = await client.getMetricValues(run.id!, 'parameter1');
    expect(Array.from(byStep!.x)).toEqual([0, 1, 10, 11]);
    expect(Array.from(byStep!.values)).toEqual([1.2, 1.3, 1.4, Number.NaN]);
    const [byTime] = await client.getMetricValues(run.id!, 'parameter1', { xaxis: 'time' });
    expect(byTime!.x[2]).toBe(42.5);
    expect(byTime!.x[0]).toBeGreaterThanOrEqual(0);
    expect(byTime!.x[0]).toBeLessThan(5);
    const [byStamp] = await client.getMetricValues(run.id!, 'parameter1', { xaxis: 'timestamp' });
    expect(byStamp!.x[1]).toBe(1_620_051_207_281_920);
    expect(Math.abs(byStamp!.x[0]! - Date.now() * 1000)).toBeLessThan(10_000_000);
    const [p2] = await client.getMetricValues(run.id!, 'parameter2');
    expect(Array.from(p2!.values)).toEqual([3.5, Number.POSITIVE_INFINITY]);
    const events = await client.getEvents(run.id!);
    expect(events.map((e) => [e.message, e.level])).toEqual([
      ['Diverged at step 3', 'error'],
      ['Solver started', 'info'],
    ]);
    expect(events[0]!.timestamp).toBe(1_641_228_150_849_617);
    expect((await client.getEvents(run.id!, { contains: 'started' })).map((e) => e.message)).toEqual([
      'Solver started',
    ]);
  });

  it('drops and counts points when the queue is full, and says so in an event', async () => {
    const run = await new Run()
      .config({ ...connection(), ...quiet, queueSize: 100 })
      .init({ name: 'dropping' });
    for (let i = 0; i < 1000; i++) run.logMetrics({ x: i });
    const closed = await run.close();
    expect(closed).toMatchObject({ droppedPoints: 900, sentPoints: 100 });
    expect((await client.getMetricNames('dropping'))[0]!.count).toBe(100);
    const events = await client.getEvents('dropping', { contains: 'dropped' });
    expect(events.map((e) => e.message)).toEqual([
      'simscope: 900 metric points were dropped because the queue was full (queueSize 100)',
    ]);
  });

  it('drops nothing with queueBlocking: a full queue spills to the spool, which is sent and removed', async () => {
    const run = await new Run()
      .config({ ...connection(), ...quiet, queueSize: 100, queueBlocking: true })
      .init({ name: 'blocking' });
    for (let i = 0; i < 1000; i++) run.logMetrics({ x: i });
    expect(readdirSync(spoolDir).filter((f) => !f.startsWith('.'))).toEqual([run.id]);
    expect(await run.close()).toMatchObject({ droppedPoints: 0, sentPoints: 1000, spooledPoints: 0 });
    expect(readdirSync(spoolDir).filter((f) => !f.startsWith('.'))).toEqual([]);
    const [values] = await client.getMetricValues('blocking', 'x');
    expect(Array.from(values!.values)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('throws a clear error on a bad token with suppressErrors: false, and carries on with true', async () => {
    const bad = { url, token: 'ssk_wrong' };
    await expect(new Run().config({ ...bad, ...quiet, suppressErrors: false }).init()).rejects.toThrow(
      /POST \/runs: 401 invalid token/,
    );
    const errors: unknown[] = [];
    const run = await new Run().config({ ...bad, systemInfo: false, onError: (e) => errors.push(e) }).init();
    expect(run.id).toBeNull();
    run.logMetrics({ x: 1 });
    run.logEvent('still here');
    expect(await run.close()).toMatchObject({ sentPoints: 0, status: null });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ClientError);
    expect((errors[0] as ClientError).status).toBe(401);
  });

  it('ends a scoped run failed with the stack as an event, and picks up a created run with reconnect', async () => {
    await expect(
      withRun({ name: 'scoped', config: { ...connection(), ...quiet } }, async (run) => {
        run.logMetrics({ y: 1 });
        throw new Error('solver diverged');
      }),
    ).rejects.toThrow('solver diverged');
    expect((await client.getRun('scoped')).status).toBe('failed');
    const [event] = await client.getEvents('scoped', { level: ['error'] });
    expect(event!.message).toMatch(/^Error: solver diverged\n\s+at /);

    const queued = await new Run()
      .config({ ...connection(), ...quiet })
      .init({ name: 'queued', running: false });
    expect((await client.getRun('queued')).status).toBe('created');
    await queued.close('terminated').catch(() => undefined);
    const waiting = await new Run()
      .config({ ...connection(), ...quiet })
      .init({ name: 'waiting', running: false });
    const job = await Run.reconnect(waiting.id!, { ...connection(), ...quiet });
    expect((await client.getRun('waiting')).status).toBe('running');
    job.logMetrics({ z: 2 });
    await job.close();
    expect((await client.getRun('waiting')).status).toBe('completed');
  });

  it('follows an abort request: the run ends terminated', async () => {
    const run = await new Run().config({ ...connection(), ...quiet }).init({ name: 'to-abort' });
    await client.getRun('to-abort');
    await fetch(`${url}/api/v1/runs/${run.id}/abort`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'diverging' }),
    });
    expect(await run.pollAbort()).toBe(true);
    await run.close();
    expect((await client.getRun('to-abort')).status).toBe('terminated');
  });
});

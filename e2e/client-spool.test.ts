import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type ClientError, Run } from '@simscope/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/postgres-cluster.js';
import { buildServer, E2E_TOKEN, ServerProcess } from './server-process.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const spools = (dir: string) => readdirSync(dir).filter((f) => !f.startsWith('.'));

describe('client and a server that goes away', () => {
  let home: string;
  let spoolDir: string;
  beforeAll(() => {
    buildServer();
    home = mkdtempSync(join(tmpdir(), 'simscope-spool-e2e-'));
    spoolDir = join(home, 'spool');
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  const options = (url: string, errors: unknown[]) => ({
    url,
    token: E2E_TOKEN,
    systemInfo: false,
    suppressErrors: false,
    onError: (e: unknown) => errors.push(e),
    spoolDir,
  });

  it('loses no point and stores none twice across a SIGKILL of the server mid-run', async () => {
    const port = await freePort();
    let server = await ServerProcess.start({ home, port });
    const errors: unknown[] = [];
    const run = await new Run()
      .config({ ...options(server.url, errors), batchPoints: 500, flushIntervalMs: 20, queueSize: 1_000_000 })
      .init({ name: 'survivor' });
    const n = 6000;
    for (let i = 0; i < n; i++) {
      run.logMetrics({ v: i * 0.5 });
      if (i % 500 === 0) await pause(5);
      if (i === 3000) {
        server.kill('SIGKILL');
        await server.waitForExit();
        setTimeout(async () => {
          server = await ServerProcess.start({ home, port });
        }, 300);
      }
    }
    run.logEvent('after the outage');
    while (!run.id || spools(spoolDir).length > 0 || (await run.flush())!.spooledPoints > 0) await pause(50);
    const closed = await run.close();
    expect(closed).toMatchObject({
      sentPoints: n,
      sentEvents: 1,
      spooledPoints: 0,
      failedPoints: 0,
      droppedPoints: 0,
      status: 'completed',
    });
    expect(errors.length).toBeGreaterThan(0);
    expect((errors[0] as ClientError).message).toMatch(/^server unreachable .*; spooling to /);
    const client = new Client({ url: server.url, token: E2E_TOKEN });
    const [values] = await client.getMetricValues('survivor', 'v');
    expect(Array.from(values!.x)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(Array.from(values!.values)).toEqual(Array.from({ length: n }, (_, i) => i * 0.5));
    expect(spools(spoolDir)).toEqual([]);
    server.kill('SIGTERM');
    await server.waitForExit();
  });

  it('spools a whole run while the server is down from the start, and a later sync uploads it once', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const errors: unknown[] = [];
    const before = Date.now() * 1000;
    const run = await new Run()
      .config({ ...options(url, errors), retries: { total: 1, backoffFactor: 0.01 } })
      .init({
        name: 'spooled-run',
        folder: '/offline/study',
        metadata: { re: 100, solver: 'cg' },
        tags: ['cold'],
        description: 'ran while the server was down',
      });
    expect(run.id).toMatch(/^[A-Za-z0-9_-]{16}$/);
    await run.updateTags(['warm']);
    await run.updateMetadata({ mesh: 64 });
    await run.folderDetails('/offline', { description: 'made offline', tags: ['o'] });
    for (let step = 0; step < 2000; step++) {
      run.logMetrics({ energy: -step, residual: 1 / (step + 1) }, { step: step * 10, time: step * 0.5 });
    }
    run.logEvent('solver started', { level: 'info', timestamp: 1_700_000_000_000_000 });
    run.logEvent('diverging', { level: 'warning', timestamp: 1_700_000_000_000_001 });
    const closed = await run.close();
    expect(closed).toMatchObject({
      status: 'completed',
      sentPoints: 0,
      spooledPoints: 4000,
      spooledEvents: 2,
      droppedPoints: 0,
      failedPoints: 0,
    });
    expect((errors[0] as ClientError).message).toMatch(/^server unreachable .*; run \S+ is spooled/);
    expect(spools(spoolDir)).toEqual([run.id]);
    const copy = join(home, 'spool-copy');
    cpSync(spoolDir, copy, { recursive: true });

    const server = await ServerProcess.start({ home, port });
    const client = new Client({ url, token: E2E_TOKEN, spoolDir });
    const synced = await client.sync();
    expect(synced).toEqual([
      { runId: run.id, outcome: 'synced', points: 4000, events: 2, refused: 0, torn: 0 },
    ]);
    expect(spools(spoolDir)).toEqual([]);
    // The same spool uploaded again stores nothing twice.
    rmSync(spoolDir, { recursive: true, force: true });
    cpSync(copy, spoolDir, { recursive: true });
    expect((await client.sync())[0]).toMatchObject({ outcome: 'synced', points: 4000 });
    expect(await client.sync()).toEqual([]);

    const stored = await client.getRun(run.id!);
    expect(stored).toMatchObject({
      name: 'spooled-run',
      folder: '/offline/study',
      metadata: { re: 100, solver: 'cg', mesh: 64 },
      tags: ['cold', 'warm'],
      description: 'ran while the server was down',
      status: 'completed',
    });
    expect(stored.created).toBeGreaterThanOrEqual(before);
    expect(stored.ended! - stored.created).toBeLessThan(60_000_000);
    const [energy, residual] = await client.getMetricValues(run.id!, ['energy', 'residual']);
    expect(Array.from(energy!.x)).toEqual(Array.from({ length: 2000 }, (_, i) => i * 10));
    expect(Array.from(energy!.values)).toEqual(Array.from({ length: 2000 }, (_, i) => -i));
    expect(Array.from(residual!.values)).toEqual(Array.from({ length: 2000 }, (_, i) => 1 / (i + 1)));
    const [time] = await client.getMetricValues(run.id!, 'energy', { xaxis: 'time' });
    expect(Array.from(time!.x)).toEqual(Array.from({ length: 2000 }, (_, i) => i * 0.5));
    const events = await client.getEvents(run.id!);
    expect(events.map((e) => [e.level, e.message, e.timestamp])).toEqual([
      ['info', 'solver started', 1_700_000_000_000_000],
      ['warning', 'diverging', 1_700_000_000_000_001],
    ]);
    const folder = (await client.getFolders({ prefix: '/offline' })).find((f) => f.path === '/offline');
    expect(folder).toMatchObject({ path: '/offline', description: 'made offline', tags: ['o'] });
    server.kill('SIGTERM');
    await server.waitForExit();
  });

  it("runs offline without a server or a token, and sync leaves another server's spools alone", async () => {
    const errors: unknown[] = [];
    const run = await new Run()
      .config({
        url: 'http://127.0.0.1:9',
        systemInfo: false,
        suppressErrors: false,
        mode: 'offline',
        spoolDir,
      })
      .init({ name: 'offline-run' });
    run.logMetrics({ x: 1 });
    expect(await run.close()).toMatchObject({ status: 'completed', spooledPoints: 1 });
    expect(errors).toEqual([]);
    const server = await ServerProcess.start({ home });
    const client = new Client({ url: server.url, token: E2E_TOKEN, spoolDir });
    expect(await client.sync()).toEqual([
      {
        runId: run.id,
        outcome: 'skipped',
        points: 0,
        events: 0,
        refused: 0,
        torn: 0,
        reason: 'belongs to http://127.0.0.1:9',
      },
    ]);
    expect(spools(spoolDir)).toEqual([run.id]);
    rmSync(spoolDir, { recursive: true, force: true });
    server.kill('SIGTERM');
    await server.waitForExit();
  });
});

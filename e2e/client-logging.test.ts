import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Run } from '@simscope/client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, openTestApp } from '../test/fixtures.js';
import { buildServer, E2E_TOKEN, ServerProcess } from './server-process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('log lines as events', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let url: string;
  let client: Client;
  const newRun = (name: string) =>
    new Run().config({ url, token: ADMIN_TOKEN, systemInfo: false, suppressErrors: false }).init({ name });
  const events = async (run: string) =>
    (await client.getEvents(run)).map((e) => [e.level, e.message, e.timestamp]);

  beforeAll(async () => {
    t = await openTestApp('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    client = new Client({ url, token: ADMIN_TOKEN });
  });
  afterAll(async () => {
    await t.close();
  });

  it('records pino lines written to run.logStream() with their level, time and fields', async () => {
    const run = await newRun('pino-stream');
    const stream = run.logStream({ level: 'info' });
    const logger = pino(
      { level: 'trace', base: undefined, timestamp: () => ',"time":1700000000123' },
      stream,
    );
    logger.debug('not recorded');
    logger.info('solver started');
    logger.warn({ mesh: 64 }, 'coarse mesh');
    logger.fatal('out of memory');
    stream.end();
    await once(stream, 'finish');
    await run.close();
    expect(await events('pino-stream')).toEqual([
      ['info', 'solver started', 1_700_000_000_123_000],
      ['warning', 'coarse mesh {"mesh":64}', 1_700_000_000_123_000],
      ['critical', 'out of memory', 1_700_000_000_123_000],
    ]);
  });

  it('records console output while captured, and prints it as before', async () => {
    const run = await newRun('console');
    // Stand-ins for the console's own methods, to see that captured lines are still printed.
    const printed: string[] = [];
    const saved = { log: console.log, warn: console.warn, error: console.error };
    console.log = (...args: unknown[]) => printed.push(`log ${args.join(' ')}`);
    console.warn = (...args: unknown[]) => printed.push(`warn ${args.join(' ')}`);
    console.error = (...args: unknown[]) => printed.push(`error ${args.join(' ')}`);
    try {
      const release = run.captureConsole();
      console.log('step %d of %d', 1, 10);
      console.warn('dt reduced');
      console.error(new Error('diverged').message);
      release();
      console.log('after release');
    } finally {
      Object.assign(console, saved);
    }
    await run.close();
    expect(printed).toEqual([
      'log step %d of %d 1 10',
      'warn dt reduced',
      'error diverged',
      'log after release',
    ]);
    expect((await events('console')).map(([level, message]) => [level, message])).toEqual([
      ['info', 'step 1 of 10'],
      ['warning', 'dt reduced'],
      ['error', 'diverged'],
    ]);
  });

  it('records lines through the pino transport running in a worker thread', async () => {
    execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-b', 'packages/client/tsconfig.json'], {
      cwd: ROOT,
    });
    buildServer();
    const home = mkdtempSync(join(tmpdir(), 'simscope-pino-'));
    // pino blocks the main thread while a transport ends: the server has to live in another process.
    const server = await ServerProcess.start({ home });
    try {
      const run = await new Run()
        .config({ url: server.url, token: E2E_TOKEN, systemInfo: false, suppressErrors: false })
        .init({ name: 'pino-worker' });
      const transport = pino.transport({
        target: join(ROOT, 'packages', 'client', 'dist', 'pino-transport.js'),
        options: { url: server.url, token: E2E_TOKEN, run: run.id },
      });
      const logger = pino({ base: undefined }, transport);
      for (let i = 0; i < 100; i++) logger.info({ i }, 'tick');
      logger.error('done badly');
      transport.end();
      await once(transport, 'close');
      await run.close();
      const got = (await new Client({ url: server.url, token: E2E_TOKEN }).getEvents('pino-worker')).map(
        (e) => [e.level, e.message],
      );
      expect(got).toHaveLength(101);
      expect(got[0]).toEqual(['info', 'tick {"i":0}']);
      expect(got[100]).toEqual(['error', 'done badly']);
    } finally {
      server.kill('SIGTERM');
      await server.waitForExit();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

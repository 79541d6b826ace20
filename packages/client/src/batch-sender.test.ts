import type { AddressInfo } from 'node:net';
import { Client, Run } from '@simscope/client';
import { LIMITS } from '@simscope/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, openTestApp } from '../../../test/fixtures.js';
import { eventBatchSize, type QueuedEvent } from './batch-sender.js';

const event = (message: string): QueuedEvent => ({ message, level: 'info', timestamp: 1 });

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
        })
        .init({ name: 'chatty' });
      const n = LIMITS.eventsPerBatch + 1234;
      for (let i = 0; i < n; i++) run.logEvent(`line ${i}`, { timestamp: 1_000_000 + i });
      expect(await run.close()).toMatchObject({ sentEvents: n, failedEvents: 0 });
      const events = await new Client({ url, token: ADMIN_TOKEN }).getEvents('chatty', { limit: n + 10 });
      expect(events).toHaveLength(n);
      expect(events[0]!.message).toBe('line 0');
      expect(events.at(-1)!.message).toBe(`line ${n - 1}`);
    });
  });
});

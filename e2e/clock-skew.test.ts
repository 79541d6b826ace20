import type { AddressInfo } from 'node:net';
import { Client, Run } from '@simscope/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap } from '../packages/server/src/bootstrap.js';
import { createApp } from '../packages/server/src/http/app.js';
import { AlertEngine } from '../packages/server/src/services/alert-engine.js';
import { ADMIN_TOKEN, openTestStore } from '../test/fixtures.js';

/** Polls `check` every 50 ms until it returns true, or fails after `ms`. */
async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// The server's clock runs 120 s ahead of this process's: to the server, the client is a node 2 minutes behind.
const SKEW = 120_000_000;
const serverNow = () => Date.now() * 1000 + SKEW;

describe('a client whose clock is 2 minutes behind the server', () => {
  let close: () => Promise<void>;
  let url: string;

  beforeAll(async () => {
    const { store, cleanup } = await openTestStore('sqlite');
    await bootstrap(store, serverNow(), ADMIN_TOKEN);
    const app = await createApp({ store, now: serverNow });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const engine = new AlertEngine({ store, now: serverNow, intervalMs: 50, graceSeconds: 0.1 });
    engine.start();
    close = async () => {
      await engine.stop();
      await app.close();
      await cleanup();
    };
  });
  afterAll(async () => {
    await close();
  });

  it('still fires a metric alert, and the run shows the offset and an event saying so', async () => {
    const run = await new Run()
      .config({ url, token: ADMIN_TOKEN, systemInfo: false, suppressErrors: false, flushIntervalMs: 50 })
      .init({ name: 'skewed-node' });
    await run.addAlert({
      name: 'loss high',
      metric: 'loss',
      rule: 'is above',
      threshold: 1,
      window: 1,
      frequency: 0.2,
    });
    const client = new Client({ url, token: ADMIN_TOKEN });
    await waitFor(
      async () => {
        run.logMetrics({ loss: 5 });
        const [state] = await client.getAlerts({ run: 'skewed-node' });
        return state?.state === 'critical';
      },
      8000,
      'the alert to fire',
    );
    await run.close();

    const info = await client.getRun('skewed-node');
    const writers = Object.entries(info.system.clockSkew as Record<string, { offsetMicros: number }>);
    expect(writers).toHaveLength(1);
    const [writer, skew] = writers[0]!;
    // The measured offset is the skew plus the request's time on the wire.
    expect(skew.offsetMicros).toBeGreaterThanOrEqual(SKEW);
    expect(skew.offsetMicros).toBeLessThan(SKEW + 1_000_000);
    const events = await client.getEvents('skewed-node', { level: ['warning'] });
    expect(events).toHaveLength(1);
    expect(events[0]!.message).toMatch(
      new RegExp(
        `^writer '${writer}' clock is 2m 0(\\.\\d)?s behind the server; its timestamps are shifted by \\+120(\\.\\d)? s$`,
      ),
    );
  });
});

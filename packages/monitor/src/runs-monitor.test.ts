import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { Client, Run } from '@simscope/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, openTestApp } from '../../../test/fixtures.js';
import { startWebhookReceiver } from '../../../test/webhook-receiver.js';
import { main } from '../../cli/src/cli.js';
import { LostRunSweeper } from '../../server/src/services/run-service.js';
import { monitorRuns } from './commands.js';
import { CollectingNotifier } from './notifier.js';
import { RunsMonitor } from './runs-monitor.js';
import type { MonitorWebhookPayload } from './webhook-notifier.js';
import { WebhookNotifier } from './webhook-notifier.js';

// A real server in this process, real runs written by the Node client, a real webhook receiver. The server's
// webhook allow-list is not set: the monitor posts from the user's own process, not from the server.
describe('watching other runs (Scipion ProtMonitor)', () => {
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let url: string;
  let client: Client;
  const runs: Run[] = [];

  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    t = await openTestApp('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    client = new Client({ url, token: ADMIN_TOKEN });
  });
  afterAll(async () => {
    for (const run of runs) await run.close().catch(() => undefined);
    await hooks.close();
    await t.close();
  });

  const start = async (name: string, tags: string[]) => {
    t.clock.now = Date.now() * 1000;
    const run = await new Run()
      .config({ url, token: ADMIN_TOKEN, systemInfo: false, suppressErrors: false })
      .init({ name, tags });
    runs.push(run);
    return run;
  };
  const bodies = () => hooks.requests.map((r) => JSON.parse(r.body) as MonitorWebhookPayload);

  it('notifies when matching runs fail, go lost, or stop reporting a metric, and when it reports again', async () => {
    const failing = await start('rm-failing', ['nightly']);
    const reporting = await start('rm-reporting', ['nightly']);
    await start('rm-other', ['weekly']);
    const silentRun = await client.call('createRun', {
      body: { name: 'rm-silent', tags: ['nightly'], heartbeatTimeout: 0.2 },
    });
    reporting.logMetrics({ loss: 1 });
    await reporting.flush();

    const seen = new CollectingNotifier();
    const monitor = new RunsMonitor({
      client,
      filter: 'tags contains nightly',
      metric: 'loss',
      staleSeconds: '1s',
      samplingSeconds: '0.1s',
      notifiers: [seen, new WebhookNotifier({ url: hooks.url })],
    });
    await monitor.step();
    expect(seen.notifications).toEqual([]);

    await failing.close('failed');
    await client.call('updateRun', {
      params: { run: (await client.getRun('rm-other')).id },
      body: { status: 'failed' },
    });
    const sweeper = new LostRunSweeper(t.store, 60_000, () => undefined);
    expect((await sweeper.sweep(t.clock.now + 10_000_000)).map((r) => r.id)).toEqual([silentRun.id]);
    sweeper.stop();
    await monitor.step();
    expect(seen.notifications.map((n) => n.title)).toEqual([
      'WARNING: run rm-silent is lost',
      'WARNING: run rm-failing is failed',
    ]);
    const failed = await client.getRun('rm-failing');
    expect(seen.notifications[1]?.message).toBe(
      `Run rm-failing (${failed.id}) in /: status failed, last heartbeat ${new Date((failed.heartbeat ?? 0) / 1000).toISOString()}`,
    );
    await monitor.step();
    expect(seen.notifications).toHaveLength(2);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    await monitor.step();
    expect(seen.notifications.map((n) => n.title).slice(2)).toEqual([
      'WARNING: run rm-reporting stopped reporting loss',
    ]);
    expect(seen.notifications[2]?.message).toMatch(
      /^no loss for [12] s \(since \d{4}-.+Z\); the limit is 1 s\. Run rm-reporting /,
    );
    await monitor.step();
    expect(seen.notifications).toHaveLength(3);
    reporting.logMetrics({ loss: 0.5 });
    await reporting.flush();
    await monitor.step();
    expect(seen.notifications.map((n) => n.title).slice(3)).toEqual([
      'OK: run rm-reporting reports loss again',
    ]);
    expect(bodies().map((b) => [b.type, b.title])).toEqual(
      seen.notifications.map((n) => ['monitor.notification', n.title]),
    );
  });

  it('simscope monitor runs: polls with the Node client and posts to the webhook until stopped', async () => {
    hooks.requests.length = 0;
    const run = await start('rm-cli', ['cli-watch']);
    const out: string[] = [];
    const controller = new AbortController();
    const watching = monitorRuns(
      {
        filter: 'tags contains "cli-watch"',
        interval: '0.1s',
        webhook: [hooks.url],
        status: ['failed,terminated'],
      },
      { client, stdout: { write: (s: string) => out.push(s) }, signal: controller.signal, env: {} },
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await run.close('terminated');
    for (let i = 0; i < 50 && hooks.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    expect((await watching).reason).toBe('aborted');
    expect(bodies().map((b) => b.title)).toEqual(['WARNING: run rm-cli is terminated']);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/ WARNING: run rm-cli is terminated: Run rm-cli /);

    // The same through the simscope program itself, as a user types it.
    hooks.requests.length = 0;
    const crashing = await start('rm-program', ['program-watch']);
    const printed: string[] = [];
    const exited = main(
      [
        'monitor',
        'runs',
        '--filter',
        'tags contains "program-watch"',
        '--interval',
        '0.1s',
        '--for',
        '1.5s',
        '--webhook',
        hooks.url,
      ],
      {
        stdout: { write: (text: string) => printed.push(text) },
        stderr: { write: (text: string) => printed.push(text) },
        env: { SIMSCOPE_URL: url, SIMSCOPE_TOKEN: ADMIN_TOKEN },
        cwd: tmpdir(),
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    await crashing.close('failed');
    expect(await exited).toBe(0);
    expect(bodies().map((b) => b.title)).toEqual(['WARNING: run rm-program is failed']);
    expect(printed).toHaveLength(1);
    expect(printed[0]).toMatch(/ WARNING: run rm-program is failed: Run rm-program /);

    const io = { client, env: {}, stdout: { write: () => true } };
    await expect(monitorRuns({ filter: '', status: ['broken'] }, io)).rejects.toThrow(
      "--status: 'broken' is not a run status (created, running, completed, failed, terminated, lost)",
    );
    await expect(monitorRuns({ filter: '', metric: 'loss' }, io)).rejects.toThrow(
      '--stale: give --metric and --stale together',
    );
    await expect(monitorRuns({ filter: '', metric: 'loss', stale: 'soon' }, io)).rejects.toThrow('--stale:');
  });
});

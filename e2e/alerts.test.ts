import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Run } from '@simscope/client';
import { verifyWebhook } from '@simscope/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap } from '../packages/server/src/bootstrap.js';
import { createApp } from '../packages/server/src/http/app.js';
import { AlertEngine } from '../packages/server/src/services/alert-engine.js';
import { EmailNotifier } from '../packages/server/src/services/email-notifier.js';
import { WebhookNotifier } from '../packages/server/src/services/webhook-notifier.js';
import { ADMIN_TOKEN, openTestStore } from '../test/fixtures.js';
import { useNotificationReceivers } from '../test/notification-receivers.js';
import { buildServer, E2E_TOKEN, ServerProcess } from './server-process.js';

const quiet = { systemInfo: false, onError: () => {} };

/** Polls `check` every 50 ms until it returns true, or fails after `ms`. */
async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until the engine has evaluated the run's first alert again after this call, twice over: its next slot
 * passes now plus two periods. What a pass would have sent by mistake has been sent by then.
 */
async function waitForPasses(client: Client, run: string): Promise<void> {
  const from = Date.now() * 1000;
  await waitFor(
    async () => {
      const [state] = await client.getAlerts({ run });
      return state?.next != null && state.next > from + 2 * (state.alert.frequency ?? 0) * 1e6;
    },
    15_000,
    `two more passes of the engine over '${run}'`,
  );
}

const receivers = useNotificationReceivers();

describe('alerts from the client, with the engine on its timer in a listening server', () => {
  let close: () => Promise<void>;
  let url: string;
  const connection = () => ({ url, token: ADMIN_TOKEN });

  beforeAll(async () => {
    const { store, cleanup } = await openTestStore('sqlite');
    await bootstrap(store, Date.now() * 1000, ADMIN_TOKEN);
    const app = await createApp({ store, webhookAllow: ['127.0.0.1/32'] });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const engine = new AlertEngine({
      store,
      intervalMs: 50,
      graceSeconds: 0.1,
      channels: {
        email: new EmailNotifier(
          {
            host: receivers.mail.host,
            port: receivers.mail.port,
            tls: 'none',
            user: null,
            password: null,
            from: 'a@simscope.test',
          },
          url,
        ),
        webhook: new WebhookNotifier({
          secret: 'e2e-secret',
          publicUrl: url,
          webhookAllow: ['127.0.0.1/32'],
        }),
      },
    });
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

  it('aborts the run on critical: the heartbeat sees the request and the run ends terminated', async () => {
    const run = await new Run()
      .config({
        ...connection(),
        ...quiet,
        suppressErrors: false,
        heartbeatIntervalMs: 100,
        flushIntervalMs: 50,
      })
      .init({ name: 'diverging' });
    const added = await run.addAlert({
      name: 'loss exploded',
      metric: 'loss',
      rule: 'is above',
      threshold: 100,
      window: 0.5,
      frequency: 0.2,
      abortOnCritical: true,
      notification: 'webhook',
      webhook: receivers.hooks.url,
    });
    expect(added).toMatchObject({ state: 'ok', run: { id: run.id, name: 'diverging' } });
    let step = 0;
    await waitFor(
      () => {
        run.logMetrics({ loss: 2 ** step++ });
        return run.aborted;
      },
      15_000,
      'the abort request',
    );
    const closed = await run.close();
    expect(closed.status).toBe('terminated');
    const client = new Client(connection());
    const info = await client.getRun('diverging');
    expect(info.status).toBe('terminated');
    expect(info.abort.requested).toBe(true);
    expect(info.abort.reason).toMatch(
      /^alert 'loss exploded' is critical: average of 'loss' over 0\.5 s is \d+/,
    );
    const [state] = await client.getAlerts({ run: 'diverging' });
    expect(state).toMatchObject({ state: 'critical', alert: { name: 'loss exploded' } });
    await waitFor(() => receivers.hooks.requests.length === 1, 5000, 'the webhook');
    const body = receivers.hooks.requests[0]!.body;
    expect(
      await verifyWebhook(
        'e2e-secret',
        body,
        receivers.hooks.requests[0]!.headers['simscope-signature'] as string,
        Math.floor(Date.now() / 1000),
      ),
    ).toBe(true);
    expect(JSON.parse(body)).toMatchObject({ type: 'alert.critical', run: { name: 'diverging' } });
    // The run has ended, so the engine's slots for it stand still: only waiting out several passes (50 ms each)
    // shows that no second webhook comes.
    await new Promise((r) => setTimeout(r, 400));
    expect(receivers.hooks.requests).toHaveLength(1);
  });

  it('round-trips a user alert: logAlert sets it, getAlerts and the history read it back, email goes out once', async () => {
    const run = await new Run()
      .config({ ...connection(), ...quiet, suppressErrors: false })
      .init({ name: 'user-alert' });
    await run.addAlert({
      name: 'mesh quality',
      source: 'user',
      notification: 'email',
      emails: ['cfd@example.org'],
    });
    expect(await run.logAlert('mesh quality', 'critical', 'skewness 0.97 above 0.9')).toMatchObject({
      state: 'critical',
      changed: true,
    });
    expect(await run.logAlert('mesh quality', 'critical')).toMatchObject({
      state: 'critical',
      changed: false,
    });
    const client = new Client(connection());
    const critical = await client.getAlerts({ run: 'user-alert', critical: true });
    expect(critical.map((a) => [a.alert.name, a.state])).toEqual([['mesh quality', 'critical']]);
    const listed = (await client.getAlerts({ critical: true })).find((a) => a.name === 'mesh quality');
    expect(listed).toMatchObject({ source: 'user', runs: 1, critical: 1, emails: ['cfd@example.org'] });
    await run.logAlert('mesh quality', 'ok');
    expect(await client.getAlerts({ run: 'user-alert', critical: true })).toEqual([]);
    const history = await client.getAlertHistory('user-alert', 'mesh quality');
    expect(history.map((h) => [h.from, h.to, h.message])).toEqual([
      ['ok', 'critical', 'skewness 0.97 above 0.9'],
      ['critical', 'ok', 'set ok by the run'],
    ]);
    await waitFor(() => receivers.mail.messages.length === 1, 5000, 'the email');
    expect(receivers.mail.messages[0]).toMatchObject({
      to: ['cfd@example.org'],
      subject: "[Simscope] CRITICAL: alert 'mesh quality' on run 'user-alert'",
    });
    expect(receivers.mail.messages[0]!.text).toContain('skewness 0.97 above 0.9');
    await run.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(receivers.mail.messages).toHaveLength(1);
  });

  it('reports a bad definition through onError, naming the field', async () => {
    const errors: unknown[] = [];
    const run = await new Run()
      .config({ ...connection(), systemInfo: false, onError: (e) => errors.push(e) })
      .init({ name: 'bad-alert' });
    expect(await run.addAlert({ name: 'x', metric: 'm', rule: 'is above' })).toBeNull();
    expect((errors[0] as Error).message).toContain("body.threshold: is required with rule 'is above'");
    await run.close();
  });
});

describe('alerts across a server kill -9 and restart', () => {
  let home: string;
  let server: ServerProcess | undefined;
  beforeAll(() => {
    buildServer();
  });
  afterEach(async () => {
    if (server?.running) server.kill('SIGKILL');
    await server?.waitForExit();
    rmSync(home, { recursive: true, force: true });
  });

  it('keeps the state: no repeated notification after the restart, and the next transition is notified once', async () => {
    home = mkdtempSync(join(tmpdir(), 'simscope-e2e-alerts-'));
    // The receiver listens on loopback, which only an admin's allow-list opens to webhooks.
    const args = [
      '--alert-interval',
      '0.1',
      '--webhook-secret',
      'restart-secret',
      '--webhook-allow',
      '127.0.0.1',
    ];
    server = await ServerProcess.start({ home, args });
    const connection = { url: server.url, token: E2E_TOKEN };
    const run = await new Run()
      .config({ ...connection, ...quiet, suppressErrors: false, flushIntervalMs: 50 })
      .init({ name: 'restarted' });
    await run.addAlert({
      name: 'hot',
      metric: 'temperature',
      rule: 'is above',
      threshold: 50,
      window: 1,
      frequency: 0.5,
      notification: 'webhook',
      webhook: receivers.hooks.url,
      notifyOk: true,
    });
    const client = () => new Client(connection);
    // The server waits 2 s past each slot for late points, so a few seconds pass before it turns critical.
    await waitFor(
      async () => {
        run.logMetrics({ temperature: 80 });
        return receivers.hooks.requests.length >= 1;
      },
      15_000,
      'the critical webhook',
    );
    await run.flush();
    server.kill('SIGKILL');
    await server.waitForExit();
    server = await ServerProcess.start({ home, args, port: Number(new URL(connection.url).port) });
    await waitForPasses(client(), 'restarted');
    expect(receivers.hooks.requests.map((r) => JSON.parse(r.body).type)).toEqual(['alert.critical']);
    const [state] = await client().getAlerts({ run: 'restarted' });
    expect(state?.state).toBe('critical');
    await waitFor(
      async () => {
        run.logMetrics({ temperature: 20 });
        return receivers.hooks.requests.length >= 2;
      },
      15_000,
      'the ok webhook',
    );
    await waitForPasses(client(), 'restarted');
    expect(receivers.hooks.requests.map((r) => JSON.parse(r.body).type)).toEqual([
      'alert.critical',
      'alert.ok',
    ]);
    const deliveries = receivers.hooks.requests.map((r) => r.headers['simscope-delivery']);
    expect(new Set(deliveries).size).toBe(2);
    await run.close();
  });
});

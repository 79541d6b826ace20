import type { AddressInfo } from 'node:net';
import { Client, Run } from '@simscope/client';
import { verifyWebhook } from '@simscope/protocol';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, openTestApp } from '../../../test/fixtures.js';
import { useNotificationReceivers } from '../../../test/notification-receivers.js';
import { EmailNotifier } from './email-notifier.js';
import { ConsoleNotifier, RunNotifier } from './notifier.js';
import { WebhookNotifier } from './webhook-notifier.js';

const receivers = useNotificationReceivers();

describe('notifiers', () => {
  it('EmailNotifier sends through a real SMTP server', async () => {
    const email = new EmailNotifier({
      smtp: {
        host: receivers.mail.host,
        port: receivers.mail.port,
        tls: 'none',
        from: 'monitor@simscope.test',
      },
      to: ['ops@example.org', 'ada@example.org'],
    });
    await email.notify('WARNING: only 1.00 GiB left for /scratch', 'Free: 1.00 GiB, Total: 100.00 GiB');
    await email.close();
    expect(receivers.mail.messages).toHaveLength(1);
    expect(receivers.mail.messages[0]).toMatchObject({
      from: 'monitor@simscope.test',
      to: ['ops@example.org', 'ada@example.org'],
      subject: '[Simscope monitor] WARNING: only 1.00 GiB left for /scratch',
    });
    expect(receivers.mail.messages[0]!.text).toContain('Free: 1.00 GiB, Total: 100.00 GiB');
  });

  it('WebhookNotifier posts signed JSON, retries a 5xx and gives up on a 4xx', async () => {
    const hook = new WebhookNotifier({ url: receivers.hooks.url, secret: 's3cret', backoffMs: 10 });
    receivers.hooks.statuses = [502, 503];
    await hook.notify('INFO', 'hello');
    expect(receivers.hooks.requests.map((r) => r.status)).toEqual([502, 503, 200]);
    const last = receivers.hooks.requests[2]!;
    const body = JSON.parse(last.body);
    expect(body).toMatchObject({ type: 'monitor.notification', title: 'INFO', message: 'hello' });
    expect(new Set(receivers.hooks.requests.map((r) => r.headers['simscope-delivery']))).toEqual(
      new Set([body.delivery]),
    );
    expect(
      await verifyWebhook(
        's3cret',
        last.body,
        last.headers['simscope-signature'] as string,
        Math.floor(Date.now() / 1000),
      ),
    ).toBe(true);
    receivers.hooks.statuses = [403];
    await expect(hook.notify('INFO', 'denied')).rejects.toThrow(`POST ${receivers.hooks.url}: answered 403`);
    expect(receivers.hooks.requests).toHaveLength(4);
    const closed = new WebhookNotifier({ url: 'http://127.0.0.1:1/x', retries: 1, backoffMs: 10 });
    await expect(closed.notify('INFO', 'nobody there')).rejects.toThrow('POST http://127.0.0.1:1/x:');
  });

  it('ConsoleNotifier writes one line per notification', () => {
    const lines: string[] = [];
    new ConsoleNotifier({ write: (t: string) => lines.push(t) }).notify('INFO', 'alive');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO: alive\n$/);
  });

  it('RunNotifier logs events to a real Simscope run', async () => {
    const t = await openTestApp('sqlite');
    try {
      t.clock.now = Date.now() * 1000;
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      const url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      const run = await new Run()
        .config({ url, token: ADMIN_TOKEN, systemInfo: false, suppressErrors: false })
        .init({ name: 'monitored' });
      const notifier = new RunNotifier(run);
      notifier.notify('WARNING: only 2.00 GiB left for /data', 'Free: 2.00 GiB');
      notifier.notify('INFO', 'sampling');
      await run.close();
      const events = await new Client({ url, token: ADMIN_TOKEN }).getEvents('monitored');
      expect(events.map((e) => [e.level, e.message])).toEqual([
        ['warning', 'WARNING: only 2.00 GiB left for /data: Free: 2.00 GiB'],
        ['info', 'INFO: sampling'],
      ]);
    } finally {
      await t.close();
    }
  });
});

import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startMailServer } from './mail-server.js';
import { startWebhookReceiver } from './webhook-receiver.js';

export interface NotificationReceivers {
  mail: Awaited<ReturnType<typeof startMailServer>>;
  hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
}

/**
 * A real SMTP server and a real webhook receiver on loopback for the tests of this file: started before them,
 * emptied (and answering 200 again) before each one, stopped after them. Read them once the tests run.
 */
export function useNotificationReceivers(): NotificationReceivers {
  const receivers = {} as NotificationReceivers;
  beforeAll(async () => {
    receivers.mail = await startMailServer();
    receivers.hooks = await startWebhookReceiver();
  });
  afterAll(async () => {
    await receivers.mail?.close();
    await receivers.hooks?.close();
  });
  beforeEach(() => {
    receivers.mail.messages.length = 0;
    receivers.hooks.requests.length = 0;
    receivers.hooks.statuses = [];
  });
  return receivers;
}

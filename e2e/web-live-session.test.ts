import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../test/fixtures.js';
import type { Browser } from './browser.js';
import { startWebApp, type WebApp } from './web-harness.js';

describe('web UI when the server ends its live stream', () => {
  let web: WebApp;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    web = await startWebApp('simscope-web-live-', { liveRecheckMs: 200 });
    ({ base, browser } = web);
  }, 120_000);
  afterAll(async () => {
    await web?.close();
  });

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? undefined : ((await res.json()) as any);
  };

  it('shows that the session ended when its token is revoked, and does not reconnect', async () => {
    await admin('POST', '/admin/users', { name: 'viewer' });
    await admin('POST', '/admin/workspaces/default/members', { user: 'viewer' });
    const token = await admin('POST', '/admin/tokens', { user: 'viewer', name: 'ui' });
    const page = browser.page;
    let liveRequests = 0;
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/v1/live') liveRequests++;
    });

    await page.goto(`${base}/#token=${token.token}`);
    await page.waitForFunction(
      () => (globalThis as any).document.documentElement.dataset.liveReady === 'runs',
    );
    // The page may have opened and dropped a stream or two while it settled (its effects re-run).
    const opened = liveRequests;
    await admin('DELETE', `/admin/tokens/${token.id}`);

    await page.getByText("Your session ended: token 'ui' has been revoked.").waitFor({ timeout: 3000 });
    // The UI retries a dropped stream after 2 s; a closed one it must leave alone.
    await page.waitForTimeout(2500);
    expect(liveRequests).toBe(opened);
    expect(await page.evaluate(() => (globalThis as any).localStorage.getItem('simscope.token'))).toBe(null);
    expect(await page.getByLabel('Access token').isVisible()).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { webAppForSuite } from './web-harness.js';

describe('web UI when the server ends its live stream', () => {
  const ui = webAppForSuite('simscope-web-live-', { liveRecheckMs: 200 });
  const { admin } = ui;

  it('shows that the session ended when its token is revoked, and does not reconnect', async () => {
    await admin('POST', '/admin/users', { name: 'viewer' });
    await admin('POST', '/admin/workspaces/default/members', { user: 'viewer' });
    const token = await admin('POST', '/admin/tokens', { user: 'viewer', name: 'ui' });
    const page = ui.page;
    let liveRequests = 0;
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/v1/live') liveRequests++;
    });

    await page.goto(`${ui.base}/#token=${token.token}`);
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

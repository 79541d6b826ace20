import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap } from '../packages/server/src/bootstrap.js';
import { createApp } from '../packages/server/src/http/app.js';
import { ADMIN_TOKEN, openTestStore } from '../test/fixtures.js';
import { type Browser, openBrowser } from './browser.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('web UI when the server ends its live stream', () => {
  let webRoot: string;
  let app: FastifyInstance;
  let cleanup: () => Promise<void>;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    // Built into a folder of its own, so this test does not race others over packages/web/dist.
    webRoot = mkdtempSync(join(tmpdir(), 'simscope-web-live-'));
    execFileSync(
      join(ROOT, 'node_modules', '.bin', 'vite'),
      ['build', '--logLevel', 'warn', '--outDir', webRoot, '--emptyOutDir'],
      { cwd: join(ROOT, 'packages', 'web'), stdio: 'pipe' },
    );
    const opened = await openTestStore('sqlite');
    cleanup = opened.cleanup;
    await bootstrap(opened.store, Date.now() * 1000, ADMIN_TOKEN);
    app = await createApp({ store: opened.store, now: () => Date.now() * 1000, liveRecheckMs: 200, webRoot });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await openBrowser(base);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await cleanup?.();
    rmSync(webRoot, { recursive: true, force: true });
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

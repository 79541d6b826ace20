import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { bootstrap } from '../packages/server/src/bootstrap.js';
import { createApp } from '../packages/server/src/http/app.js';
import { ADMIN_TOKEN, forSuite, openTestStore } from '../test/fixtures.js';
import { type Browser, buildWeb, openBrowser } from './browser.js';
import { buildServer, E2E_TOKEN, ServerProcess } from './server-process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The browser tests' desktop and phone viewports. */
export const WIDE = { width: 1440, height: 900 };
export const PHONE = { width: 390, height: 844 };

/** Calls `/api/v1` of the server at `url` as JSON; throws on any status of 300 or more. */
export type Api = (method: string, path: string, body?: unknown) => Promise<any>;

/** An {@link Api} for the server at `url`, signed in with `token`. */
export function apiAt(url: string, token = E2E_TOKEN): Api {
  return async (method, path, body) => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
}

export interface WebServer {
  home: string;
  server: ServerProcess;
  api: Api;
  stop(): Promise<void>;
}

/** Builds the server and the web UI, and starts the server in a fresh home named after `prefix`. */
export async function startWebServer(prefix: string): Promise<WebServer> {
  buildServer();
  buildWeb();
  const home = mkdtempSync(join(tmpdir(), prefix));
  const server = await ServerProcess.start({ home });
  return {
    home,
    server,
    api: apiAt(server.url),
    stop: async () => {
      server.kill();
      await server.waitForExit();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export interface SignedInOptions {
  viewport?: { width: number; height: number };
  /** Playwright's default timeout for the page, in ms. */
  timeout: number;
  /** What the first page shows once signed in. */
  ready: 'navigation' | 'table';
}

/** Chromium at `url`, signed in with the e2e token, once the first page shows. */
export async function openSignedIn(url: string, options: SignedInOptions): Promise<Browser> {
  const browser = await openBrowser(url, options.viewport ?? WIDE);
  const page = browser.page;
  page.setDefaultTimeout(options.timeout);
  await page.goto(`${url}/#token=${E2E_TOKEN}`);
  if (options.ready === 'table') await page.getByRole('table', { name: 'Runs' }).waitFor();
  else await page.getByRole('navigation', { name: 'Main' }).waitFor();
  return browser;
}

/**
 * For one describe block: the web server started, `seed` run against its API, and Chromium signed in on it, all
 * before the tests (within `setupTimeout` ms), and closed after them. Its fields read the open suite.
 */
export function webSuite(
  prefix: string,
  options: SignedInOptions & { setupTimeout: number; seed?(api: Api): Promise<void> },
) {
  const open = forSuite(
    async () => {
      const web = await startWebServer(prefix);
      try {
        await options.seed?.(web.api);
        return { web, browser: await openSignedIn(web.server.url, options) };
      } catch (err) {
        await web.stop();
        throw err;
      }
    },
    async ({ web, browser }) => {
      await browser.close();
      await web.stop();
    },
    options.setupTimeout,
  );
  return {
    /** The server's address, `http://127.0.0.1:port`. */
    get url() {
      return open().web.server.url;
    },
    get api() {
      return open().web.api;
    },
    get browser() {
      return open().browser;
    },
    get page() {
      return open().browser.page;
    },
  };
}

/** Makes a run named `name` in `folder` with the metric `series` (one batch), and gives its id. */
export async function runWithMetrics(
  api: Api,
  run: { name: string; folder: string },
  series: readonly unknown[],
): Promise<string> {
  const { id } = await api('POST', '/runs', run);
  await api('POST', `/runs/${id}/metrics`, { writer: 'w', seq: 0, series });
  return id;
}

export interface WebApp {
  /** The app's address, `http://127.0.0.1:port`. */
  base: string;
  browser: Browser;
  close(): Promise<void>;
}

/**
 * The server in-process over a throwaway SQLite store, with the web UI built into a folder of its own (so the test
 * does not race others over packages/web/dist), the admin token bootstrapped, and Chromium open on it.
 */
export async function startWebApp(
  prefix: string,
  options: Omit<Parameters<typeof createApp>[0], 'store' | 'now' | 'webRoot'> = {},
): Promise<WebApp> {
  const webRoot = mkdtempSync(join(tmpdir(), prefix));
  execFileSync(
    join(ROOT, 'node_modules', '.bin', 'vite'),
    ['build', '--logLevel', 'warn', '--outDir', webRoot, '--emptyOutDir'],
    { cwd: join(ROOT, 'packages', 'web'), stdio: 'pipe' },
  );
  const opened = await openTestStore('sqlite');
  await bootstrap(opened.store, Date.now() * 1000, ADMIN_TOKEN);
  const app = await createApp({ ...options, store: opened.store, now: () => Date.now() * 1000, webRoot });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await openBrowser(base);
  return {
    base,
    browser,
    close: async () => {
      await browser.close();
      await app.close();
      await opened.cleanup();
      rmSync(webRoot, { recursive: true, force: true });
    },
  };
}

/**
 * For one describe block: {@link startWebApp} before its tests (within two minutes), closed after them, with the
 * admin's {@link Api}. Its fields read the open app.
 */
export function webAppForSuite(prefix: string, options: Parameters<typeof startWebApp>[1] = {}) {
  const open = forSuite(
    () => startWebApp(prefix, options),
    (web) => web.close(),
    120_000,
  );
  const admin: Api = (method, path, body) => apiAt(open().base, ADMIN_TOKEN)(method, path, body);
  return {
    /** The app's address, `http://127.0.0.1:port`. */
    get base() {
      return open().base;
    },
    get page() {
      return open().browser.page;
    },
    admin,
  };
}

/** Waits two animation frames, so what the last change drew is on screen. */
export function frames(page: Page): Promise<unknown> {
  return page.evaluate(
    () =>
      new Promise((r) =>
        (globalThis as any).requestAnimationFrame(() => (globalThis as any).requestAnimationFrame(r)),
      ),
  );
}

/**
 * Screenshots `dir/label-1440.png` and `dir/label-390.png`; at 390 px the page must not scroll sideways.
 * `settle` waits for a redraw at 390 px too (charts that size themselves to the page).
 */
export async function screenshots(page: Page, dir: string, label: string, settle = false): Promise<void> {
  await page.setViewportSize(WIDE);
  await frames(page);
  await page.screenshot({ path: join(dir, `${label}-1440.png`) });
  await page.setViewportSize(PHONE);
  await expect
    .poll(() => page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth), {
      message: label,
    })
    .toBeLessThanOrEqual(PHONE.width);
  if (settle) await frames(page);
  await page.screenshot({ path: join(dir, `${label}-390.png`) });
  await page.setViewportSize(WIDE);
}

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, openTestApp } from '../test/fixtures.js';
import { type Browser, buildWeb, openBrowser } from './browser.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WEB_DIST = fileURLToPath(new URL('../packages/web/dist/', import.meta.url));

/** The web UI bundles `@simscope/protocol` from its `dist`: build it, then the UI. */
function buildProtocolAndWeb(): void {
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-b', 'packages/protocol/tsconfig.json'], {
    cwd: ROOT,
    stdio: 'pipe',
  });
  buildWeb();
}

describe('web UI under the server content policy, in Chromium', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let base: string;
  let browser: Browser;
  let page: Page;
  /** Every console message that speaks of the content policy or eval, of any level. */
  const policyMessages: string[] = [];

  beforeAll(async () => {
    buildProtocolAndWeb();
    t = await openTestApp('sqlite', { webRoot: WEB_DIST });
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const api = async (url: string, payload: unknown) => {
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/v1${url}`,
        headers: t.auth,
        payload: payload as string,
      });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(201);
    };
    await api('/runs', { name: 'cavity-re1.5', folder: '/study/v1.2', metadata: { re: 1.5 } });
    browser = await openBrowser(base);
    page = browser.page;
    page.setDefaultTimeout(10_000);
    // A string, not a function: the tests compile without the DOM's types.
    await browser.context.addInitScript(`
      window.__violations = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__violations.push((e.effectiveDirective + ' ' + e.blockedURI + ' ' + e.sample).trim());
      });
    `);
    page.on('console', (m) => {
      if (/unsafe-eval|Content Security Policy|EvalError/i.test(m.text())) policyMessages.push(m.text());
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const violations = () => page.evaluate<string[]>('window.__violations');

  it('loads the UI with no content-policy violation (no eval) and no errors', async () => {
    await page.goto(`${base}/#token=${ADMIN_TOKEN}`);
    await page.getByRole('table', { name: 'Runs' }).waitFor();
    await page.getByRole('link', { name: 'cavity-re1.5' }).waitFor();
    expect(await violations()).toEqual([]);
    expect(policyMessages).toEqual([]);
    expect(browser.errors).toEqual([]);
  });

  it('opens links of runs and folders whose names hold dots', async () => {
    await page.goto(`${base}/runs/cavity-re1.5`);
    await page.getByRole('heading', { name: 'cavity-re1.5' }).waitFor();
    await page.goto(`${base}/folders/study/v1.2`);
    await page.getByRole('heading', { name: 'Folder /study/v1.2' }).waitFor();
    expect(await violations()).toEqual([]);
    expect(policyMessages).toEqual([]);
    expect(browser.errors).toEqual([]);
  });

  it('renders the API docs page under the same policy', async () => {
    const answer = await page.goto(`${base}/api/v1/docs`);
    expect(answer?.status()).toBe(200);
    expect(answer?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    await page.getByRole('heading', { name: 'Simscope API 0.1.0' }).waitFor();
    // The page's own <style> applies: table cells have the 1px border it sets.
    const border = await page.evaluate<string>(
      "getComputedStyle(document.querySelector('td')).borderTopWidth",
    );
    expect(border).toBe('1px');
    expect(await violations()).toEqual([]);
    expect(policyMessages).toEqual([]);
    expect(browser.errors).toEqual([]);
  });
});

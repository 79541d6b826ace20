import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, SCREENSHOTS } from '../browser.js';
import { type Api, openSignedIn, startWebServer, type WebServer } from '../web-harness.js';

const N = 1000;
const SECOND = 1_000_000;
const T0 = Math.floor(Date.now() / 1000 - 7200) * SECOND;
const EVENTS = 1_000_000;
const BATCH = 100_000;
const METRICS = ['residual/p', 'residual/u', 'residual/v', 'dt', 'cells', 'pressure'];

// Timing: runs alone (vitest.watchdog.config.ts), so that no other browser test shares the CPU.
describe('event markers of a run with a million events on six charts', () => {
  let web: WebServer;
  let api: Api;
  let browser: Browser;
  let page: Page;
  let runId: string;

  const card = (metric: string) => page.locator(`figure.chart-card[data-metric="${metric}"]`);

  beforeAll(async () => {
    web = await startWebServer('simscope-timing-markers-');
    api = web.api;
    const run = await api('POST', '/runs', { name: 'chatty', folder: '/timing' });
    runId = run.id;
    await api('POST', `/runs/${runId}/metrics`, {
      writer: 'w',
      seq: 0,
      series: METRICS.map((name, m) => ({
        name,
        values: Array.from({ length: N }, (_, i) => Math.sin(i / 50 + m) + 2),
        timestamps: Array.from({ length: N }, (_, i) => T0 + i * SECOND),
      })),
    });
    // A million events spread over the metrics' 1000 seconds.
    for (let start = 0, seq = 0; start < EVENTS; start += BATCH, seq++) {
      await api('POST', `/runs/${runId}/events`, {
        writer: 'w',
        seq,
        events: Array.from({ length: BATCH }, (_, k) => ({
          message: `tick ${start + k}`,
          timestamp: T0 + Math.floor(((start + k) * 999 * SECOND) / EVENTS),
        })),
      });
    }
    browser = await openSignedIn(web.server.url, { timeout: 30_000, ready: 'table' });
    page = browser.page;
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  it('turns the markers on and filters them with no task over 200 ms', async () => {
    await page.goto(`${web.server.url}/runs/${runId}?tab=metrics&events=0`);
    await card('pressure').scrollIntoViewIfNeeded();
    await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    for (const name of METRICS) await expect.poll(() => card(name).getAttribute('data-state')).toBe('drawn');

    await page.evaluate(() => {
      const w = globalThis as any;
      w.longTasks = [];
      new w.PerformanceObserver((list: any) => {
        for (const e of list.getEntries()) w.longTasks.push(e.duration);
      }).observe({ entryTypes: ['longtask'] });
    });
    await page.getByRole('checkbox', { name: 'event markers' }).check();
    for (const name of METRICS) {
      await expect.poll(() => card(name).getAttribute('data-markers'), { timeout: 30_000 }).toBe('500');
    }
    // One page of events (1000, the server's largest) is asked for: the rest is "more", at least 500.
    expect(await card('dt').getByTestId('marker-note').textContent()).toBe(
      '500 events · 500+ more not drawn (filter or zoom in)',
    );
    // "tick 99999", "tick 999990" … "tick 999999": 11 events.
    await page.getByLabel('events containing').fill('tick 99999');
    for (const name of METRICS) {
      await expect.poll(() => card(name).getAttribute('data-markers'), { timeout: 30_000 }).toBe('11');
    }
    expect(await card('dt').getByTestId('marker-note').textContent()).toBe('11 events');
    await page.waitForTimeout(300);
    const longTasks: number[] = await page.evaluate(() => (globalThis as any).longTasks);
    expect(longTasks.filter((ms) => ms > 200)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'chart-markers-1m-1440.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(SCREENSHOTS, 'chart-markers-1m-390.png') });
    expect(browser.errors).toEqual([]);
  });
});

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCREENSHOTS } from '../browser.js';
import { runWithMetrics, webSuite } from '../web-harness.js';

const N = 1000;
const SECOND = 1_000_000;
const T0 = Math.floor(Date.now() / 1000 - 7200) * SECOND;
const EVENTS = 1_000_000;
const BATCH = 100_000;
const METRICS = ['residual/p', 'residual/u', 'residual/v', 'dt', 'cells', 'pressure'];

// Timing: runs alone (vitest.watchdog.config.ts), so that no other browser test shares the CPU.
describe('event markers of a run with a million events on six charts', () => {
  let runId: string;
  const ui = webSuite('simscope-timing-markers-', {
    timeout: 30_000,
    ready: 'table',
    setupTimeout: 600_000,
    seed: async (api) => {
      runId = await runWithMetrics(
        api,
        { name: 'chatty', folder: '/timing' },
        METRICS.map((name, m) => ({
          name,
          values: Array.from({ length: N }, (_, i) => Math.sin(i / 50 + m) + 2),
          timestamps: Array.from({ length: N }, (_, i) => T0 + i * SECOND),
        })),
      );
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
    },
  });

  const card = (metric: string) => ui.page.locator(`figure.chart-card[data-metric="${metric}"]`);

  it('turns the markers on and filters them with no task over 200 ms', async () => {
    await ui.page.goto(`${ui.url}/runs/${runId}?tab=metrics&events=0`);
    await card('pressure').scrollIntoViewIfNeeded();
    await ui.page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    for (const name of METRICS) await expect.poll(() => card(name).getAttribute('data-state')).toBe('drawn');

    await ui.page.evaluate(() => {
      const w = globalThis as any;
      w.longTasks = [];
      new w.PerformanceObserver((list: any) => {
        for (const e of list.getEntries()) w.longTasks.push(e.duration);
      }).observe({ entryTypes: ['longtask'] });
    });
    await ui.page.getByRole('checkbox', { name: 'event markers' }).check();
    for (const name of METRICS) {
      await expect.poll(() => card(name).getAttribute('data-markers'), { timeout: 30_000 }).toBe('500');
    }
    // One page of events (1000, the server's largest) is asked for: the rest is "more", at least 500.
    expect(await card('dt').getByTestId('marker-note').textContent()).toBe(
      '500 events · 500+ more not drawn (filter or zoom in)',
    );
    // "tick 99999", "tick 999990" … "tick 999999": 11 events.
    await ui.page.getByLabel('events containing').fill('tick 99999');
    for (const name of METRICS) {
      await expect.poll(() => card(name).getAttribute('data-markers'), { timeout: 30_000 }).toBe('11');
    }
    expect(await card('dt').getByTestId('marker-note').textContent()).toBe('11 events');
    await ui.page.waitForTimeout(300);
    const longTasks: number[] = await ui.page.evaluate(() => (globalThis as any).longTasks);
    expect(longTasks.filter((ms) => ms > 200)).toEqual([]);
    await ui.page.screenshot({ path: join(SCREENSHOTS, 'chart-markers-1m-1440.png') });
    await ui.page.setViewportSize({ width: 390, height: 844 });
    await ui.page.screenshot({ path: join(SCREENSHOTS, 'chart-markers-1m-390.png') });
    expect(ui.browser.errors).toEqual([]);
  });
});

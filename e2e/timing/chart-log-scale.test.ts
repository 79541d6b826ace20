import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCREENSHOTS } from '../browser.js';
import { runWithMetrics, webSuite } from '../web-harness.js';

const N = 1000;

/** 1e2 down to 1e-6 in even steps of the exponent, the ends exact. */
const decaying = Array.from({ length: N }, (_, i) =>
  Number((100 * 10 ** ((-8 * i) / (N - 1))).toPrecision(12)),
);

const METRICS: Record<string, number[]> = {
  'residual/p': decaying,
  'residual/u': decaying.map((v) => v / 10),
  'residual/v': decaying.map((v, i) => v * (1 + (i % 7) / 10)),
  dt: Array.from({ length: N }, (_, i) => 0.003 + (i % 5) * 1e-7),
  cells: Array.from({ length: N }, (_, i) => 100_000 + i * 150),
  pressure: Array.from({ length: N }, (_, i) => Math.sin(i / 50)),
};

// Timing: runs alone (vitest.watchdog.config.ts), so that no other browser test shares the CPU.
describe('log scale with six charts on screen', () => {
  let runId: string;
  const ui = webSuite('simscope-timing-', {
    timeout: 15_000,
    ready: 'table',
    setupTimeout: 120_000,
    seed: async (api) => {
      runId = await runWithMetrics(
        api,
        { name: 'log-scale', folder: '/timing' },
        Object.entries(METRICS).map(([name, values]) => ({ name, values })),
      );
    },
  });

  const card = (metric: string) => ui.page.locator(`figure.chart-card[data-metric="${metric}"]`);
  const yTicks = async (metric: string) =>
    ((await card(metric).getAttribute('data-y-ticks')) ?? '').split('|');

  it('turns log scale on with no task over 200 ms and labels the decades', async () => {
    await ui.page.goto(`${ui.url}/runs/${runId}?tab=metrics`);
    const names = Object.keys(METRICS);
    // Every chart made and drawn (the last ones are made as they scroll into view).
    await card('pressure').scrollIntoViewIfNeeded();
    await ui.page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    for (const name of names) await expect.poll(() => card(name).getAttribute('data-state')).toBe('drawn');
    await expect.poll(() => ui.page.locator('figure.chart-card[data-state="drawn"]').count()).toBe(6);
    const before = await Promise.all(names.map((n) => card(n).getAttribute('data-drawn')));

    await ui.page.evaluate(() => {
      const w = globalThis as any;
      w.longTasks = [];
      new (globalThis as any).PerformanceObserver((list: any) => {
        for (const e of list.getEntries()) w.longTasks.push(e.duration);
      }).observe({ entryTypes: ['longtask' as any] });
    });
    await ui.page.getByRole('checkbox', { name: 'log scale' }).check();
    for (const [i, name] of names.entries()) {
      await expect.poll(() => card(name).getAttribute('data-log')).toBe('true');
      await expect.poll(() => card(name).getAttribute('data-drawn')).not.toBe(before[i]);
    }
    await expect
      .poll(() => yTicks('residual/p'))
      .toEqual(['10⁻⁶', '10⁻⁵', '10⁻⁴', '10⁻³', '10⁻²', '10⁻¹', '10⁰', '10¹', '10²']);
    await ui.page.waitForTimeout(300);
    const longTasks: number[] = await ui.page.evaluate(() => (globalThis as any).longTasks);
    expect(longTasks.filter((ms) => ms > 200)).toEqual([]);

    expect(await yTicks('residual/u')).toEqual([
      '10⁻⁷',
      '10⁻⁶',
      '10⁻⁵',
      '10⁻⁴',
      '10⁻³',
      '10⁻²',
      '10⁻¹',
      '10⁰',
      '10¹',
    ]);
    // Values at or below 0 are left out, and the chart says so.
    await expect
      .poll(() => card('pressure').getByTestId('log-hidden').textContent())
      .toBe('values ≤ 0 not drawn on a log scale');
    expect(await card('residual/p').getByTestId('log-hidden').count()).toBe(0);
    for (const t of await yTicks('pressure')) expect(t).toMatch(/^(10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+|[0-9.]+)$/);
    await ui.page.screenshot({ path: join(SCREENSHOTS, 'chart-log-1440.png') });
    await ui.page.setViewportSize({ width: 390, height: 844 });
    await ui.page.screenshot({ path: join(SCREENSHOTS, 'chart-log-390.png') });
    expect(ui.browser.errors).toEqual([]);
  });
});

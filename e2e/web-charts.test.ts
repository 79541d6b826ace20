import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, SCREENSHOTS } from './browser.js';
import { type Api, openSignedIn, startWebServer, type WebServer } from './web-harness.js';

const N = 1000;

describe('metric charts in Chromium', () => {
  let web: WebServer;
  let api: Api;
  let browser: Browser;
  let page: Page;
  let runId: string;

  const card = (metric: string) => page.locator(`figure.chart-card[data-metric="${metric}"]`);
  const ticks = async (metric: string, axis: 'x' | 'y') =>
    ((await card(metric).getAttribute(`data-${axis}-ticks`)) ?? '').split('|');
  const pixels = (metric: string) =>
    card(metric)
      .locator('canvas')
      .evaluate((c: any) => c.toDataURL('image/png'));
  /** Opens the run's metrics with the given query and waits for both charts. */
  const open = async (query = '') => {
    await page.goto(`${web.server.url}/runs/${runId}?tab=metrics${query}`);
    for (const m of ['residual', 'dt', 'cells'])
      await expect.poll(() => card(m).getAttribute('data-drawn')).toMatch(/:buckets:/);
  };
  const shots = async (name: string) => {
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-1440.png`) });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-390.png`) });
    await page.setViewportSize({ width: 1440, height: 900 });
  };

  beforeAll(async () => {
    web = await startWebServer('simscope-charts-e2e-');
    api = web.api;
    const run = await api('POST', '/runs', { name: 'charts', folder: '/charts' });
    runId = run.id;
    await api('POST', `/runs/${runId}/metrics`, {
      writer: 'w',
      seq: 0,
      series: [
        // A residual near 1 with five spikes of 1000.
        {
          name: 'residual',
          values: Array.from({ length: N }, (_, i) => (i % 200 === 100 ? 1000 : 1 + Math.sin(i / 20) * 0.2)),
          times: Array.from({ length: N }, (_, i) => i * 1.2),
        },
        { name: 'dt', values: Array.from({ length: N }, (_, i) => 0.003 + (i % 5) * 1e-7) },
        { name: 'cells', values: Array.from({ length: N }, (_, i) => 100_000 + i * 150) },
      ],
    });
    browser = await openSignedIn(web.server.url, { timeout: 15_000, ready: 'table' });
    page = browser.page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  it('turns log scale on for one chart only', async () => {
    await open();
    await page.getByRole('button', { name: 'Log scale for cells' }).click();
    await expect.poll(() => card('cells').getAttribute('data-log')).toBe('true');
    await expect.poll(() => ticks('cells', 'y')).toEqual(['10⁵', '200,000', '500,000', '10⁶']);
    expect(await card('dt').getAttribute('data-log')).toBe('false');
    expect(await card('residual').getAttribute('data-log')).toBe('false');
    await shots('chart-own-log');
  });

  it('labels near-constant values with enough digits, and sizes the axis to labels of 100,000 and more', async () => {
    await open();
    const dt = await ticks('dt', 'y');
    expect(dt.length).toBeGreaterThan(2);
    expect(new Set(dt).size).toBe(dt.length);
    for (const t of dt) expect(t).toMatch(/^0\.00300\d+$/);
    const cells = await ticks('cells', 'y');
    expect(cells.at(-1)).toMatch(/^2\d\d,\d{3}$/);
    // The plot starts right of the widest label: nothing is cut off.
    const { left, widest } = await card('cells').evaluate((el, labels) => {
      const ctx = (globalThis as any).document.createElement('canvas').getContext('2d')!;
      ctx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
      const over = el.querySelector('.u-over') as any;
      return {
        left: Number.parseFloat(over.style.left),
        widest: Math.max(...labels.map((l) => ctx.measureText(l).width)),
      };
    }, cells);
    expect(left).toBeGreaterThan(widest + 10);
  });

  it('ticks time since start in round steps, and dates as the rest of the UI writes them', async () => {
    await open('&axis=time');
    await expect.poll(async () => (await ticks('residual', 'x')).at(-1)).toMatch(/m$/);
    const time = await ticks('residual', 'x');
    for (const t of time)
      expect(t).toMatch(/^(0s|\d+s|(1|2|5|10|15|20|25|30|35|40|45|50|55)m|\d+h( \d+m)?|0m)$/);
    expect(time.join(' ')).not.toMatch(/\./);
    await page.getByLabel('x axis').selectOption('timestamp');
    await expect.poll(async () => (await ticks('residual', 'x'))[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d/);
  });

  it('ignores the outliers of a spiky residual', async () => {
    await open();
    await expect
      .poll(async () => Number((await ticks('residual', 'y')).at(-1)!.replace(/,/g, '')))
      .toBe(1000);
    await page.getByRole('checkbox', { name: 'ignore outliers' }).check();
    await expect
      .poll(async () => Number((await ticks('residual', 'y')).at(-1)!.replace(/,/g, '')))
      .toBeLessThan(2);
    expect(new URL(page.url()).searchParams.get('outliers')).toBe('1');
    await shots('chart-outliers');
  });

  it('smooths by EMA, time-weighted EMA, running average and Gaussian, each differently', async () => {
    await open();
    const raw = await pixels('residual');
    await page.locator('.chart-controls input[type=range]').fill('0.9');
    const seen = new Set([raw]);
    for (const kind of ['ema', 'time-ema', 'mean', 'gauss']) {
      await page.getByLabel('smoothing kind').selectOption(kind);
      await expect.poll(async () => seen.has(await pixels('residual'))).toBe(false);
      seen.add(await pixels('residual'));
    }
    expect(seen.size).toBe(5);
    expect(new URL(page.url()).searchParams.get('kind')).toBe('gauss');
  });

  it('exports PNG, SVG, the points shown as CSV and the whole series as CSV', async () => {
    await open();
    const take = async (name: string) => {
      if (!(await card('dt').locator('details[open]').count())) await card('dt').getByText('Export').click();
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        card('dt').getByRole('button', { name, exact: true }).click(),
      ]);
      return { name: download.suggestedFilename(), body: readFileSync((await download.path())!) };
    };
    const png = await take('PNG');
    expect(png.name).toBe('dt.png');
    expect(png.body.subarray(1, 4).toString()).toBe('PNG');
    const svg = await take('SVG');
    expect(svg.body.toString()).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.body.toString()).toContain('<path d="M');
    const shown = (await take('CSV of the points shown')).body.toString().trim().split('\n');
    expect(shown[0]).toBe('run,step,dt');
    expect(shown.length - 1).toBe(Number(await card('dt').getAttribute('data-line-points')));
    const all = (await take('CSV of every point')).body.toString().trim().split('\n');
    expect(all.length).toBe(N + 1);
    expect(all[3]).toBe('charts,2,0.0030002');
  });

  it('zooms every chart of the run together, and keeps zoom and settings in the address', async () => {
    await open('&log=1');
    await card('cells').locator('.plot').press('+');
    for (const m of ['residual', 'dt', 'cells'])
      await expect.poll(() => card(m).getAttribute('data-zoomed')).toBe('true');
    const range = await card('dt').getAttribute('data-range');
    expect(await card('residual').getAttribute('data-range')).toBe(range);
    const url = new URL(page.url());
    expect(url.searchParams.get('zoom')).toBe(range);
    expect(url.searchParams.get('log')).toBe('1');
    await page.goto('about:blank');
    await page.goto(url.toString());
    await expect.poll(() => card('dt').getAttribute('data-range')).toBe(range);
    expect(await card('dt').getAttribute('data-log')).toBe('true');
    expect(await page.getByRole('checkbox', { name: 'log scale' }).isChecked()).toBe(true);
  });

  it('shows a chart full screen', async () => {
    await open();
    await page.getByRole('button', { name: 'Full screen: dt' }).click();
    await expect
      .poll(() =>
        page.evaluate(() => (globalThis as any).document.fullscreenElement?.getAttribute('data-metric')),
      )
      .toBe('dt');
    await expect
      .poll(() =>
        card('dt')
          .locator('canvas')
          .evaluate((c: any) => c.height),
      )
      .toBeGreaterThan(400);
    await page.screenshot({ path: join(SCREENSHOTS, 'chart-full-screen.png') });
    await page.getByRole('button', { name: 'Full screen: dt' }).click();
    await expect.poll(() => page.evaluate(() => (globalThis as any).document.fullscreenElement)).toBe(null);
    expect(browser.errors).toEqual([]);
    expect(browser.outside).toEqual([]);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCREENSHOTS } from './browser.js';
import { runWithMetrics, webSuite } from './web-harness.js';

const N = 1000;

describe('metric charts in Chromium', () => {
  let runId: string;
  const ui = webSuite('simscope-charts-e2e-', {
    timeout: 15_000,
    ready: 'table',
    setupTimeout: 120_000,
    seed: async (api) => {
      runId = await runWithMetrics(api, { name: 'charts', folder: '/charts' }, [
        // A residual near 1 with five spikes of 1000.
        {
          name: 'residual',
          values: Array.from({ length: N }, (_, i) => (i % 200 === 100 ? 1000 : 1 + Math.sin(i / 20) * 0.2)),
          times: Array.from({ length: N }, (_, i) => i * 1.2),
        },
        { name: 'dt', values: Array.from({ length: N }, (_, i) => 0.003 + (i % 5) * 1e-7) },
        { name: 'cells', values: Array.from({ length: N }, (_, i) => 100_000 + i * 150) },
      ]);
    },
  });

  const card = (metric: string) => ui.page.locator(`figure.chart-card[data-metric="${metric}"]`);
  const ticks = async (metric: string, axis: 'x' | 'y') =>
    ((await card(metric).getAttribute(`data-${axis}-ticks`)) ?? '').split('|');
  const pixels = (metric: string) =>
    card(metric)
      .locator('canvas')
      .evaluate((c: any) => c.toDataURL('image/png'));
  /** Opens the run's metrics with the given query and waits for both charts. */
  const open = async (query = '') => {
    await ui.page.goto(`${ui.url}/runs/${runId}?tab=metrics${query}`);
    for (const m of ['residual', 'dt', 'cells'])
      await expect.poll(() => card(m).getAttribute('data-drawn')).toMatch(/:buckets:/);
  };
  const shots = async (name: string) => {
    await ui.page.screenshot({ path: join(SCREENSHOTS, `${name}-1440.png`) });
    await ui.page.setViewportSize({ width: 390, height: 844 });
    await ui.page.screenshot({ path: join(SCREENSHOTS, `${name}-390.png`) });
    await ui.page.setViewportSize({ width: 1440, height: 900 });
  };

  it('turns log scale on for one chart only', async () => {
    await open();
    await ui.page.getByRole('button', { name: 'Log scale for cells' }).click();
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
    await ui.page.getByLabel('x axis').selectOption('timestamp');
    await expect.poll(async () => (await ticks('residual', 'x'))[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d/);
  });

  it('ignores the outliers of a spiky residual', async () => {
    await open();
    await expect
      .poll(async () => Number((await ticks('residual', 'y')).at(-1)!.replace(/,/g, '')))
      .toBe(1000);
    await ui.page.getByRole('checkbox', { name: 'ignore outliers' }).check();
    await expect
      .poll(async () => Number((await ticks('residual', 'y')).at(-1)!.replace(/,/g, '')))
      .toBeLessThan(2);
    expect(new URL(ui.page.url()).searchParams.get('outliers')).toBe('1');
    await shots('chart-outliers');
  });

  it('smooths by EMA, time-weighted EMA, running average and Gaussian, each differently', async () => {
    await open();
    const raw = await pixels('residual');
    await ui.page.locator('.chart-controls input[type=range]').fill('0.9');
    const seen = new Set([raw]);
    for (const kind of ['ema', 'time-ema', 'mean', 'gauss']) {
      await ui.page.getByLabel('smoothing kind').selectOption(kind);
      await expect.poll(async () => seen.has(await pixels('residual'))).toBe(false);
      seen.add(await pixels('residual'));
    }
    expect(seen.size).toBe(5);
    expect(new URL(ui.page.url()).searchParams.get('kind')).toBe('gauss');
  });

  it('exports PNG, SVG, the points shown as CSV and the whole series as CSV', async () => {
    await open();
    const take = async (name: string) => {
      if (!(await card('dt').locator('details[open]').count())) await card('dt').getByText('Export').click();
      const [download] = await Promise.all([
        ui.page.waitForEvent('download'),
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
    const url = new URL(ui.page.url());
    expect(url.searchParams.get('zoom')).toBe(range);
    expect(url.searchParams.get('log')).toBe('1');
    await ui.page.goto('about:blank');
    await ui.page.goto(url.toString());
    await expect.poll(() => card('dt').getAttribute('data-range')).toBe(range);
    expect(await card('dt').getAttribute('data-log')).toBe('true');
    expect(await ui.page.getByRole('checkbox', { name: 'log scale' }).isChecked()).toBe(true);
  });

  it('shows a chart full screen', async () => {
    await open();
    await ui.page.getByRole('button', { name: 'Full screen: dt' }).click();
    await expect
      .poll(() =>
        ui.page.evaluate(() => (globalThis as any).document.fullscreenElement?.getAttribute('data-metric')),
      )
      .toBe('dt');
    await expect
      .poll(() =>
        card('dt')
          .locator('canvas')
          .evaluate((c: any) => c.height),
      )
      .toBeGreaterThan(400);
    await ui.page.screenshot({ path: join(SCREENSHOTS, 'chart-full-screen.png') });
    await ui.page.getByRole('button', { name: 'Full screen: dt' }).click();
    await expect
      .poll(() => ui.page.evaluate(() => (globalThis as any).document.fullscreenElement))
      .toBe(null);
    expect(ui.browser.errors).toEqual([]);
    expect(ui.browser.outside).toEqual([]);
  });
});

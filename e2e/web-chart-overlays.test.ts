import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCREENSHOTS } from './browser.js';
import { runWithMetrics, screenshots, webSuite } from './web-harness.js';

const OUT = join(SCREENSHOTS, 'chart-overlays');
const N = 500;

// Several metrics on one chart: added from a picker, each in its colour with a legend entry (hover brings it
// forward, a click hides it), a right y axis for another scale, kept in the address, and in the exports.
describe('several metrics on one chart in Chromium', () => {
  let runId: string;
  const ui = webSuite('simscope-overlays-e2e-', {
    timeout: 15_000,
    ready: 'table',
    setupTimeout: 120_000,
    seed: async (api) => {
      mkdirSync(OUT, { recursive: true });
      runId = await runWithMetrics(api, { name: 'overlays', folder: '/overlays' }, [
        { name: 'loss', values: Array.from({ length: N }, (_, i) => Math.exp(-i / 100)) },
        { name: 'val_loss', values: Array.from({ length: N }, (_, i) => 0.9 * Math.exp(-i / 150) + 0.05) },
        { name: 'lr', values: Array.from({ length: N }, (_, i) => 1000 + i * 8) },
      ]);
    },
  });

  const card = (metric: string) => ui.page.locator(`figure.chart-card[data-metric="${metric}"]`);
  const entries = (metric: string) => card(metric).locator('button.legend-entry');
  /**
   * Pixels of the chart's canvas painted in the legend entry's colour, mostly opaque (the canvas is transparent:
   * a faint line keeps its colour at a low alpha); within 40 a channel, as line edges blend.
   */
  const colourPixels = async (metric: string, entry: number) => {
    const color = (await entries(metric).nth(entry).getAttribute('data-color')) ?? '';
    return card(metric)
      .locator('canvas')
      .evaluate((c: any, css: string) => {
        const probe = (globalThis as any).document.createElement('canvas').getContext('2d');
        probe.fillStyle = css;
        const hex = String(probe.fillStyle);
        const [r = 0, g = 0, b = 0] = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        const near = (i: number) =>
          d[i + 3] >= 160 &&
          Math.abs(d[i] - r) <= 40 &&
          Math.abs(d[i + 1] - g) <= 40 &&
          Math.abs(d[i + 2] - b) <= 40;
        for (let i = 0; i < d.length; i += 4) if (near(i)) n++;
        return n;
      }, color);
  };
  const open = async (query = '') => {
    await ui.page.goto(`${ui.url}/runs/${runId}?tab=metrics${query}`);
    await expect.poll(() => card('loss').getAttribute('data-drawn')).toMatch(/:buckets:/);
  };
  const param = (name: string) => new URL(ui.page.url()).searchParams.get(name);

  it('adds a metric from the picker, in its own colour with a legend entry, kept in the address', async () => {
    await open();
    expect(await entries('loss').count()).toBe(1);
    const picker = ui.page.getByLabel('Add a metric to loss');
    expect(await picker.locator('option').allTextContents()).toEqual(['+ metric…', 'lr', 'val_loss']);
    await picker.selectOption('val_loss');
    await expect.poll(() => entries('loss').count()).toBe(2);
    await expect.poll(() => colourPixels('loss', 1)).toBeGreaterThan(200);
    expect((await entries('loss').allTextContents()).map((t) => t.split(' ')[0])).toEqual([
      'loss',
      'val_loss',
    ]);
    const [a, b] = await Promise.all([0, 1].map((i) => entries('loss').nth(i).getAttribute('data-color')));
    expect(a).not.toBe(b);
    expect(param('with')).toBe('[["loss","val_loss",0]]');
    // The other charts keep their one metric.
    expect(await entries('val_loss').count()).toBe(1);

    await ui.page.goto('about:blank');
    await open(`&with=${encodeURIComponent('[["loss","val_loss",0]]')}`);
    await expect.poll(() => entries('loss').count()).toBe(2);
    await expect.poll(() => colourPixels('loss', 1)).toBeGreaterThan(200);
    await screenshots(ui.page, OUT, 'two-metrics', true);
    expect(ui.browser.errors).toEqual([]);
  });

  it('brings a line forward on hover and hides it on a click', async () => {
    await open(`&with=${encodeURIComponent('[["loss","val_loss",0]]')}`);
    await expect.poll(() => colourPixels('loss', 1)).toBeGreaterThan(200);
    const loss = await colourPixels('loss', 0);
    expect(loss).toBeGreaterThan(200);
    // Hovering loss draws val_loss faint: none of its pixels keep its colour.
    await entries('loss').nth(0).hover();
    await expect.poll(() => colourPixels('loss', 1)).toBe(0);
    await ui.page.mouse.move(0, 0);
    await expect.poll(() => colourPixels('loss', 1)).toBeGreaterThan(200);
    await entries('loss').nth(1).click();
    expect(await entries('loss').nth(1).getAttribute('aria-pressed')).toBe('false');
    await ui.page.mouse.move(0, 0);
    await expect.poll(() => colourPixels('loss', 1)).toBe(0);
    expect(await colourPixels('loss', 0)).toBeGreaterThan(200);
    await entries('loss').nth(1).click();
    await ui.page.mouse.move(0, 0);
    await expect.poll(() => colourPixels('loss', 1)).toBeGreaterThan(200);
  });

  it('puts a metric of another scale on a right y axis', async () => {
    await open();
    await ui.page.getByLabel('Add a metric to loss').selectOption('lr');
    await expect.poll(() => entries('loss').count()).toBe(2);
    expect(await card('loss').getAttribute('data-y2-ticks')).toBe('');
    await ui.page.getByLabel('lr on the right axis of loss').check();
    await expect.poll(async () => (await card('loss').getAttribute('data-y2-ticks')) ?? '').not.toBe('');
    expect(param('with')).toBe('[["loss","lr",1]]');
    const right = ((await card('loss').getAttribute('data-y2-ticks')) ?? '').split('|');
    expect(right.length).toBeGreaterThanOrEqual(3);
    for (const t of right) {
      const v = Number(t.replace(/,/g, ''));
      expect(v).toBeGreaterThanOrEqual(800);
      expect(v).toBeLessThanOrEqual(5200);
    }
    // The left axis keeps loss's scale, 0 to 1.
    for (const t of ((await card('loss').getAttribute('data-y-ticks')) ?? '').split('|')) {
      expect(Math.abs(Number(t))).toBeLessThanOrEqual(1.05);
    }
    expect(await entries('loss').allTextContents()).toEqual([
      expect.stringMatching(/^loss \(left\) /),
      expect.stringMatching(/^lr \(right\) /),
    ]);
    await expect.poll(() => colourPixels('loss', 1)).toBeGreaterThan(200);
    await screenshots(ui.page, OUT, 'right-axis', true);

    await ui.page.getByLabel('Remove lr from loss').click();
    await expect.poll(() => entries('loss').count()).toBe(1);
    await expect.poll(() => param('with')).toBe(null);
  });

  it('adds a metric to the compare page chart of several runs, one line a run and metric', async () => {
    const ids: string[] = [];
    for (const [name, k] of [
      ['cmp-a', 1],
      ['cmp-b', 2],
    ] as const) {
      const run = await ui.api('POST', '/runs', { name, folder: '/overlays' });
      await ui.api('POST', `/runs/${run.id}/metrics`, {
        writer: 'w',
        seq: 0,
        series: [
          { name: 'loss', values: Array.from({ length: N }, (_, i) => k * Math.exp(-i / 100)) },
          { name: 'val_loss', values: Array.from({ length: N }, (_, i) => k * Math.exp(-i / 150)) },
        ],
      });
      ids.push(run.id);
    }
    await ui.page.goto(`${ui.url}/compare?runs=${ids.join(',')}&metric=loss`);
    await expect.poll(() => card('loss').getAttribute('data-drawn')).toMatch(/:buckets:/);
    expect(await entries('loss').count()).toBe(2);
    await ui.page.getByLabel('Add a metric to loss').selectOption('val_loss');
    await expect.poll(() => entries('loss').count()).toBe(4);
    const labels = await entries('loss').allTextContents();
    expect(labels.map((t) => t.replace(/ [-0-9.e]+$/, ''))).toEqual([
      'cmp-a · loss',
      'cmp-b · loss',
      'cmp-a · val_loss',
      'cmp-b · val_loss',
    ]);
    await expect.poll(() => colourPixels('loss', 3)).toBeGreaterThan(200);
    expect(param('with')).toBe('[["loss","val_loss",0]]');
    expect(param('runs')).toBe(ids.join(','));
    expect(param('metric')).toBe('loss');
    await screenshots(ui.page, OUT, 'compare-two-metrics', true);
  });

  it('exports every series of the chart as CSV and SVG', async () => {
    await open(`&with=${encodeURIComponent('[["loss","val_loss",0],["loss","lr",1]]')}`);
    await expect.poll(() => entries('loss').count()).toBe(3);
    await expect.poll(() => colourPixels('loss', 2)).toBeGreaterThan(200);
    const take = async (name: string) => {
      if (!(await card('loss').locator('details[open]').count()))
        await card('loss').getByText('Export').click();
      const [download] = await Promise.all([
        ui.page.waitForEvent('download'),
        card('loss').getByRole('button', { name, exact: true }).click(),
      ]);
      return readFileSync((await download.path()) ?? '').toString();
    };
    const all = (await take('CSV of every point')).trim().split('\n');
    expect(all[0]).toBe('run,metric,step,value');
    expect(all.length).toBe(3 * N + 1);
    expect(all[1]).toBe('overlays,loss,0,1');
    expect(all[N + 1]).toBe('overlays,val_loss,0,0.9500000000000001');
    expect(all[2 * N + 1]).toBe('overlays,lr,0,1000');
    const shown = (await take('CSV of the points shown')).trim().split('\n');
    expect(new Set(shown.slice(1).map((r) => r.split(',')[1]))).toEqual(new Set(['loss', 'val_loss', 'lr']));
    const svg = await take('SVG');
    const colours = await Promise.all(
      [0, 1, 2].map((i) => entries('loss').nth(i).getAttribute('data-color')),
    );
    for (const c of colours) expect(svg).toContain(`stroke="${c}"`);
    expect(svg).toContain('font-weight="bold" fill=');
    expect(svg).toMatch(/rotate\(90\)[^>]*>lr</);
    expect(ui.browser.errors).toEqual([]);
    expect(ui.browser.outside).toEqual([]);
  });
});

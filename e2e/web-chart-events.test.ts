import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCREENSHOTS } from './browser.js';
import { runWithMetrics, screenshots, webSuite } from './web-harness.js';

const OUT = join(SCREENSHOTS, 'chart-events');
const N = 1000;
const SECOND = 1_000_000;
/** The metric's first point, on a whole second (µs). */
const T0 = Math.floor(Date.now() / 1000 - 3600) * SECOND;
const TICKS = 600;

// The run's events as thin markers across its charts: placed at their step through the metric's clock, capped,
// filtered, shown or hidden, the text of one under the pointer, and the choices kept in the address.
describe('event markers on the charts in Chromium', () => {
  let runId: string;
  const ui = webSuite('simscope-chart-events-e2e-', {
    timeout: 15_000,
    ready: 'table',
    setupTimeout: 120_000,
    seed: async (api) => {
      mkdirSync(OUT, { recursive: true });
      runId = await runWithMetrics(api, { name: 'events-on-charts', folder: '/events' }, [
        {
          name: 'residual',
          values: Array.from({ length: N }, (_, i) => 1 / (i + 1)),
          times: Array.from({ length: N }, (_, i) => i),
          timestamps: Array.from({ length: N }, (_, i) => T0 + i * SECOND),
        },
      ]);
      await api('POST', `/runs/${runId}/events`, {
        writer: 'w',
        seq: 0,
        events: [
          { message: 'before the first point', timestamp: T0 - 5 * SECOND },
          { message: 'checkpoint A written', timestamp: T0 + 100.5 * SECOND },
          { level: 'warning', message: 'checkpoint B written', timestamp: T0 + 250 * SECOND },
          ...Array.from({ length: TICKS }, (_, k) => ({
            message: `tick ${k}`,
            timestamp: T0 + (300 + k) * SECOND,
          })),
        ],
      });
    },
  });

  const card = () => ui.page.locator('figure.chart-card[data-metric="residual"]');
  const markers = async () => Number(await card().getAttribute('data-markers'));
  const note = () => card().getByTestId('marker-note').textContent();
  const param = (name: string) => new URL(ui.page.url()).searchParams.get(name);
  const open = async (query = '') => {
    await ui.page.goto(`${ui.url}/runs/${runId}?tab=metrics${query}`);
    await expect.poll(() => card().getAttribute('data-drawn')).toMatch(/:buckets:/);
  };
  /** The page x of a step on the plot, from the plot's box and the chart's x range. */
  const pageX = async (step: number) => {
    const box = await card().locator('.u-over').boundingBox();
    const [a, b] = ((await card().getAttribute('data-range')) ?? '').split(',').map(Number);
    if (!box || a === undefined || b === undefined) throw new Error('no plot');
    return { x: box.x + ((step - a) / (b - a)) * box.width, y: box.y + box.height / 2, box };
  };
  /** Painted pixels in the canvas column at a step, top to bottom of the plot. */
  const columnInk = async (step: number) => {
    const { x, box } = await pageX(step);
    return card()
      .locator('canvas')
      .evaluate(
        (c: any, at: { x: number; top: number; bottom: number }) => {
          const r = c.getBoundingClientRect();
          const scale = c.width / r.width;
          const px = Math.round((at.x - r.left) * scale);
          const d = c
            .getContext('2d')
            .getImageData(
              px - 1,
              Math.round((at.top - r.top) * scale),
              3,
              Math.round((at.bottom - at.top) * scale),
            ).data;
          let n = 0;
          for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
          return n;
        },
        { x, top: box.y, bottom: box.y + box.height },
      );
  };

  it('draws at most 500 markers at their steps, and says how many more and which have no step', async () => {
    await open();
    await expect.poll(markers).toBe(500);
    expect(await note()).toBe(
      '500 events · 102 more not drawn (filter or zoom in) · 1 outside the span of residual, not drawn',
    );
    // A marker paints the whole height of its column; between markers the column holds the line only.
    const { box } = await pageX(0);
    expect(await columnInk(250)).toBeGreaterThan(box.height * 0.9);
    expect(await columnInk(170)).toBeLessThan(box.height * 0.5);
    await screenshots(ui.page, OUT, 'markers', true);
    expect(ui.browser.errors).toEqual([]);
  });

  it('filters the markers by text and shows an event under the pointer', async () => {
    await open();
    await ui.page.getByLabel('events containing').fill('checkpoint');
    await expect.poll(markers).toBe(2);
    expect(await note()).toBe('2 events');
    await expect.poll(() => param('eventq')).toBe('checkpoint');
    const { x, y } = await pageX(250);
    await ui.page.mouse.move(x, y);
    const tip = card().getByRole('tooltip');
    await expect.poll(() => tip.textContent()).toContain('checkpoint B written');
    const when = await ui.page.evaluate(
      (us: number) => {
        const d = new Date(us / 1000);
        const p = (n: number) => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
      },
      T0 + 250 * SECOND,
    );
    expect(await tip.textContent()).toBe(`${when} warningcheckpoint B written`);
    // Away from any marker, no tooltip.
    const away = await pageX(600);
    await ui.page.mouse.move(away.x, away.y);
    await expect.poll(() => tip.count()).toBe(0);
    await screenshots(ui.page, OUT, 'marker-hover', true);

    await ui.page.goto('about:blank');
    await open('&eventq=checkpoint');
    await expect.poll(markers).toBe(2);
    expect(await ui.page.getByLabel('events containing').inputValue()).toBe('checkpoint');
  });

  it('hides the markers with the toggle, kept in the address', async () => {
    await open();
    await expect.poll(markers).toBe(500);
    const on = await columnInk(250);
    await ui.page.getByRole('checkbox', { name: 'event markers' }).uncheck();
    await expect.poll(markers).toBe(0);
    expect(await card().getByTestId('marker-note').count()).toBe(0);
    await expect.poll(() => param('events')).toBe('0');
    await expect.poll(() => columnInk(250)).toBeLessThan(on / 2);
    await ui.page.goto('about:blank');
    await open('&events=0');
    expect(await ui.page.getByRole('checkbox', { name: 'event markers' }).isChecked()).toBe(false);
    expect(await markers()).toBe(0);
  });

  it('places markers by their time on a date axis and a time axis, and asks for the events of a zoom', async () => {
    await open('&axis=timestamp');
    await expect.poll(markers).toBe(500);
    // Dates need no clock: the event before the first point is only out of view.
    expect(await note()).toBe('500 events · 102 more not drawn (filter or zoom in)');
    await open('&axis=time');
    await expect.poll(markers).toBe(500);
    expect(await note()).toBe(
      '500 events · 102 more not drawn (filter or zoom in) · 1 outside the span of residual, not drawn',
    );
    await open('&axis=time&eventq=checkpoint');
    await expect.poll(markers).toBe(2);
    expect(await note()).toBe('2 events');
    // Zoomed to steps 400 to 500: the ticks of those steps, both ends in.
    await open('&eventq=tick&zoom=400,500');
    await expect.poll(markers).toBe(101);
    expect(await note()).toBe('101 events');
    expect(ui.browser.errors).toEqual([]);
    expect(ui.browser.outside).toEqual([]);
  });
});

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCREENSHOTS } from './browser.js';
import { E2E_TOKEN } from './server-process.js';
import { screenshots, webSuite } from './web-harness.js';

const OUT = join(SCREENSHOTS, 'fields-views');

/** The Fields tab's heatmap settings, histogram overlay and run compare in Chromium, at 1440 and 390 px. */
describe('web UI fields views in Chromium', () => {
  const suite = webSuite('simscope-web-fields-views-', {
    timeout: 10_000,
    ready: 'navigation',
    setupTimeout: 180_000,
  });
  mkdirSync(OUT, { recursive: true });

  /** Logs `values` (float32 when 2-D, float64 otherwise) as `name` at `step` of `run`. */
  const logArray = async (
    run: string,
    name: string,
    step: number,
    shape: number[],
    values: number[],
    axes?: unknown,
  ) => {
    const bytes = shape.length === 2 ? Float32Array.from(values) : Float64Array.from(values);
    const extra = axes === undefined ? '' : `&axes=${encodeURIComponent(JSON.stringify(axes))}`;
    const dtype = shape.length === 2 ? 'float32' : 'float64';
    const res = await fetch(
      `${suite.url}/api/v1/runs/${run}/arrays?name=${name}&step=${step}&shape=${shape.join(',')}&dtype=${dtype}${extra}`,
      {
        method: 'PUT',
        headers: { authorization: `Bearer ${E2E_TOKEN}`, 'content-type': 'application/octet-stream' },
        body: new Uint8Array(bytes.buffer),
      },
    );
    expect(res.status).toBe(201);
  };

  /** A 10 × 60 field whose column c holds (c + step) / 10, at steps 0 and 20. */
  const ramp = async (run: string) => {
    for (const step of [0, 20]) {
      await logArray(
        run,
        'T',
        step,
        [10, 60],
        Array.from({ length: 600 }, (_, i) => ((i % 60) + step) / 10),
      );
    }
  };

  /** The pixel at (x, y) of the `n`th heatmap canvas as [r, g, b]. */
  const pixel = (x: number, y: number, n = 0) =>
    suite.page.evaluate(
      ([px, py, i]) => {
        const c = (globalThis as any).document.querySelectorAll('.field-heatmap canvas')[i];
        return Array.from(c.getContext('2d').getImageData(px, py, 1, 1).data.slice(0, 3)) as number[];
      },
      [x, y, n] as const,
    );

  it('colours a heatmap by the chosen map, on a log scale, and over a range fixed across steps', async () => {
    const page = suite.page;
    const { id } = await suite.api('POST', '/runs', { name: 'heatmap-settings' });
    await ramp(id);
    await page.goto(`${suite.url}/runs/${id}?tab=fields`);
    await page.getByLabel('heatmap of T at step 20').waitFor();
    // Viridis over the step's own range, 2 to 7.9.
    expect(await pixel(0, 0)).toEqual([68, 1, 84]);
    expect(await pixel(59, 0)).toEqual([253, 231, 37]);

    await page.getByRole('combobox', { name: 'Colours' }).selectOption('grey');
    await expect.poll(() => pixel(59, 0)).toEqual([255, 255, 255]);
    expect(await pixel(0, 0)).toEqual([0, 0, 0]);
    expect(new URL(page.url()).searchParams.get('cmap')).toBe('grey');

    await page.getByRole('combobox', { name: 'Colours' }).selectOption('diverging');
    await expect.poll(() => pixel(0, 0)).toEqual([0, 0, 255]);
    expect(await pixel(59, 0)).toEqual([255, 0, 0]);
    // Column 30 holds 5: (5 - 2) / 5.9 = 0.5085 of the way, 0.0169 of the way from white to red.
    expect(await pixel(30, 0)).toEqual([255, 251, 251]);
    await screenshots(page, OUT, 'heatmap-diverging');

    // Fixed range over both steps, 0 to 7.9: step 0's rightmost column (5.9) is 5.9 / 7.9 of the way.
    await page.getByRole('combobox', { name: 'Colours' }).selectOption('grey');
    await page.getByRole('slider', { name: 'step' }).fill('0');
    await page.getByLabel('heatmap of T at step 0').waitFor();
    await expect.poll(() => pixel(59, 0)).toEqual([255, 255, 255]);
    await page.getByRole('combobox', { name: 'Range' }).selectOption('fixed');
    const v = Math.round((5.9 / 7.9) * 255);
    await expect.poll(() => pixel(59, 0)).toEqual([v, v, v]);
    expect(new URL(page.url()).searchParams.get('range')).toBe('fixed');

    // Log scale at step 0 over its own range: column 0 (0) has no value, column 1 (0.1) is the bottom, column 10
    // (1) is log(1 / 0.1) / log(5.9 / 0.1) of the way.
    await page.getByRole('combobox', { name: 'Range' }).selectOption('step');
    await page.getByRole('combobox', { name: 'Scale' }).selectOption('log');
    await expect.poll(() => pixel(0, 0)).toEqual([255, 0, 255]);
    expect(await pixel(1, 0)).toEqual([0, 0, 0]);
    const w = Math.round((1 / Math.log10(59)) * 255);
    expect(await pixel(10, 0)).toEqual([w, w, w]);
    expect(await pixel(59, 0)).toEqual([255, 255, 255]);
    expect(await page.getByRole('note').textContent()).toBe(
      '10 values ≤ 0 have no place on a log scale and show as no value (magenta).',
    );
    // The scale starts at the smallest positive value, 0.1, not at the step's min of 0.
    expect(await page.locator('.field-scale').textContent()).toBe('0.10005.900(log)');
    await screenshots(page, OUT, 'heatmap-log-grey');

    // The settings come back from the address.
    await page.reload();
    await page.getByLabel('heatmap of T at step 20').waitFor();
    expect(await page.getByRole('combobox', { name: 'Colours' }).inputValue()).toBe('grey');
    expect(await page.getByRole('combobox', { name: 'Scale' }).inputValue()).toBe('log');
    expect(suite.browser.errors).toEqual([]);
  }, 90_000);

  it('overlays the histogram of a second step on the shown one, each in its own colour, with a legend', async () => {
    const page = suite.page;
    const { id } = await suite.api('POST', '/runs', { name: 'histogram-overlay' });
    const axes = [{ edges: [0, 1, 2, 3] }];
    await logArray(id, 'q', 0, [3], [1, 4, 2], axes);
    await logArray(id, 'q', 5, [3], [3, 0, 6], axes);
    await page.goto(`${suite.url}/runs/${id}?tab=fields`);
    const bars = page.getByRole('img', { name: 'histogram of q' }).locator('rect');
    await expect.poll(() => bars.count()).toBe(3);
    expect(await page.getByLabel('shown step').textContent()).toBe('5');

    await page.getByRole('combobox', { name: 'Overlay step' }).selectOption('0');
    await expect.poll(() => bars.count()).toBe(6);
    expect(
      await bars.evaluateAll((rs: any[]) => rs.map((r) => r.querySelector('title').textContent)),
    ).toEqual([
      'step 5 · 0–1: 3',
      'step 5 · 1–2: 0',
      'step 5 · 2–3: 6',
      'step 0 · 0–1: 1',
      'step 0 · 1–2: 4',
      'step 0 · 2–3: 2',
    ]);
    // The colours as drawn (the stylesheet's bar colour gives way to each step's).
    expect(
      await bars.evaluateAll((rs: any[]) => rs.map((r) => (globalThis as any).getComputedStyle(r).fill)),
    ).toEqual([
      'rgb(59, 82, 139)',
      'rgb(59, 82, 139)',
      'rgb(59, 82, 139)',
      'rgb(232, 89, 12)',
      'rgb(232, 89, 12)',
      'rgb(232, 89, 12)',
    ]);
    // Side by side within each bin: the shown step's bar on the left half, the overlaid one's on the right.
    expect(await bars.evaluateAll((rs: any[]) => rs.map((r) => Number(r.getAttribute('x'))))).toEqual([
      0.5, 200.5, 400.5, 100.5, 300.5, 500.5,
    ]);
    const legend = page.getByRole('list', { name: 'histogram legend' }).getByRole('listitem');
    expect(await legend.allTextContents()).toEqual([' step 5', ' step 0']);
    expect(
      await legend.evaluateAll((items: any[]) =>
        items.map((li) => li.querySelector('span').style.background),
      ),
    ).toEqual(['rgb(59, 82, 139)', 'rgb(232, 89, 12)']);
    expect(new URL(page.url()).searchParams.get('overlay')).toBe('0');
    await screenshots(page, OUT, 'histogram-overlay');
    // The overlay comes back from the address.
    await page.reload();
    await expect.poll(() => bars.count()).toBe(6);

    await page.getByRole('combobox', { name: 'Overlay step' }).selectOption('');
    await expect.poll(() => bars.count()).toBe(3);
    expect(await page.getByRole('list', { name: 'histogram legend' }).count()).toBe(0);
    expect(suite.browser.errors).toEqual([]);
  }, 60_000);

  it('shows the same field of a second run beside the first at the same step, over one colour range', async () => {
    const page = suite.page;
    const a = await suite.api('POST', '/runs', { name: 'compare-a' });
    const b = await suite.api('POST', '/runs', { name: 'compare-b' });
    await ramp(a.id);
    // Run b's field at step 20 runs from 4 to 9.9; run a's from 2 to 7.9.
    await logArray(
      b.id,
      'T',
      20,
      [10, 60],
      Array.from({ length: 600 }, (_, i) => ((i % 60) + 40) / 10),
    );
    // A run with another array series only: not offered, and not even asked for its series.
    const other = await suite.api('POST', '/runs', { name: 'compare-other' });
    await logArray(other.id, 'U', 20, [2, 2], [1, 2, 3, 4]);
    const asked: string[] = [];
    const listen = (r: { url(): string }) => asked.push(new URL(r.url()).pathname);
    page.on('request', listen);
    await page.goto(`${suite.url}/runs/${a.id}?tab=fields&cmap=grey`);
    await page.getByLabel('heatmap of T at step 20', { exact: true }).waitFor();
    const picker = page.getByRole('combobox', { name: 'Compare with run' });
    await expect
      .poll(async () => (await picker.locator('option').allTextContents()).includes('compare-b'))
      .toBe(true);
    expect(await picker.locator('option').allTextContents()).not.toContain('compare-a');
    expect(await picker.locator('option').allTextContents()).not.toContain('compare-other');
    page.off('request', listen);
    expect(asked).toContain(`/api/v1/runs/${b.id}/arrays`);
    expect(asked).not.toContain(`/api/v1/runs/${other.id}/arrays`);
    await picker.selectOption({ label: 'compare-b' });
    await page.getByLabel('heatmap of T at step 20 in compare-b', { exact: true }).waitFor();
    expect(await page.locator('.field-heatmap canvas').count()).toBe(2);
    expect(await page.locator('.field-heatmap-label').allTextContents()).toEqual(['this run', 'compare-b']);
    // One range, 2 to 9.9, for both: run a's left edge is its bottom, run b's right edge its top.
    const grey = (v: number) => {
      const g = Math.round(((v - 2) / 7.9) * 255);
      return [g, g, g];
    };
    expect(await pixel(0, 0, 0)).toEqual(grey(2));
    expect(await pixel(59, 0, 0)).toEqual(grey(7.9));
    expect(await pixel(0, 0, 1)).toEqual(grey(4));
    expect(await pixel(59, 0, 1)).toEqual(grey(9.9));
    expect(await pixel(59, 0, 1)).toEqual([255, 255, 255]);
    expect(
      await page.locator('.field-scale').evaluateAll((ss: any[]) => ss.map((s) => s.textContent)),
    ).toEqual(['2.0009.900', '2.0009.900']);
    expect(new URL(page.url()).searchParams.get('vs')).toBe(b.id);
    await screenshots(page, OUT, 'compare-runs');
    // The compared run comes back from the address.
    await page.reload();
    await page.getByLabel('heatmap of T at step 20 in compare-b', { exact: true }).waitFor();
    expect(await pixel(59, 0, 1)).toEqual([255, 255, 255]);
    expect(suite.browser.errors).toEqual([]);
  }, 60_000);
});

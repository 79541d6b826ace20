import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, buildWeb, openBrowser, SCREENSHOTS } from './browser.js';
import { buildServer, E2E_TOKEN, ServerProcess } from './server-process.js';

const OUT = join(SCREENSHOTS, 'fields');

/** The run page's Fields tab in Chromium: a 2-D field as a heatmap with a step slider, a histogram as bars. */
describe('web UI fields tab in Chromium', () => {
  let home: string;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;

  const api = async (method: string, path: string, body?: unknown, type = 'application/json') => {
    const res = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${E2E_TOKEN}`, 'content-type': type },
      ...(body === undefined ? {} : { body: body instanceof Uint8Array ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };

  beforeAll(async () => {
    buildServer();
    buildWeb();
    mkdirSync(OUT, { recursive: true });
    home = mkdtempSync(join(tmpdir(), 'simscope-web-fields-'));
    server = await ServerProcess.start({ home });
    browser = await openBrowser(server.url, { width: 1280, height: 900 });
    page = browser.page;
    page.setDefaultTimeout(10_000);
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    server?.kill();
    await server?.waitForExit();
    rmSync(home, { recursive: true, force: true });
  });

  /** The heatmap canvas's pixel at (x, y) as [r, g, b]. */
  const pixel = (x: number, y: number) =>
    page.evaluate(
      ([px, py]) => {
        const c = (globalThis as any).document.querySelector('.field-heatmap canvas');
        return Array.from(c.getContext('2d').getImageData(px, py, 1, 1).data.slice(0, 3)) as number[];
      },
      [x, y],
    );

  it('moves through the steps of a 2-D field and shows a histogram as bars', async () => {
    const run = await api('POST', '/runs', { name: `fields-${Date.now().toString(36)}` });
    const [ny, nx] = [40, 60];
    for (const step of [0, 10, 20]) {
      // Low on the left, high on the right; the high side moves with the step.
      const field = Float32Array.from({ length: ny * nx }, (_, i) => ((i % nx) + step) / 10);
      await api(
        'PUT',
        `/runs/${run.id}/arrays?name=T&step=${step}&shape=${ny},${nx}&dtype=float32`,
        new Uint8Array(field.buffer),
        'application/octet-stream',
      );
    }
    const counts = Float64Array.of(1, 4, 2);
    const axes = encodeURIComponent(JSON.stringify([{ edges: [0, 1, 2, 3] }]));
    await api(
      'PUT',
      `/runs/${run.id}/arrays?name=q&step=0&shape=3&dtype=float64&axes=${axes}`,
      new Uint8Array(counts.buffer),
      'application/octet-stream',
    );

    await page.goto(`${server.url}/#token=${E2E_TOKEN}`);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.goto(`${server.url}/runs/${run.id}?tab=fields`);
    const canvas = page.getByLabel('heatmap of T at step 20');
    await canvas.waitFor();
    expect(await page.getByLabel('shown step').textContent()).toBe('20');
    expect(await page.locator('.fields-summary').textContent()).toBe('step 20 · min 2 · max 7.9 · mean 4.95');
    expect(await canvas.evaluate((c: any) => [c.width, c.height])).toEqual([60, 40]);
    // Per-step colour range: leftmost column at the bottom of the scale, rightmost at the top.
    expect(await pixel(0, 5)).toEqual([68, 1, 84]);
    expect(await pixel(59, 5)).toEqual([253, 231, 37]);
    await page.screenshot({ path: join(OUT, 'heatmap-step-20.png') });

    const slider = page.getByRole('slider', { name: 'step' });
    await slider.fill('0');
    await page.getByLabel('heatmap of T at step 0').waitFor();
    expect(await page.getByLabel('shown step').textContent()).toBe('0');
    expect(await page.locator('.fields-summary').textContent()).toBe('step 0 · min 0 · max 5.9 · mean 2.95');
    await page.screenshot({ path: join(OUT, 'heatmap-step-0.png') });

    // The value under the pointer: column 30 of row 10 holds (30 + 0) / 10.
    const box = (await page.locator('.field-heatmap canvas').boundingBox())!;
    await page.mouse.move(box.x + ((30 + 0.5) / 60) * box.width, box.y + ((10 + 0.5) / 40) * box.height);
    await expect
      .poll(() => page.getByLabel('value under pointer').textContent())
      .toBe('row 10, column 30: 3');

    // Playback runs through the steps and stops at the last.
    await page.getByRole('button', { name: 'Play' }).click();
    await page.getByLabel('heatmap of T at step 20').waitFor();
    expect(await page.getByLabel('shown step').textContent()).toBe('20');
    await page.getByRole('button', { name: 'Play' }).waitFor();

    await page.getByRole('combobox', { name: 'Array' }).selectOption('q');
    const bars = page.getByRole('img', { name: 'histogram of q' }).locator('rect');
    await expect.poll(() => bars.count()).toBe(3);
    expect(
      await bars.evaluateAll((rs: any[]) => rs.map((r) => r.querySelector('title').textContent)),
    ).toEqual(['0–1: 1', '1–2: 4', '2–3: 2']);
    await page.screenshot({ path: join(OUT, 'histogram.png') });
    expect(browser.errors).toEqual([]);
  }, 60_000);

  it('shows a field of 2048 or more per side through strides of 4s, which the server answers from its coarse level', async () => {
    const run = await api('POST', '/runs', { name: `big-field-${Date.now().toString(36)}` });
    const side = 2100;
    const field = Float32Array.from({ length: side * side }, (_, i) => i);
    await api(
      'PUT',
      `/runs/${run.id}/arrays?name=big&step=0&shape=${side},${side}&dtype=float32`,
      new Uint8Array(field.buffer),
      'application/octet-stream',
    );
    await page.goto(`${server.url}/runs/${run.id}?tab=fields`);
    const canvas = page.getByLabel('heatmap of big at step 0');
    await canvas.waitFor();
    // 2100 / 512 would be a stride of 5; the view takes 8, so every 8th row and column: 263 per side.
    expect(await canvas.evaluate((c: any) => [c.width, c.height])).toEqual([263, 263]);
    const box = await canvas.boundingBox();
    if (!box) throw new Error('the heatmap has no box');
    await page.mouse.move(box.x + ((10 + 0.5) / 263) * box.width, box.y + ((20 + 0.5) / 263) * box.height);
    await expect
      .poll(() => page.getByLabel('value under pointer').textContent())
      .toBe(`row 160, column 80: ${160 * side + 80}`);
    expect(browser.errors).toEqual([]);
  }, 60_000);
});

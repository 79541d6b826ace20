import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../test/fixtures.js';
import { SCREENSHOTS } from './browser.js';
import { screenshots, startWebApp, type WebApp } from './web-harness.js';

const OUT = join(SCREENSHOTS, 'ranks');
const STEPS = 200;

/** The run page's Ranks tab in Chromium: mean with a min–max band across ranks, a rank picker, stragglers. */
describe('web UI ranks tab in Chromium', () => {
  let web: WebApp;

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    web = await startWebApp('simscope-web-ranks-');
  }, 180_000);
  afterAll(async () => {
    await web?.close();
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${web.base}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as any;
  };

  it('draws the mean and min–max band of the picked ranks and names the straggler', async () => {
    const run = await api('POST', '/runs', { name: 'mpi-ranks-ui' });
    const steps = Array.from({ length: STEPS }, (_, i) => i);
    for (const rank of [0, 1, 2, 3]) {
      // Rank 3 takes five times as long per step, and its values sit above the others.
      await api('POST', `/runs/${run.id}/metrics`, {
        writer: `rank-${rank}`,
        seq: 0,
        series: [
          {
            name: `residual@rank=${rank}`,
            steps,
            times: steps.map((s) => s * (rank === 3 ? 0.05 : 0.01)),
            values: steps.map((s) => rank * (rank === 3 ? 2 : 1) + Math.sin(s / 20)),
          },
        ],
      });
    }
    const page = web.browser.page;
    page.setDefaultTimeout(15_000);
    await page.goto(`${web.base}/#token=${ADMIN_TOKEN}`);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.goto(`${web.base}/runs/${run.id}?tab=ranks`);

    const chart = page.locator('.ranks-panel .band-chart');
    await expect.poll(() => chart.getAttribute('data-drawn')).toBe(`1:range:${STEPS}`);
    expect(await page.locator('.ranks-panel').getAttribute('data-ranks')).toBe('all');
    await page.getByRole('button', { name: 'rank = 0–3 · 4 ranks' }).waitFor();
    expect(await chart.locator('figcaption').textContent()).toBe('residual min to max of the ranks, by rank');
    const table = page.locator('.straggler-view');
    await expect.poll(() => table.getAttribute('data-stragglers')).toBe('3');
    expect(await table.locator('tr.straggler').getAttribute('data-rank')).toBe('3');
    expect(await table.locator('figcaption').textContent()).toContain('straggler: rank 3');
    await screenshots(page, OUT, 'ranks-all', true);

    await page.getByRole('checkbox', { name: 'rank 3' }).uncheck();
    await expect.poll(() => page.locator('.ranks-panel').getAttribute('data-ranks')).toBe('0,1,2');
    await page.getByRole('button', { name: 'rank = 0–2 · 3 ranks' }).waitFor();
    await expect.poll(() => chart.getAttribute('data-drawn')).toBe(`1:range:${STEPS}`);
    await screenshots(page, OUT, 'ranks-picked', true);

    await page.getByRole('button', { name: 'All' }).click();
    await page.getByRole('button', { name: 'rank = 0–3 · 4 ranks' }).waitFor();
  }, 120_000);
});

// A run logged through the MLflow-compatible API, as MLflow's clients send it, shows in the web UI like any other.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../test/fixtures.js';
import { type Browser, SCREENSHOTS } from './browser.js';
import { startWebApp, type WebApp } from './web-harness.js';

describe('a run logged through the MLflow API, in the web UI', () => {
  let web: WebApp;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    web = await startWebApp('simscope-web-mlflow-');
    ({ base, browser } = web);
  }, 120_000);
  afterAll(async () => {
    await web?.close();
  });

  /** One MLflow REST call, as MLflow's Python client sends it (JSON body, bearer token). */
  const mlflow = async (path: string, body: unknown) => {
    const res = await fetch(`${base}/mlflow/api/2.0/mlflow/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
    return JSON.parse(text) as Record<string, any>;
  };

  it('shows its name, status, folder, params and metrics on the run page', async () => {
    const { experiment_id } = await mlflow('experiments/create', { name: 'cavity-sweep' });
    const { run } = await mlflow('runs/create', {
      experiment_id,
      run_name: 'mlflow-re400',
      start_time: Date.now() - 60_000,
    });
    const id = run.info.run_id as string;
    const t0 = Date.now() - 50_000;
    await mlflow('runs/log-batch', {
      run_id: id,
      params: [
        { key: 'reynolds', value: '400' },
        { key: 'solver', value: 'icoFoam' },
      ],
      metrics: [0, 1, 2, 3].map((step) => ({
        key: 'loss',
        value: 1 / (step + 1),
        timestamp: t0 + step,
        step,
      })),
    });
    await mlflow('runs/update', { run_id: id, status: 'FINISHED', end_time: Date.now() });

    const page = browser.page;
    await page.goto(`${base}/#token=${ADMIN_TOKEN}`);
    await page.goto(`${base}/runs/${id}`);
    await page.getByRole('heading', { name: 'mlflow-re400' }).waitFor();
    const overview = page.locator('main');
    await expect.poll(() => overview.textContent()).toContain('completed');
    expect(await overview.textContent()).toContain('/cavity-sweep');
    const metadata = page.getByRole('table', { name: 'Metadata' });
    await expect.poll(() => metadata.textContent()).toContain('reynolds');
    expect(await metadata.textContent()).toContain('icoFoam');
    const loss = page.getByRole('table', { name: 'Metric summary' }).locator('tr[data-metric="loss"]');
    await loss.waitFor();
    // last, min, max, points, last step
    expect((await loss.locator('td').allTextContents()).map((c) => c.trim())).toEqual([
      '0.25',
      '0.25',
      '1',
      '4',
      '3',
    ]);
    await page.screenshot({ path: join(SCREENSHOTS, 'mlflow-run.png') });
    expect(browser.errors).toEqual([]);
    expect(browser.outside).toEqual([]);
  });
});

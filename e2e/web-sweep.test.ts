import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, openBrowser, SCREENSHOTS } from './browser.js';
import { E2E_TOKEN } from './server-process.js';
import { type Api, screenshots, startWebServer, type WebServer, WIDE } from './web-harness.js';

const OUT = join(SCREENSHOTS, 'sweep');

/**
 * Issue 20 items 2–4 in Chromium against a real server: groups of runs as bands on the compare page, the grid of
 * all metrics, and the sweep page's parallel coordinates and scatter. Each test makes its own runs.
 */
describe('web UI sweep views in Chromium', () => {
  let web: WebServer;
  let browser: Browser;
  let page: Page;
  let unique = 0;

  const ok: Api = (method, path, body) => web.api(method, path, body);
  const name = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${unique++}`;
  /** A run with metrics logged at steps 0…n-1. */
  const runWith = async (
    run: { name: string; metadata?: object; tags?: string[] },
    metrics: Record<string, (step: number) => number>,
    n = 50,
  ): Promise<string> => {
    const created = await ok('POST', '/runs', run);
    const steps = Array.from({ length: n }, (_, i) => i);
    await ok('POST', `/runs/${created.id}/metrics`, {
      writer: 'w',
      seq: 0,
      series: Object.entries(metrics).map(([metric, f]) => ({ name: metric, steps, values: steps.map(f) })),
    });
    return created.id;
  };

  const shots = (label: string) => screenshots(page, OUT, label, true);
  const signIn = async () => {
    await page.setViewportSize(WIDE);
    await page.goto(`${web.server.url}/#token=${E2E_TOKEN}`);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  };

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    web = await startWebServer('simscope-web-sweep-');
    browser = await openBrowser(web.server.url, WIDE);
    page = browser.page;
    page.setDefaultTimeout(10_000);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  it('groups runs by a metadata key into bands, with a legend that highlights and hides, and caps single lines', async () => {
    const study = name('groups');
    const ids: string[] = [];
    // 22 runs: solver a (10), b (8), c (4); loss = scale × step
    for (let i = 0; i < 22; i++) {
      const solver = i < 10 ? 'a' : i < 18 ? 'b' : 'c';
      const scale = solver === 'a' ? 1 : solver === 'b' ? 2 : 4;
      ids.push(
        await runWith({ name: `${study}-${i}`, metadata: { study, solver } }, { loss: (s) => scale * s + i }),
      );
    }
    await signIn();
    await page.goto(`${web.server.url}/compare?runs=${ids.join(',')}&metric=loss&group=metadata.solver`);
    const bands = page.locator('figure.band-chart');
    // Each group has a point in 50 of the 500 buckets (steps 0…49).
    await expect.poll(() => bands.getAttribute('data-drawn')).toBe('3:std:150');
    const legend = page.getByRole('list', { name: 'Groups of loss' }).getByRole('button');
    expect(await legend.allTextContents()).toEqual([
      'solver = a · 10 runs',
      'solver = b · 8 runs',
      'solver = c · 4 runs',
    ]);
    // Hover highlights one group; a click hides it and a second shows it again.
    await legend.nth(1).hover();
    await expect.poll(() => bands.getAttribute('data-highlight')).toBe('b');
    await legend.nth(1).click();
    expect(await legend.nth(1).getAttribute('aria-pressed')).toBe('false');
    await expect.poll(() => bands.getAttribute('data-drawn')).toBe('2:std:100');
    await page.mouse.move(0, 0);
    await expect.poll(() => bands.getAttribute('data-highlight')).toBe('');
    await legend.nth(1).click();
    await expect.poll(() => bands.getAttribute('data-drawn')).toBe('3:std:150');

    await page.getByLabel('Band').selectOption('range');
    await expect.poll(() => bands.getAttribute('data-drawn')).toBe('3:range:150');
    expect(new URL(page.url()).searchParams.get('band')).toBe('range');

    // 20 of 22 runs drawn one by one, and a control for the rest.
    const cap = page.locator('p.runs-cap');
    expect(await cap.textContent()).toBe('20 of 22 runs drawn one by one. 2 more All 2 more');
    const single = page.locator('figure.chart-card[data-metric="loss"]:not(.band-chart)');
    await expect.poll(() => single.getAttribute('data-points')).toBe(String(20 * 50));
    await shots('group-bands');
    await cap.getByRole('button', { name: '2 more', exact: true }).click();
    await expect.poll(() => cap.count()).toBe(0);
    await expect.poll(() => single.getAttribute('data-points')).toBe(String(22 * 50));
  });

  it('shows every metric of the selected runs in sections, resource metrics apart and last', async () => {
    const study = name('grid');
    const metrics = {
      loss: (s: number) => 1 / (s + 1),
      'residual/p': (s: number) => 10 ** -s,
      'residual/u': (s: number) => 2 * 10 ** -s,
      'system/cpu': () => 50,
      dt: () => 0.003,
    };
    const ids = [
      await runWith({ name: `${study}-1`, metadata: { study } }, metrics, 20),
      await runWith({ name: `${study}-2`, metadata: { study } }, metrics, 20),
    ];
    await signIn();
    await page.goto(`${web.server.url}/compare?runs=${ids.join(',')}`);
    const sections = page.locator('details.metric-section');
    await expect.poll(() => sections.count()).toBe(3);
    expect(
      await sections.evaluateAll((els) =>
        els.map((e: any) => [e.dataset.section, e.querySelector('h2').textContent]),
      ),
    ).toEqual([
      ['metrics', 'metrics (2)'],
      ['residual', 'residual (2)'],
      ['system', 'Resources: system (1)'],
    ]);
    const charts = page.locator('details.metric-section figure.chart-card');
    await expect
      .poll(() => charts.evaluateAll((els) => els.map((e: any) => e.dataset.metric)))
      .toEqual(['dt', 'loss', 'residual/p', 'residual/u', 'system/cpu']);
    await expect
      .poll(() => page.locator('figure[data-metric="residual/u"]').getAttribute('data-points'))
      .toBe('40');
    await shots('metric-grid');

    // The layout saved as a dashboard of the workspace (the resource section closed), opened again by its link.
    await page.locator('details[data-section="system"] > summary').click();
    await page.getByLabel('Name of the new dashboard').fill(`${study} board`);
    await page.getByRole('button', { name: 'Save as new' }).click();
    const share = page.locator('a.share-link');
    await share.waitFor();
    const id = (await share.getAttribute('data-dashboard'))!;
    expect(await share.getAttribute('href')).toBe(`/compare?dashboard=${id}`);
    const stored = await ok('GET', `/dashboards/${id}`);
    expect(stored.layout).toEqual({
      runs: ids,
      metric: null,
      group: null,
      band: 'std',
      x: 'step',
      log: false,
      collapsed: ['system'],
    });
    await page.goto('about:blank');
    await page.goto(`${web.server.url}/compare?dashboard=${id}`);
    await expect.poll(() => page.locator('h1').textContent()).toBe(`Compare 2 runs — ${study} board`);
    expect(new URL(page.url()).searchParams.get('runs')).toBe(ids.join(','));
    await expect.poll(() => sections.count()).toBe(3);
    expect(await sections.evaluateAll((els) => els.map((e: any) => e.open))).toEqual([true, true, false]);
    // A chart of the grid opens alone, where it can be grouped.
    await page.getByRole('button', { name: 'Open residual/p alone (group, bands)' }).click();
    expect(new URL(page.url()).searchParams.get('metric')).toBe('residual/p');
    await expect.poll(() => page.getByLabel('Group by').count()).toBe(1);
  });

  it('draws a sweep as parallel coordinates and a scatter; brushing an axis narrows the runs, linked to the runs table', async () => {
    const study = name('sweep');
    const res = [100, 400, 1000];
    const solvers = ['cg', 'gmres'];
    for (let i = 0; i < 30; i++) {
      const re = res[i % 3]!;
      const solver = solvers[i % 2]!;
      await runWith(
        { name: `${study}-${i}`, metadata: { study, re, solver } },
        { loss: (s) => re / 100 / (s + 1) + i / 1000 },
        10,
      );
    }
    await signIn();
    const filter = `metadata.study == "${study}"`;
    const axes = ['metadata.re', 'metadata.solver', 'last:metrics.loss'].join(',');
    await page.goto(
      `${web.server.url}/sweep?filter=${encodeURIComponent(filter)}&axes=${axes}&x=metadata.re&y=min:metrics.loss`,
    );
    const coords = page.locator('figure.parallel-coords');
    await expect.poll(() => coords.getAttribute('data-runs')).toBe('30');
    expect(await coords.getAttribute('data-selected')).toBe('30');
    const scatter = page.locator('figure.scatter-plot');
    await expect.poll(() => scatter.getAttribute('data-points')).toBe('30');

    // Brush the top of the Re axis (the first, at the left padding): only Re = 1000.
    const box = (await coords.locator('canvas').boundingBox())!;
    const x = box.x + 56;
    await page.mouse.move(x, box.y + 20);
    await page.mouse.down();
    await page.mouse.move(x, box.y + 80, { steps: 4 });
    await page.mouse.up();
    await expect.poll(() => coords.getAttribute('data-selected')).toBe('10');
    const link = page.getByRole('link', { name: 'Show these runs in the runs table' });
    const dragged = (await link.getAttribute('data-filter'))!;
    expect(dragged).toMatch(
      new RegExp(
        `^\\(${filter.replace(/[.()"]/g, '\\$&')}\\) and metadata\\.re >= [0-9.]+ and metadata\\.re <= 1000$`,
      ),
    );
    await shots('sweep');
    // The same by hand, from the keyboard: Re from 400 to 1000.
    await page.getByText('Brush ranges by hand').click();
    const re = page.getByRole('group', { name: 're' });
    await re.getByLabel('from').fill('400');
    await re.getByLabel('from').press('Tab');
    await expect.poll(() => coords.getAttribute('data-selected')).toBe('20');
    expect(await link.getAttribute('data-filter')).toBe(
      `(${filter}) and metadata.re >= 400 and metadata.re <= 1000`,
    );
    await re.getByLabel('from').fill('');
    await re.getByLabel('from').press('Tab');
    await re.getByLabel('to').fill('');
    await re.getByLabel('to').press('Tab');
    await expect.poll(() => coords.getAttribute('data-selected')).toBe('30');
    await re.getByLabel('from').fill('400');
    await re.getByLabel('from').press('Tab');
    await re.getByLabel('to').fill('400');
    await re.getByLabel('to').press('Tab');
    await expect.poll(() => coords.getAttribute('data-selected')).toBe('10');
    const narrowed = (await link.getAttribute('data-filter'))!;
    expect(narrowed).toBe(`(${filter}) and metadata.re >= 400 and metadata.re <= 400`);
    await link.click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/');
    expect(new URL(page.url()).searchParams.get('filter')).toBe(narrowed);
    await expect.poll(() => page.locator('#runs-count').textContent()).toBe('10 runs');
  });
});

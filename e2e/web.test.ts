import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, buildWeb, openBrowser, SCREENSHOTS } from './browser.js';
import { buildServer, E2E_TOKEN, ServerProcess } from './server-process.js';

const XSS_NAME = '<img src=x onerror="window.__xss=1">';
const XSS_SCRIPT = '<script>window.__xss=2</script>';
const SPIKY_POINTS = 100_000;

/** A deterministic series with a slow wave, small noise and sharp spikes (what M4 must not lose). */
function spiky(n: number): number[] {
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const values = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let v = Math.sin(i / 2000) + (rand() - 0.5) * 0.2;
    if (rand() < 0.002) v += (rand() < 0.5 ? -1 : 1) * (3 + rand() * 5);
    values[i] = v;
  }
  return values;
}

describe('web UI in Chromium', () => {
  let home: string;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  const ids: Record<string, string> = {};

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${E2E_TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? undefined : ((await res.json()) as any);
  };
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });

  beforeAll(async () => {
    buildServer();
    buildWeb();
    home = mkdtempSync(join(tmpdir(), 'simscope-web-e2e-'));
    server = await ServerProcess.start({ home });
    for (const [i, re] of [100, 400, 1000, 5000].entries()) {
      const run = await api('POST', '/runs', {
        name: `cavity-re${re}`,
        folder: '/cfd/cavity',
        tags: re >= 1000 ? ['baseline'] : [],
        metadata: { re, solver: i % 2 ? 'piso' : 'simple', mesh: 400 },
        status: 'running',
      });
      ids[run.name] = run.id;
      await api('POST', `/runs/${run.id}/metrics`, {
        writer: 'w',
        seq: 0,
        series: [{ name: 'residual', values: Array.from({ length: 200 }, (_, k) => re / (k + 1)) }],
      });
    }
    const xss = await api('POST', '/runs', {
      name: XSS_NAME,
      folder: '/cfd/channel',
      description: `<b>bold?</b> ${XSS_SCRIPT}`,
      tags: ['<i>tag</i>'],
      metadata: { note: XSS_SCRIPT, html: '<img src=x onerror="window.__xss=3">' },
    });
    ids.xss = xss.id;
    await api('POST', `/runs/${xss.id}/events`, {
      writer: 'w',
      seq: 0,
      events: [
        { level: 'warning', message: `${XSS_SCRIPT}<b>not bold</b>` },
        { level: 'info', message: 'mesh loaded' },
      ],
    });
    const spike = await api('POST', '/runs', {
      name: 'spiky',
      folder: '/signals',
      metadata: { re: 1000, solver: 'les' },
    });
    ids.spiky = spike.id;
    await api('POST', `/runs/${spike.id}/metrics`, {
      writer: 'w',
      seq: 0,
      series: [{ name: 'signal', values: spiky(SPIKY_POINTS) }],
    });
    await api('POST', '/folders', { path: '/cfd', description: 'Fluid dynamics studies' });
    browser = await openBrowser(server.url);
    page = browser.page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    server?.kill();
    await server?.waitForExit();
    rmSync(home, { recursive: true, force: true });
  });

  it('signs in with the link the server prints and lists the runs', async () => {
    await page.goto(`${server.url}/#token=${E2E_TOKEN}`);
    await page.getByRole('table', { name: 'Runs' }).waitFor();
    await page.getByText('6 runs').waitFor();
    expect(new URL(page.url()).hash).toBe('');
    const names = await page.locator('table.runs tbody tr[data-row] td:nth-child(2)').allInnerTexts();
    expect(names).toEqual([
      'spiky',
      XSS_NAME,
      'cavity-re5000',
      'cavity-re1000',
      'cavity-re400',
      'cavity-re100',
    ]);
    await shot('runs');
  });

  it('shows names, metadata, descriptions and events holding HTML as text', async () => {
    expect(await page.getByRole('link', { name: XSS_NAME }).count()).toBe(1);
    expect(await page.locator('img').count()).toBe(0);
    await page.getByRole('link', { name: XSS_NAME }).click();
    await page.getByRole('heading', { name: XSS_NAME }).waitFor();
    await page.getByText(`<b>bold?</b> ${XSS_SCRIPT}`).waitFor();
    await page.getByRole('cell', { name: XSS_SCRIPT }).waitFor();
    await page.getByText('<i>tag</i>').first().waitFor();
    await page.getByRole('tab', { name: 'Events' }).click();
    await page.getByText(`${XSS_SCRIPT}<b>not bold</b>`).waitFor();
    expect(await page.locator('main img, main script, main b, main i').count()).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    await shot('events-html-as-text');
  });

  it('filters the runs with the filter language and shows a bad filter in place', async () => {
    await page.goto(`${server.url}/`);
    const box = page.getByRole('searchbox', { name: 'Filter runs' });
    await box.fill('metadata.re >= 1000 and has tag.baseline');
    await box.press('Enter');
    await page.getByText('2 runs').waitFor();
    const names = await page.locator('table.runs tbody tr[data-row] td:nth-child(2)').allInnerTexts();
    expect(names).toEqual(['cavity-re5000', 'cavity-re1000']);
    expect(new URL(page.url()).searchParams.get('filter')).toBe('metadata.re >= 1000 and has tag.baseline');
    await box.fill('metadata.re >= and');
    const alert = page.locator('#filter-error');
    await alert.waitFor();
    expect(await box.getAttribute('aria-invalid')).toBe('true');
    expect(await alert.textContent()).toMatch(/^metadata\.re >= and\n {15}\^\n.*\(at column 16\)$/);
    await shot('runs-filter-error');
    await box.fill('');
    await box.press('Enter');
    await page.getByText('6 runs').waitFor();
  });

  it('opens a run and draws a chart of all its points', async () => {
    await page.goto(`${server.url}/runs/${ids.spiky}?tab=metrics`);
    const card = page.locator('figure.chart-card[data-metric="signal"]');
    await card
      .locator('[data-state="drawn"]')
      .or(card.and(page.locator('[data-state="drawn"]')))
      .first()
      .waitFor();
    await page.waitForFunction(
      () => document.querySelector('figure[data-metric="signal"]')?.getAttribute('data-state') === 'drawn',
    );
    expect(await card.getAttribute('data-points')).toBe(String(SPIKY_POINTS));
    await card.getByText('100,000 points').waitFor();
    await shot('run-chart');
  });
});

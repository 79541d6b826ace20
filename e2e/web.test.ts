import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
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

/** A valid 2×2 RGB PNG (red, green / blue, white). */
function tinyPng(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.from([0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0]);
  const raw = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
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
  /** The names in the runs table, in the order shown (poll it: the table may still be redrawing when the count shows). */
  const runNames = () => page.locator('table.runs tbody tr[data-row] td:nth-child(2)').allInnerTexts();
  /** Opens `path` signed in, whatever page an earlier test left open: each test starts from its own page. */
  const open = async (path: string) => {
    // From a blank page, so that a path equal to the current one but for the hash still loads anew.
    await page.goto('about:blank');
    await page.goto(`${server.url}${path}#token=${E2E_TOKEN}`);
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
    page.setDefaultTimeout(10_000);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    server?.kill();
    await server?.waitForExit();
    rmSync(home, { recursive: true, force: true });
  });

  it('signs in with the link the server prints and lists the runs', async () => {
    await open('/');
    await page.evaluate(() => (globalThis as any).localStorage.clear());
    await page.goto('about:blank');
    await page.goto(`${server.url}/#token=${E2E_TOKEN}`);
    await page.getByRole('table', { name: 'Runs' }).waitFor();
    await page.getByText('6 runs').waitFor();
    expect(new URL(page.url()).hash).toBe('');
    await expect
      .poll(runNames)
      .toEqual(['spiky', XSS_NAME, 'cavity-re5000', 'cavity-re1000', 'cavity-re400', 'cavity-re100']);
    await shot('runs');
  });

  it('shows names, metadata, descriptions and events holding HTML as text', async () => {
    await open('/');
    await page.getByRole('link', { name: XSS_NAME }).waitFor();
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
    await open('/');
    const box = page.getByRole('searchbox', { name: 'Filter runs' });
    await box.fill('metadata.re >= 1000 and has tag.baseline');
    await box.press('Enter');
    await page.getByText('2 runs').waitFor();
    await expect.poll(runNames).toEqual(['cavity-re5000', 'cavity-re1000']);
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

  it('adds metadata and last-metric columns and sorts by any column', async () => {
    await open('/');
    await page.getByRole('button', { name: 'Columns' }).click();
    await page.getByRole('checkbox', { name: 're', exact: true }).check();
    await page.getByRole('checkbox', { name: 'residual', exact: true }).check();
    await page.getByRole('columnheader', { name: 'residual' }).waitFor();
    const sortBy = (label: string) =>
      page.getByRole('columnheader', { name: label, exact: true }).getByRole('button').click();
    const column = async (n: number) =>
      page.locator(`table.runs tbody tr[data-row] td:nth-child(${n})`).allTextContents();
    await expect.poll(() => column(8)).toEqual(['1000', '', '5000', '1000', '400', '100']);
    expect(await column(9)).toEqual(['', '', '25', '5', '2', '0.5']);
    await sortBy('re');
    await expect
      .poll(() => column(2))
      .toEqual(['cavity-re100', 'cavity-re400', 'spiky', 'cavity-re1000', 'cavity-re5000', XSS_NAME]);
    expect(await page.getByRole('columnheader', { name: 're', exact: true }).getAttribute('aria-sort')).toBe(
      'ascending',
    );
    await sortBy('re');
    expect(await column(2)).toEqual([
      'cavity-re5000',
      'spiky',
      'cavity-re1000',
      'cavity-re400',
      'cavity-re100',
      XSS_NAME,
    ]);
    await sortBy('Name');
    expect(await column(2)).toEqual([
      XSS_NAME,
      'cavity-re100',
      'cavity-re1000',
      'cavity-re400',
      'cavity-re5000',
      'spiky',
    ]);
    await shot('runs-columns');
    await page.getByRole('checkbox', { name: 're', exact: true }).uncheck();
    await page.getByRole('checkbox', { name: 'residual', exact: true }).uncheck();
    await page.getByRole('button', { name: 'Columns' }).click();
  });

  it('adds runs created elsewhere to the table, and takes deleted ones out, without a reload', async () => {
    await open('/');
    await page.getByText('6 runs').waitFor();
    await page.waitForFunction(
      () => (globalThis as any).document.documentElement.dataset.liveReady === 'runs',
    );
    const late = await api('POST', '/runs', { name: 'late-arrival', folder: '/cfd/cavity' });
    await page.getByText('7 runs').waitFor();
    expect(await page.locator('table.runs tbody tr[data-row] td:nth-child(2)').first().textContent()).toBe(
      'late-arrival',
    );
    await api('PATCH', `/runs/${late.id}`, { status: 'failed' });
    await expect
      .poll(() => page.locator('table.runs tbody tr[data-row]').first().locator('.status').textContent())
      .toBe('failed');
    await api('DELETE', `/runs/${late.id}`);
    await page.getByText('6 runs').waitFor();
    expect(await page.getByRole('link', { name: 'late-arrival' }).count()).toBe(0);
  });

  const chart = (metric: string) => page.locator(`figure.chart-card[data-metric="${metric}"]`);
  /** Waits until the chart's last drawing matches, and returns what it drew. */
  const drawn = async (metric: string, match: RegExp) => {
    const card = chart(metric);
    await expect
      .poll(async () => (await card.getAttribute('data-drawn')) ?? '', { timeout: 15_000 })
      .toMatch(match);
    return {
      key: (await card.getAttribute('data-drawn'))!,
      points: Number(await card.getAttribute('data-points')),
      linePoints: Number(await card.getAttribute('data-line-points')),
      range: (await card.getAttribute('data-range'))!.split(',').map(Number),
      pixels: await card.locator('canvas').evaluate((c: any) => c.toDataURL('image/png') as string),
      inked: await card.locator('canvas').evaluate((c: any) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
      }),
    };
  };

  it('opens a run and draws a chart of all its points', async () => {
    await open(`/runs/${ids.spiky}?tab=metrics`);
    const first = await drawn('signal', /^\d+:buckets:all$/);
    expect(first.points).toBe(SPIKY_POINTS);
    expect(first.range[0]).toBe(0);
    expect(first.range[1]).toBeGreaterThan(SPIKY_POINTS - 1);
    expect(first.range[1]).toBeLessThan(SPIKY_POINTS - 0.99);
    await chart('signal').getByText('100,000 points').waitFor();
    await shot('run-chart');
  });

  it('draws the downsampled series pixel for pixel as it draws every point, zoomed out and in', async () => {
    await open(`/runs/${ids.spiky}?tab=metrics`);
    const buckets = await drawn('signal', /:buckets:all$/);
    // M4 sends at most four points per pixel column of the plot: a few thousand, not 100,000.
    expect(buckets.linePoints).toBeGreaterThan(1000);
    expect(buckets.linePoints).toBeLessThan(4 * 700);
    expect(buckets.inked).toBeGreaterThan(5000);
    await page.getByRole('checkbox', { name: 'every point' }).check();
    const every = await drawn('signal', /:every:all$/);
    expect(every.linePoints).toBe(SPIKY_POINTS);
    expect(every.range).toEqual(buckets.range);
    expect(every.pixels).toBe(buckets.pixels);

    await chart('signal').locator('.plot').press('+');
    const everyZoomed = await drawn('signal', /:every:zoomed$/);
    await page.getByRole('checkbox', { name: 'every point' }).uncheck();
    const bucketsZoomed = await drawn('signal', /:buckets:zoomed$/);
    expect(bucketsZoomed.range).toEqual(everyZoomed.range);
    expect(bucketsZoomed.linePoints).toBeLessThan(4 * 702);
    expect(bucketsZoomed.pixels).toBe(everyZoomed.pixels);
    expect(bucketsZoomed.pixels).not.toBe(buckets.pixels);
    await shot('run-chart-zoomed');
  });

  it('zooms with the keyboard, by dragging, and back out, fetching finer data each time', async () => {
    await open(`/runs/${ids.spiky}?tab=metrics`);
    await drawn('signal', /:buckets:all$/);
    await chart('signal').locator('.plot').press('+');
    await drawn('signal', /:buckets:zoomed$/);
    await page.getByRole('button', { name: 'Show all of signal' }).click();
    const all = await drawn('signal', /:buckets:all$/);
    const plot = chart('signal').locator('.plot');
    await plot.press('+');
    const half = await drawn('signal', /:buckets:zoomed$/);
    const span = all.range[1]! - all.range[0]!;
    expect(half.range[1]! - half.range[0]!).toBeCloseTo(span / 2, 6);
    // Points counted over the view plus one column outside each edge.
    expect(half.points).toBeGreaterThan(49_800);
    expect(half.points).toBeLessThan(50_400);
    await chart('signal')
      .getByText(/^50,\d{3} points in view$/)
      .waitFor();

    const over = chart('signal').locator('.u-over');
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    const dragged = await drawn('signal', new RegExp(`^(?!${half.key.split(':')[0]}:)\\d+:buckets:zoomed$`));
    const width = dragged.range[1]! - dragged.range[0]!;
    expect(width).toBeGreaterThan(span / 2 / 4 - span / 500);
    expect(width).toBeLessThan(span / 2 / 4 + span / 500);
    expect(dragged.points).toBeLessThan(13_500);
    await shot('run-chart-dragged');
    await plot.press('0');
    const back = await drawn('signal', /:buckets:all$/);
    expect(back.points).toBe(SPIKY_POINTS);
  });

  it('moves between the run tabs with the arrow keys', async () => {
    await open(`/runs/${ids.spiky}?tab=metrics`);
    const metricsTab = page.getByRole('tab', { name: 'Metrics' });
    await metricsTab.focus();
    await metricsTab.press('ArrowRight');
    await page.getByRole('tab', { name: 'Events', selected: true }).waitFor();
    expect(new URL(page.url()).searchParams.get('tab')).toBe('events');
    await page.getByRole('tab', { name: 'Events' }).press('Home');
    await page.getByRole('tab', { name: 'Overview', selected: true }).waitFor();
    await page.getByRole('cell', { name: 'les' }).waitFor();
  });

  it('shows new points, events and status of a running run without a reload', async () => {
    // A run of its own: the points, event and status it adds would change what other tests count.
    const { id } = await api('POST', '/runs', { name: 'live-cavity', folder: '/live', status: 'running' });
    await api('POST', `/runs/${id}/metrics`, {
      writer: 'w',
      seq: 0,
      series: [{ name: 'residual', values: Array.from({ length: 200 }, (_, k) => 100 / (k + 1)) }],
    });
    await open(`/runs/${id}?tab=metrics`);
    await page.waitForFunction(
      (run) => (globalThis as any).document.documentElement.dataset.liveReady === run,
      id,
    );
    const before = await drawn('residual', /:buckets:all$/);
    expect(before.points).toBe(200);
    await page.evaluate(() => {
      (globalThis as any).__reloaded = false;
    });
    await api('POST', `/runs/${id}/metrics`, {
      writer: 'w',
      seq: 1,
      series: [{ name: 'residual', values: Array.from({ length: 50 }, (_, k) => 0.5 / (k + 1)) }],
    });
    await expect.poll(async () => Number(await chart('residual').getAttribute('data-points'))).toBe(250);
    await chart('residual').getByText('250 points').waitFor();
    const after = await drawn('residual', /:buckets:all$/);
    expect(after.range[1]).toBeGreaterThan(249);
    expect(after.pixels).not.toBe(before.pixels);
    await shot('live-chart');

    await page.getByRole('tab', { name: 'Events' }).click();
    await page.getByText('No events.').waitFor();
    await api('POST', `/runs/${id}/events`, {
      writer: 'w',
      seq: 0,
      events: [{ message: 'step 250 reached' }],
    });
    await page.getByText('step 250 reached').waitFor();
    await api('PATCH', `/runs/${id}`, { status: 'completed' });
    await expect.poll(() => page.getByTestId('run-status').textContent()).toBe('completed');
    expect(await page.evaluate(() => (globalThis as any).__reloaded)).toBe(false);
    await shot('live-events');
    await api('DELETE', `/runs/${id}`);
  });

  it('compares one metric of the selected runs and shows the metadata that differs', async () => {
    // Runs of its own: this test once counted points and a status that another test had added to cavity-re100.
    const made: string[] = [];
    for (const [name, re, solver, points, status] of [
      ['compare-re100', 100, 'simple', 250, 'completed'],
      ['compare-re400', 400, 'piso', 200, 'running'],
    ] as const) {
      const run = await api('POST', '/runs', {
        name,
        folder: '/compare',
        metadata: { re, solver, mesh: 400 },
        status: 'running',
      });
      made.push(run.id);
      await api('POST', `/runs/${run.id}/metrics`, {
        writer: 'w',
        seq: 0,
        series: [{ name: 'residual', values: Array.from({ length: points }, (_, k) => re / (k + 1)) }],
      });
      if (status !== 'running') await api('PATCH', `/runs/${run.id}`, { status });
    }
    await open('/');
    await page.getByRole('checkbox', { name: 'Select compare-re100 for comparison' }).check();
    await page.getByRole('checkbox', { name: 'Select compare-re400 for comparison' }).check();
    await page.getByRole('button', { name: 'Compare 2 selected' }).click();
    await page.getByRole('heading', { name: 'Compare 2 runs' }).waitFor();
    const c = await drawn('residual', /:buckets:all$/);
    expect(c.points).toBe(450);
    // Without a metric picked, the page shows the grid of all the runs' metrics (issue 20, item 3).
    expect(new URL(page.url()).searchParams.get('metric')).toBeNull();
    expect(await page.locator('details.metric-section').getAttribute('data-section')).toBe('metrics');
    const table = page.getByRole('table', { name: 'Metadata by run' });
    const rows = await table.locator('tbody tr').allTextContents();
    expect(rows).toEqual(['statuscompletedrunning', 're100400', 'solversimplepiso']);
    await shot('compare');
    for (const id of made) await api('DELETE', `/runs/${id}`);
  });

  it('edits a folder: description, tags and metadata', async () => {
    await open(`/folders/cfd`);
    await page.getByRole('heading', { name: 'Folder /cfd' }).waitFor();
    expect(await page.getByLabel('Description').inputValue()).toBe('Fluid dynamics studies');
    await page.getByLabel('Metadata (JSON)').fill('{"owner": ');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').filter({ hasText: 'Metadata:' }).waitFor();
    await page.getByLabel('Description').fill('Cavity and <channel> flows');
    await page.getByLabel('Tags').fill('cfd, validated');
    await page.getByLabel('Metadata (JSON)').fill('{"owner": "ada", "budget": 12}');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    const folder = await api('GET', '/folders/%2Fcfd');
    expect(folder).toMatchObject({
      description: 'Cavity and <channel> flows',
      tags: ['cfd', 'validated'],
      metadata: { owner: 'ada', budget: 12 },
    });
    await shot('folder');
  });

  it('switches to the dark theme and keeps it', async () => {
    await open(`/runs/${ids.spiky}?tab=metrics`);
    const light = await drawn('signal', /:buckets:all$/);
    const colour = (rgb: number[]) =>
      chart('signal')
        .locator('canvas')
        .evaluate((c: any, [r, g, b]: number[]) => {
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i] === r && d[i + 1] === g && d[i + 2] === b) n++;
          return n;
        }, rgb);
    // The series colour of each theme (--series-0), in the line's vertical strokes.
    expect(await colour([31, 119, 180])).toBeGreaterThan(100);
    await page.getByRole('combobox', { name: 'Theme' }).selectOption('dark');
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.dataset.theme)).toBe(
      'dark',
    );
    const bg = await page.evaluate(() => {
      const w = globalThis as any;
      return w.getComputedStyle(w.document.body).backgroundColor;
    });
    expect(bg).toBe('rgb(20, 23, 28)');
    await drawn('signal', new RegExp(`^(?!${light.key.split(':')[0]}:)\\d+:buckets:all$`));
    expect(await colour([78, 161, 243])).toBeGreaterThan(100);
    expect(await colour([31, 119, 180])).toBe(0);
    await shot('run-chart-dark');
    await page.reload();
    await page.getByRole('heading', { name: 'spiky' }).waitFor();
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.dataset.theme)).toBe(
      'dark',
    );
    await open('/');
    await page.getByText('6 runs').waitFor();
    await shot('runs-dark');
  });

  it("lists a run's artifacts by category, previews text, image, JSON and CSV, and downloads the bytes", async () => {
    const run = await api('POST', '/runs', { name: 'with-artifacts', folder: '/files' });
    const png = tinyPng();
    const files: { name: string; category: string; type: string; body: Buffer }[] = [
      {
        name: 'solver.log',
        category: 'output',
        type: 'text/plain',
        body: Buffer.from(`step 1\n${XSS_SCRIPT}\n`),
      },
      { name: 'plots/field.png', category: 'output', type: 'image/png', body: png },
      {
        name: 'params.json',
        category: 'input',
        type: 'application/json',
        body: Buffer.from('{"re":1000,"mesh":[40,40]}'),
      },
      {
        name: 'table.csv',
        category: 'output',
        type: 'text/csv',
        body: Buffer.from('x,y\n1,"a, b"\n2,<b>c</b>\n'),
      },
      { name: 'run.py', category: 'code', type: 'text/x-python', body: Buffer.from('print(1)\n') },
    ];
    for (const f of files) {
      const q = new URLSearchParams({ name: f.name, category: f.category });
      const res = await fetch(`${server.url}/api/v1/runs/${run.id}/artifacts?${q}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${E2E_TOKEN}`, 'content-type': f.type },
        body: f.body,
      });
      expect(res.status).toBe(201);
    }
    await open(`/runs/${run.id}?tab=artifacts`);
    const panel = page.getByRole('tabpanel');
    await panel.getByRole('heading', { name: 'Outputs (3)' }).waitFor();
    await panel.getByRole('heading', { name: 'Inputs (1)' }).waitFor();
    await panel.getByRole('heading', { name: 'Code (1)' }).waitFor();
    expect(await page.getByRole('tab', { name: 'Artifacts' }).getAttribute('aria-selected')).toBe('true');
    const row = page.locator('tr[data-artifact="plots/field.png"]');
    expect(await row.locator('td').allInnerTexts()).toEqual([
      'plots/field.png',
      `${png.length} B`,
      'image/png',
      expect.any(String),
      expect.stringContaining('Download'),
    ]);

    await page.getByRole('button', { name: 'Preview of solver.log' }).click();
    const log = page.getByRole('region', { name: 'Preview of solver.log' });
    expect(await log.locator('pre').textContent()).toBe(`step 1\n${XSS_SCRIPT}\n`);
    await page.getByRole('button', { name: 'Preview of params.json' }).click();
    const json = page.getByRole('region', { name: 'Preview of params.json' });
    expect(await json.locator('pre').innerText()).toBe(JSON.stringify({ re: 1000, mesh: [40, 40] }, null, 2));
    await page.getByRole('button', { name: 'Preview of table.csv' }).click();
    const csv = page.getByRole('table', { name: 'Preview of table.csv' });
    await csv.waitFor();
    expect(await csv.locator('th').allInnerTexts()).toEqual(['x', 'y']);
    expect(await csv.locator('tbody td').allInnerTexts()).toEqual(['1', 'a, b', '2', '<b>c</b>']);
    await page.getByRole('button', { name: 'Preview of plots/field.png' }).click();
    const img = page.getByRole('img', { name: 'Preview of plots/field.png' });
    await img.waitFor();
    await page.waitForFunction(
      () => (globalThis as any).document.querySelector('.artifact-preview img')?.naturalWidth === 2,
    );
    await shot('run-artifacts');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download plots/field.png' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('field.png');
    const saved = await download.path();
    expect(Buffer.compare(readFileSync(saved), png)).toBe(0);
    expect(await page.evaluate(() => (globalThis as any).__xss)).toBeUndefined();
    // The runs list other tests count holds only the runs made before them.
    await api('DELETE', `/runs/${run.id}`);
  });

  it('shows an alert that went critical, with its transition', async () => {
    const run = await api('POST', '/runs', { name: 'alerting', folder: '/files', status: 'running' });
    await api('POST', `/runs/${run.id}/alerts`, {
      name: 'mesh quality',
      source: 'user',
      description: 'cells too skewed',
    });
    await api('POST', `/runs/${run.id}/alerts`, {
      name: 'residual high',
      source: 'metrics',
      metric: 'residual',
      rule: 'is above',
      threshold: 10,
      aggregation: 'average',
      window: 300,
      frequency: 60,
    });
    await open(`/runs/${run.id}?tab=alerts`);
    const table = page.getByRole('table', { name: 'Alerts' });
    await table.waitFor();
    const mesh = page.locator('tr[data-alert="mesh quality"]');
    expect(await mesh.locator('td').first().innerText()).toBe('OK');
    await api('PUT', `/runs/${run.id}/alerts/mesh%20quality/state`, {
      state: 'critical',
      message: 'skewness 12 > 4',
    });
    // The panel looks again every 5 s.
    await mesh.locator('.alert-critical').waitFor({ timeout: 8000 });
    expect(await mesh.locator('td').first().innerText()).toBe('Critical');
    await page.getByText('2 alerts, 1 critical').waitFor();
    expect(await page.locator('tr[data-alert="residual high"] td').nth(3).innerText()).toBe(
      'metric residual is above 10 (average over 5 min)',
    );
    await page.getByRole('button', { name: 'Show history of mesh quality' }).click();
    const history = page.getByRole('table', { name: 'History of mesh quality' });
    await history.waitFor();
    expect(await history.locator('tbody tr td').allInnerTexts()).toEqual([
      expect.any(String),
      'OK',
      'Critical',
      '—',
      'skewness 12 > 4',
    ]);
    await shot('run-alerts');
    await api('DELETE', `/runs/${run.id}`);
  });

  it("charts a telemetry service's calls per function, with totals and recent records", async () => {
    const key = await api('POST', '/admin/telemetry/keys', { service: 'catalog/search', name: 'web test' });
    const now = Date.now() * 1000;
    const records = [
      ...Array.from({ length: 5 }, (_, i) => ({
        function: 'esm_datastore.search',
        args: ['tas'],
        kwargs: { frequency: 'mon' },
        session_id: 's1',
        timestamp: now - i * 3600e6,
      })),
      ...Array.from({ length: 2 }, (_, i) => ({
        function: 'DfFileCatalog.search',
        kwargs: { variable: '<b>pr</b>' },
        timestamp: now - 1800e6 - i * 7200e6,
      })),
    ];
    const res = await fetch(`${server.url}/api/v1/telemetry/catalog/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ writer: 't-web', seq: 0, records }),
    });
    expect(res.status).toBe(200);
    await open('/');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Telemetry' }).click();
    await page.getByRole('heading', { name: 'Telemetry' }).waitFor();
    expect(await page.getByLabel('Service').inputValue()).toBe('catalog/search');
    const totals = page.getByRole('table', { name: 'Calls per function' });
    await totals.waitFor();
    expect(await totals.locator('tbody td').allInnerTexts()).toEqual([
      'esm_datastore.search',
      '5',
      'DfFileCatalog.search',
      '2',
    ]);
    await page.locator('[data-testid="usage-chart"] canvas').waitFor();
    const recent = page.getByRole('table', { name: 'Recent records' });
    await recent.waitFor();
    expect(await recent.locator('tbody tr').count()).toBe(7);
    expect(await recent.locator('tbody tr').first().locator('td').nth(2).innerText()).toBe(
      '"tas", frequency="mon"',
    );
    await page.getByLabel('Period').selectOption('1d');
    await totals.waitFor();
    await shot('telemetry');
  });

  it('asked nothing of any other server and logged no errors', async () => {
    // Over what the tests before it did, and, when it runs alone, over the pages it opens itself.
    await open('/');
    await page.getByRole('table', { name: 'Runs' }).waitFor();
    await open(`/runs/${ids.spiky}?tab=metrics`);
    await drawn('signal', /:buckets:all$/);
    expect(browser.outside).toEqual([]);
    expect(browser.errors).toEqual([]);
  });

  it('signs out, and refuses a bad token with a message', async () => {
    await open('/');
    const errorsBefore = browser.errors.length;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Access token').fill('ssk_not_a_token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This token is not valid (unknown, revoked or expired).').waitFor();
    // The refused token is the one error the browser logs here; taken out, so the no-errors test holds after this.
    expect(browser.errors.splice(errorsBefore)).toEqual([
      'Failed to load resource: the server responded with a status of 401 (Unauthorized)',
    ]);
    await shot('sign-in');
    await page.getByLabel('Access token').fill(E2E_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('table', { name: 'Runs' }).waitFor();
  });
});

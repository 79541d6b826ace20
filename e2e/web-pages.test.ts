import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, openBrowser, SCREENSHOTS } from './browser.js';
import { type Fault, FaultProxy } from './fault-proxy.js';
import { E2E_TOKEN } from './server-process.js';
import { frames, PHONE, startWebServer, type WebServer, WIDE } from './web-harness.js';

const OUT = join(SCREENSHOTS, 'pages');

/**
 * The UI's states, run overview and actions, alerts page and narrow layout, in Chromium, through a real proxy
 * that can hold, drop or fail the API's answers. Each test signs in and makes its own runs.
 */
describe('web UI pages in Chromium', () => {
  let web: WebServer;
  let proxy: FaultProxy;
  let browser: Browser;
  let page: Page;
  let readToken: string;
  /** What the proxy does with API requests whose path starts with `faultPath`. */
  let fault: Fault = { kind: 'forward' };
  let faultPath = '';
  /** While set, requests under `holdPath` wait for it. */
  let hold: Promise<void> | null = null;
  let holdPath = '';
  let unique = 0;

  const api = async (method: string, path: string, body?: unknown, token = E2E_TOKEN) => {
    const res = await fetch(`${web.server.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const ok = async (method: string, path: string, body?: unknown) => {
    const res = await api(method, path, body);
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const name = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${unique++}`;

  const signIn = async (token = E2E_TOKEN) => {
    await page.setViewportSize(WIDE);
    await page.goto(`${proxy.url}/#token=${token}`);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  };
  const noOverflow = () => page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth);
  /** The elements that reach past the right edge (to say what overflows when a width check fails). */
  const overflowing = () =>
    page.evaluate((w) => {
      const d = (globalThis as any).document;
      return Array.from(d.querySelectorAll('body *'))
        .filter((e: any) => {
          if (e.getBoundingClientRect().right <= w + 0.5) return false;
          // Inside a box that scrolls sideways on its own, it does not widen the page.
          for (let p = e.parentElement; p; p = p.parentElement) {
            if (['auto', 'scroll', 'hidden'].includes((globalThis as any).getComputedStyle(p).overflowX))
              return false;
          }
          return true;
        })
        .slice(0, 8)
        .map(
          (e: any) =>
            `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`,
        );
    }, PHONE.width);
  /** Screenshots at 1440×900 and 390×844; at 390 px the page must not scroll sideways. */
  const shots = async (label: string) => {
    await page.setViewportSize(WIDE);
    await frames(page);
    await page.screenshot({ path: join(OUT, `${label}-1440.png`) });
    await page.setViewportSize(PHONE);
    await expect
      .poll(async () => ((await noOverflow()) <= PHONE.width ? [] : await overflowing()), { message: label })
      .toEqual([]);
    await page.screenshot({ path: join(OUT, `${label}-390.png`) });
    await page.setViewportSize(WIDE);
  };

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    web = await startWebServer('simscope-web-pages-');
    proxy = await FaultProxy.start(web.server.url, {
      plan: ({ url }) => (faultPath && url.startsWith(faultPath) ? fault : { kind: 'forward' }),
      before: async ({ url }) => {
        if (hold && url.startsWith(holdPath)) await hold;
      },
    });
    const me = await ok('GET', '/me');
    readToken = (await ok('POST', '/admin/tokens', { user: me.user.name, name: 'viewer', scopes: ['read'] }))
      .token;
    browser = await openBrowser(proxy.url, WIDE);
    page = browser.page;
    page.setDefaultTimeout(10_000);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await web?.stop();
  });

  it('shows loading, empty, unreachable, failing and unknown pages as what they are, with a retry', async () => {
    const folder = `/${name('states')}`;
    const ids: string[] = [];
    for (const n of ['a', 'b']) {
      const run = await ok('POST', '/runs', { name: name(`state-${n}`), folder });
      ids.push(run.id);
      await ok('POST', `/runs/${run.id}/metrics`, {
        writer: 'w',
        seq: 0,
        series: [{ name: 'loss', values: [3, 2, 1] }],
      });
    }
    await signIn();
    const count = page.locator('#runs-count');

    // Loading: the table's answer is held; the page says it is loading, and nothing about "no runs".
    let release!: () => void;
    holdPath = '/api/v1/run-table';
    hold = new Promise((r) => {
      release = r;
    });
    await page.goto(`${proxy.url}/?folder=${encodeURIComponent(folder)}`);
    await expect.poll(() => count.textContent()).toBe('Loading runs…');
    expect(await page.getByTestId('runs-empty').count()).toBe(0);
    await shots('state-loading');
    hold = null;
    release();
    await expect.poll(() => count.textContent()).toBe('2 runs');

    // Empty: a filter that matches nothing.
    await page.goto(
      `${proxy.url}/?folder=${encodeURIComponent(folder)}&filter=${encodeURIComponent('name == "none"')}`,
    );
    await expect.poll(() => count.textContent()).toBe('0 runs');
    expect(await page.getByTestId('runs-empty').textContent()).toBe('No runs match this filter and folder.');
    await shots('state-empty');

    // Unreachable: the connection closes without an answer; not a filter error, and Retry recovers.
    faultPath = '/api/v1/run-table';
    fault = { kind: 'drop' };
    await page.goto(`${proxy.url}/?folder=${encodeURIComponent(folder)}`);
    const problem = page.locator('.load-error');
    await problem.waitFor();
    expect(await problem.getAttribute('data-problem')).toBe('unreachable');
    expect(await problem.locator('strong').textContent()).toBe('The server cannot be reached');
    expect(await page.locator('#filter-error').count()).toBe(0);
    expect(
      await page.getByRole('searchbox', { name: 'Filter runs' }).getAttribute('aria-invalid'),
    ).toBeNull();
    expect(await page.getByTestId('runs-empty').count()).toBe(0);
    await shots('state-unreachable');
    fault = { kind: 'forward' };
    await problem.getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => count.textContent()).toBe('2 runs');

    // Server error: a 500 says the server failed, with its message.
    fault = { kind: 'status', status: 500 };
    await page.goto(`${proxy.url}/?folder=${encodeURIComponent(folder)}`);
    await problem.waitFor();
    expect(await problem.getAttribute('data-problem')).toBe('server');
    expect(await problem.innerText()).toBe('The server failed (500)\nLoading the runs: injected 500\nRetry');
    await shots('state-server-error');
    fault = { kind: 'forward' };
    await problem.getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => count.textContent()).toBe('2 runs');
    faultPath = '';

    // A chart whose data is on its way says so, never "0 points".
    holdPath = '/api/v1/metrics/downsample';
    hold = new Promise((r) => {
      release = r;
    });
    await page.goto(`${proxy.url}/runs/${ids[0]}?tab=metrics`);
    const card = page.locator('figure.chart-card[data-metric="loss"]');
    await card.waitFor();
    await expect.poll(() => card.locator('header > span.muted').first().textContent()).toBe('loading…');
    hold = null;
    release();
    await expect.poll(() => card.locator('header > span.muted').first().textContent()).toBe('3 points');

    // Unknown addresses: a page, and a run.
    await page.goto(`${proxy.url}/no/such/page`);
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    expect(await page.getByTestId('not-found').innerText()).toContain('There is no page at /no/such/page.');
    await shots('state-not-found');
    await page.goto(`${proxy.url}/runs/AAAAAAAAAAAAAAAA`);
    await page.getByRole('heading', { name: 'Run not found' }).waitFor();
    expect(await problem.getAttribute('data-problem')).toBe('not-found');
    expect(await problem.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    await shots('state-run-not-found');
  });

  it("summarises each metric and shows a sidecar run's program, exit code and runtime", async () => {
    const runName = name('sidecar');
    const run = await ok('POST', '/runs', {
      name: runName,
      system: {
        host: 'node17',
        pid: 1111,
        runtime: { name: 'node', version: 'v22.0.0', v8: '12' },
        command: {
          argv: ['./solver', '--re', '100', 'two words'],
          cwd: '/scratch/cavity',
          pid: 4242,
          exitCode: 3,
          signal: null,
          seconds: 754.2,
        },
      },
    });
    await ok('POST', `/runs/${run.id}/metrics`, {
      writer: 'w',
      seq: 0,
      series: [
        { name: 'residual', values: [3, 1, 2, 0.5] },
        { name: 'dt', values: [0.001, 0.002], steps: [10, 20] },
      ],
    });
    await signIn();
    await page.goto(`${proxy.url}/runs/${run.id}`);
    const table = page.getByRole('table', { name: 'Metric summary' });
    await table.waitFor();
    expect(await table.locator('thead th').allInnerTexts()).toEqual([
      'Metric',
      'Last',
      'Min',
      'Max',
      'Points',
      'Last step',
    ]);
    const rows = await table
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => Array.from((tr as any).querySelectorAll('th, td'), (c: any) => c.textContent)),
      );
    expect(rows).toEqual([
      ['dt', '0.002', '0.001', '0.002', '2', '20'],
      ['residual', '0.5', '0.5', '3', '4', '3'],
    ]);
    const command = page.getByTestId('command');
    expect(await command.locator('dt').allInnerTexts()).toEqual([
      'Command line',
      'Directory',
      'Exit',
      'Ran for',
      'Process id',
    ]);
    expect(await command.locator('dd').allInnerTexts()).toEqual([
      "./solver --re 100 'two words'",
      '/scratch/cavity',
      'exit code 3',
      '12m 34s',
      '4242',
    ]);
    // The sidecar's own process (node, its pid) is not presented as the run's program.
    const system = page.getByRole('table', { name: 'System' });
    expect(await system.locator('th').allInnerTexts()).toEqual(['host']);
    await shots('run-overview');
  });

  it('edits a run, aborts it with a reason, and deletes it after a confirmation', async () => {
    const runName = name('editable');
    const run = await ok('POST', '/runs', {
      name: runName,
      folder: '/actions',
      tags: ['old'],
      metadata: { re: 100, drop: true },
      status: 'running',
    });
    await signIn();
    await page.goto(`${proxy.url}/runs/${run.id}`);
    await page.getByRole('heading', { name: runName }).waitFor();
    await page.getByRole('button', { name: 'Edit' }).click();
    const form = page.getByRole('form', { name: 'Edit run' });
    await form.getByLabel('Name').fill(`${runName}-renamed`);
    await form.getByLabel('Description').fill('Re = 100 on the <fine> mesh');
    await form.getByLabel('Tags').fill('baseline, fine mesh');
    await form.getByLabel('Metadata (JSON)').fill('{"re": ');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByRole('alert').filter({ hasText: 'Metadata:' }).waitFor();
    await form.getByLabel('Metadata (JSON)').fill('{"re": 400, "mesh": {"nx": 64}}');
    await shots('run-edit');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: `${runName}-renamed` }).waitFor();
    expect(await form.count()).toBe(0);
    expect(await ok('GET', `/runs/${run.id}`)).toMatchObject({
      name: `${runName}-renamed`,
      description: 'Re = 100 on the <fine> mesh',
      tags: ['baseline', 'fine mesh'],
      metadata: { re: 400, mesh: { nx: 64 } },
    });

    await page.getByRole('button', { name: 'Abort…' }).click();
    const abort = page.getByRole('form', { name: 'Abort run' });
    await abort.getByLabel('Reason').fill('diverged at step 400');
    await abort.getByRole('button', { name: `Abort ${runName}-renamed` }).click();
    await expect
      .poll(async () => (await ok('GET', `/runs/${run.id}/abort`)).reason)
      .toBe('diverged at step 400');
    await page.getByText('abort requested', { exact: true }).waitFor();
    await page.getByText('(abort requested: diverged at step 400)').waitFor();
    await shots('run-aborted');

    await page.getByRole('button', { name: 'Delete…' }).click();
    const confirm = page.getByRole('group', { name: 'Delete run' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    expect((await api('GET', `/runs/${run.id}`)).status).toBe(200);
    await page.getByRole('button', { name: 'Delete…' }).click();
    await shots('run-delete-confirm');
    await confirm.getByRole('button', { name: `Delete ${runName}-renamed` }).click();
    await page.waitForURL(`${proxy.url}/?folder=%2Factions`);
    expect((await api('GET', `/runs/${run.id}`)).status).toBe(404);
  });

  it('tags, moves and deletes the selected runs together', async () => {
    const folder = `/${name('bulk')}`;
    const names = ['bulk-1', 'bulk-2', 'bulk-3'].map(name);
    const ids: string[] = [];
    for (const n of names) ids.push((await ok('POST', '/runs', { name: n, folder, tags: ['keep'] })).id);
    await signIn();
    await page.goto(`${proxy.url}/?folder=${encodeURIComponent(folder)}`);
    await expect.poll(() => page.locator('#runs-count').textContent()).toBe('3 runs');
    for (const n of names) await page.getByRole('checkbox', { name: `Select ${n} for comparison` }).check();
    const bulk = page.getByRole('form', { name: 'Change selected runs' });
    await bulk.getByLabel('Tags').fill('swept, v2');
    await shots('bulk-tag');
    await bulk.getByRole('button', { name: 'Apply to 3 runs' }).click();
    await bulk.getByRole('status').filter({ hasText: 'Tagged 3 runs.' }).waitFor();
    for (const id of ids) expect((await ok('GET', `/runs/${id}`)).tags).toEqual(['keep', 'swept', 'v2']);

    await bulk.getByLabel('Action for the selected runs').selectOption('untag');
    await bulk.getByLabel('Tags').fill('keep');
    await bulk.getByRole('button', { name: 'Apply to 3 runs' }).click();
    await bulk.getByRole('status').filter({ hasText: 'Untagged 3 runs.' }).waitFor();
    for (const id of ids) expect((await ok('GET', `/runs/${id}`)).tags).toEqual(['swept', 'v2']);

    await bulk.getByLabel('Action for the selected runs').selectOption('move');
    await bulk.getByLabel('Folder').fill(`${folder}/moved`);
    await bulk.getByRole('button', { name: 'Apply to 3 runs' }).click();
    await bulk
      .getByRole('status')
      .filter({ hasText: `Moved 3 runs to ${folder}/moved.` })
      .waitFor();
    for (const id of ids) expect((await ok('GET', `/runs/${id}`)).folder).toBe(`${folder}/moved`);

    await page.getByRole('checkbox', { name: `Select ${names[2]} for comparison` }).uncheck();
    await bulk.getByLabel('Action for the selected runs').selectOption('delete');
    await bulk.getByRole('button', { name: 'Apply to 2 runs' }).click();
    const confirm = bulk.getByRole('group', { name: 'Confirm delete' });
    await shots('bulk-delete-confirm');
    await confirm.getByRole('button', { name: 'Delete 2 runs' }).click();
    await bulk.getByRole('status').filter({ hasText: 'Deleted 2 runs.' }).waitFor();
    expect((await api('GET', `/runs/${ids[0]}`)).status).toBe(404);
    expect((await api('GET', `/runs/${ids[1]}`)).status).toBe(404);
    expect((await api('GET', `/runs/${ids[2]}`)).status).toBe(200);
    await expect.poll(() => page.locator('#runs-count').textContent()).toBe('1 run');
    expect(await page.getByRole('button', { name: 'Clear selection' }).count()).toBe(0);
  });

  it('shows a read-only token no controls that change runs', async () => {
    const runName = name('viewed');
    const run = await ok('POST', '/runs', { name: runName, folder: '/viewer', status: 'running' });
    expect((await api('GET', '/me', undefined, readToken)).body.token.scopes).toEqual(['read']);
    await signIn(readToken);
    await page.goto(`${proxy.url}/runs/${run.id}`);
    await page.getByRole('heading', { name: runName }).waitFor();
    await page
      .getByRole('table', { name: 'Metric summary' })
      .or(page.getByText('This run has no metrics yet.'))
      .waitFor();
    for (const label of ['Edit', 'Abort…', 'Delete…']) {
      expect(await page.getByRole('button', { name: label }).count()).toBe(0);
    }
    await page.goto(`${proxy.url}/?folder=%2Fviewer`);
    await page.getByRole('checkbox', { name: `Select ${runName} for comparison` }).check();
    await page.getByRole('button', { name: 'Compare 1 selected' }).waitFor();
    expect(await page.getByRole('form', { name: 'Change selected runs' }).count()).toBe(0);
    await shots('read-only');
    await page.getByRole('button', { name: 'Clear selection' }).click();
  });

  it('lists every alert with the runs where it is critical, and badges a critical run', async () => {
    const alert = name('diverged');
    const quiet = name('quiet');
    const hot = await ok('POST', '/runs', { name: name('hot'), folder: '/alerts', status: 'running' });
    const calm = await ok('POST', '/runs', { name: name('calm'), folder: '/alerts', status: 'running' });
    for (const r of [hot, calm]) {
      await ok('POST', `/runs/${r.id}/alerts`, {
        name: alert,
        source: 'user',
        description: 'residual blew up',
      });
      await ok('POST', `/runs/${r.id}/alerts`, { name: quiet, source: 'user' });
    }
    await ok('PUT', `/runs/${hot.id}/alerts/${alert}/state`, { state: 'critical', message: 'NaN at 400' });
    await signIn();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
    const item = page.locator(`li[data-alert="${alert}"]`);
    await item.getByRole('table', { name: `Runs where ${alert} is critical` }).waitFor();
    expect(await item.locator('.alert-head').innerText()).toBe(`Critical\n${alert}\ncritical on 1 of 2 runs`);
    expect(await item.locator('.alert-watches').innerText()).toBe('state set by the run — residual blew up');
    expect(await item.locator('tbody td:first-child').allInnerTexts()).toEqual([hot.name]);
    const calmItem = page.locator(`li[data-alert="${quiet}"]`);
    expect(await calmItem.locator('.alert-head').innerText()).toBe(`OK\n${quiet}\ncritical on 0 of 2 runs`);
    expect(await calmItem.getByRole('table').count()).toBe(0);
    await shots('alerts-page');

    await item.getByRole('link', { name: hot.name }).click();
    await page.getByRole('heading', { name: hot.name }).waitFor();
    const badge = page.getByTestId('critical-badge');
    await expect.poll(() => badge.textContent()).toBe('1 critical alert');
    await shots('run-critical-badge');
    await page.goto(`${proxy.url}/runs/${calm.id}`);
    await page.getByRole('heading', { name: calm.name }).waitFor();
    await page
      .getByRole('table', { name: 'Metric summary' })
      .or(page.getByText('This run has no metrics yet.'))
      .waitFor();
    expect(await badge.count()).toBe(0);
  });

  it('fits a 390 px phone: a folding folder tree, charts the width of the screen, readable events', async () => {
    const folder = `/${name('phone')}/re100`;
    const run = await ok('POST', '/runs', { name: name('phone-run'), folder, metadata: { re: 100 } });
    await ok('POST', `/runs/${run.id}/metrics`, {
      writer: 'w',
      seq: 0,
      series: [
        { name: 'residual', values: Array.from({ length: 500 }, (_, k) => 1 / (k + 1)) },
        { name: 'energy', values: Array.from({ length: 500 }, (_, k) => Math.sin(k / 30)) },
      ],
    });
    await ok('POST', `/runs/${run.id}/events`, {
      writer: 'w',
      seq: 0,
      events: [
        {
          level: 'warning',
          message: 'time step reduced to 1e-4 because the CFL number exceeded 0.9 in 12 cells',
        },
        { level: 'info', message: 'mesh loaded' },
      ],
    });
    await signIn();
    await page.setViewportSize(PHONE);
    const width = PHONE.width;

    await page.goto(`${proxy.url}/`);
    const toggle = page.getByRole('button', { name: /^Folders: / });
    await toggle.waitFor();
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await page.locator('#folder-tree-list').isVisible()).toBe(false);
    await toggle.click();
    const leaf = page
      .getByRole('navigation', { name: 'Folders' })
      .getByRole('button', { name: 're100', exact: true });
    await leaf.click();
    await page.waitForURL(`${proxy.url}/?folder=${encodeURIComponent(folder)}`);
    await expect.poll(() => page.locator('#runs-count').textContent()).toBe('1 run');
    expect(await toggle.textContent()).toBe(`Folders: ${folder}`);
    expect(await page.locator('#folder-tree-list').isVisible()).toBe(false);
    expect(await noOverflow()).toBeLessThanOrEqual(width);
    await page.screenshot({ path: join(OUT, 'phone-runs-390.png') });

    await page.goto(`${proxy.url}/runs/${run.id}?tab=metrics`);
    for (const metric of ['residual', 'energy']) {
      const card = page.locator(`figure.chart-card[data-metric="${metric}"]`);
      await card.scrollIntoViewIfNeeded();
      await expect.poll(async () => (await card.getAttribute('data-state')) ?? '').toBe('drawn');
      const box = (await card.locator('canvas').first().boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(width);
      expect(box.width).toBeGreaterThan(width * 0.7);
    }
    expect(await noOverflow()).toBeLessThanOrEqual(width);
    await page.screenshot({ path: join(OUT, 'phone-charts-390.png') });

    await page.getByRole('tab', { name: 'Events' }).click();
    const message = page.getByText('time step reduced to 1e-4', { exact: false });
    await message.waitFor();
    const box = (await message.boundingBox())!;
    // The message takes the list's full width under its time and level, wrapping instead of running off.
    expect(box.width).toBeGreaterThan(width * 0.7);
    expect(box.x + box.width).toBeLessThanOrEqual(width);
    expect(await noOverflow()).toBeLessThanOrEqual(width);
    await page.screenshot({ path: join(OUT, 'phone-events-390.png') });

    for (const path of [
      `/runs/${run.id}`,
      `/runs/${run.id}?tab=alerts`,
      `/runs/${run.id}?tab=artifacts`,
      '/alerts',
      `/compare?runs=${run.id}`,
      '/telemetry',
      `/folders${folder}`,
      '/no/such/page',
    ]) {
      await page.goto(`${proxy.url}${path}`);
      await page.locator('main').waitFor();
      await expect.poll(() => page.locator('[data-state="loading"]').count(), { message: path }).toBe(0);
      await expect.poll(noOverflow, { message: path }).toBeLessThanOrEqual(width);
    }
    await page.setViewportSize(WIDE);
  });
});

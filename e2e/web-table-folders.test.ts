import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, openBrowser, SCREENSHOTS } from './browser.js';
import { E2E_TOKEN } from './server-process.js';
import { type Api, screenshots, startWebServer, type WebServer, WIDE } from './web-harness.js';

const OUT = join(SCREENSHOTS, 'table-folders');

/**
 * The runs table (columns, summaries, selection, alerts, grouping, the filter box) and the folder tree and page,
 * in Chromium against a real server. Each test signs in and makes its own runs in a folder of its own.
 */
describe('runs table and folders in Chromium', () => {
  let web: WebServer;
  let browser: Browser;
  let page: Page;
  let unique = 0;

  const api: Api = (method, path, body) => web.api(method, path, body);
  const name = (prefix: string) => `${prefix}${Date.now().toString(36)}${unique++}`;
  const metrics = (run: string, series: { name: string; values: (number | string)[] }[], seq = 0) =>
    api('POST', `/runs/${run}/metrics`, { writer: 'w', seq, series });

  const signIn = async () => {
    await page.setViewportSize(WIDE);
    await page.goto(`${web.server.url}/#token=${E2E_TOKEN}`);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  };
  const open = async (path: string) => {
    await page.goto(`${web.server.url}${path}`);
  };
  const count = () => page.locator('#runs-count').textContent();
  const headers = () =>
    page
      .locator('table.runs thead th[data-column]')
      .evaluateAll((ths) => ths.map((t) => t.getAttribute('data-column')));
  const column = (id: string) =>
    page.evaluate((id) => {
      const d = (globalThis as any).document;
      const ths = Array.from(d.querySelectorAll('table.runs thead th')) as any[];
      const at = ths.findIndex((t) => t.getAttribute('data-column') === id);
      return Array.from(d.querySelectorAll('table.runs tbody tr[data-row]:not(.group-row)')).map(
        (tr: any) => tr.children[at]?.textContent ?? null,
      );
    }, id);
  const names = () => column('name');
  const shots = (label: string) => screenshots(page, OUT, label);

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    web = await startWebServer('simscope-web-table-');
    browser = await openBrowser(web.server.url, WIDE);
    page = browser.page;
    page.setDefaultTimeout(10_000);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
  });

  it('flattens nested metadata into columns, serves metric summaries, and keeps columns and sort in the address', async () => {
    const folder = `/${name('cols')}`;
    const metric = name('res');
    for (const [i, nx] of [32, 8, 16].entries()) {
      const run = await api('POST', '/runs', {
        name: name(`c${i}-`),
        folder,
        metadata: { mesh: { nx, ny: 4 }, re: 100 * (i + 1) },
      });
      await metrics(run.id, [{ name: metric, values: [nx, nx / 2, nx * 2, nx / 4] }]);
    }
    await signIn();
    await open(`/?folder=${encodeURIComponent(folder)}`);
    await expect.poll(count).toBe('3 runs');
    const before = await names();

    await page.getByRole('button', { name: 'Columns' }).click();
    await page.getByRole('searchbox', { name: 'Search columns' }).fill('mesh.n');
    const panel = page.locator('#columns-panel');
    await expect
      .poll(() => panel.locator('fieldset').nth(1).locator('label').allTextContents())
      .toEqual([' mesh.nx', ' mesh.ny']);
    await panel.getByRole('checkbox', { name: 'mesh.nx', exact: true }).check();
    await page.getByRole('searchbox', { name: 'Search columns' }).fill(metric);
    await panel.getByRole('checkbox', { name: metric, exact: true }).check();
    for (const s of ['min', 'max', 'mean'])
      await panel.getByRole('checkbox', { name: `${metric} ${s}` }).check();
    const data = [
      'metadata.mesh.nx',
      `metrics.${metric}`,
      `min:metrics.${metric}`,
      `max:metrics.${metric}`,
      `mean:metrics.${metric}`,
    ];
    await expect
      .poll(headers)
      .toEqual(['name', 'status', 'folder', 'tags', 'created', 'duration', ...data, 'alerts']);
    // Newest first: nx 16, 8, 32; last = nx/4, min = nx/4, max = 2nx, mean = (1 + 1/2 + 2 + 1/4) nx / 4.
    await expect.poll(() => column('metadata.mesh.nx')).toEqual(['16', '8', '32']);
    expect(await column(`metrics.${metric}`)).toEqual(['4', '2', '8']);
    expect(await column(`min:metrics.${metric}`)).toEqual(['4', '2', '8']);
    expect(await column(`max:metrics.${metric}`)).toEqual(['32', '16', '64']);
    expect(await column(`mean:metrics.${metric}`)).toEqual(['15', '7.5', '30']);
    expect(await page.getByRole('columnheader', { name: `${metric} (mean)` }).count()).toBe(1);

    // Sort by a metadata column: into the address, and back from it on a fresh load.
    await page.getByRole('columnheader', { name: 'mesh.nx', exact: true }).getByRole('button').click();
    await expect.poll(() => column('metadata.mesh.nx')).toEqual(['8', '16', '32']);
    const url = new URL(page.url());
    expect(url.searchParams.get('sort')).toBe('metadata.mesh.nx');
    expect(url.searchParams.get('cols')).toBe(
      ['status', 'folder', 'tags', 'created', 'duration', ...data, 'alerts'].join(','),
    );

    // Reorder, hide, resize; each reaches the address.
    await panel.getByRole('button', { name: 'Move mesh.nx left' }).click();
    await panel.getByRole('button', { name: 'Hide Tags' }).click();
    await panel.getByRole('button', { name: 'Hide Duration' }).click();
    await expect
      .poll(headers)
      .toEqual(['name', 'status', 'folder', 'created', 'metadata.mesh.nx', ...data.slice(1), 'alerts']);
    // Drag a header onto another to put it there.
    await page
      .locator('th[data-column="created"]')
      .dragTo(page.locator('th[data-column="status"]'), { targetPosition: { x: 10, y: 10 } });
    await expect
      .poll(headers)
      .toEqual(['name', 'created', 'status', 'folder', 'metadata.mesh.nx', ...data.slice(1), 'alerts']);
    const folderHeader = page.locator('th[data-column="folder"]');
    const width = (await folderHeader.boundingBox())!.width;
    const handle = (await folderHeader.locator('.col-resize').boundingBox())!;
    await page.mouse.move(handle.x + 3, handle.y + 10);
    await page.mouse.down();
    await page.mouse.move(handle.x + 63, handle.y + 10, { steps: 4 });
    await page.mouse.up();
    await expect
      .poll(async () => Math.round((await folderHeader.boundingBox())!.width))
      .toBe(Math.round(width + 60));

    const shared = page.url();
    await page.getByRole('button', { name: 'Columns' }).click();
    await page.goto('about:blank');
    await page.goto(shared);
    await expect.poll(count).toBe('3 runs');
    await expect
      .poll(headers)
      .toEqual(['name', 'created', 'status', 'folder', 'metadata.mesh.nx', ...data.slice(1), 'alerts']);
    expect(
      await page.getByRole('columnheader', { name: 'mesh.nx', exact: true }).getAttribute('aria-sort'),
    ).toBe('ascending');
    expect(await column('metadata.mesh.nx')).toEqual(['8', '16', '32']);
    expect([...(await names())].sort()).toEqual([...before].sort());

    // The name stays where it is while the table scrolls sideways.
    await page.setViewportSize({ width: 900, height: 700 });
    const nameCell = page.locator('table.runs tbody tr[data-row="0"] td').nth(1);
    const x = (await nameCell.boundingBox())!.x;
    await page.getByTestId('runs-table').evaluate((el) => {
      el.scrollLeft = 500;
    });
    await expect.poll(() => page.getByTestId('runs-table').evaluate((el) => el.scrollLeft)).toBe(500);
    expect(Math.round((await nameCell.boundingBox())!.x)).toBe(Math.round(x));
    const status = page.locator('table.runs tbody tr[data-row="0"] td').nth(3);
    expect((await status.boundingBox())!.x).toBeLessThan(x);
    await shots('table-columns');
  });

  it('selects every run of the filter and shift-click ranges, shows critical alerts, and groups rows with counts', async () => {
    const folder = `/${name('sel')}`;
    const prefix = name('s');
    const ids: string[] = [];
    for (let i = 0; i < 120; i++) {
      const run = await api('POST', '/runs', {
        name: `${prefix}-${String(i).padStart(3, '0')}`,
        folder,
        metadata: { solver: i % 3 === 0 ? 'cg' : 'gmres' },
      });
      ids.push(run.id);
    }
    const alert = name('diverged');
    await api('POST', `/runs/${ids[119]}/alerts`, { name: alert, source: 'user' });
    await api('PUT', `/runs/${ids[119]}/alerts/${alert}/state`, { state: 'critical', message: 'NaN' });

    await signIn();
    await open(`/?folder=${encodeURIComponent(folder)}&cols=status,metadata.solver,alerts`);
    await expect.poll(count).toBe('120 runs');
    const drawn = await page.locator('table.runs tbody tr[data-row]').count();
    expect(drawn).toBeLessThan(120);

    // The newest run is first; its alert column says critical.
    await expect.poll(() => column('alerts')).toEqual(expect.arrayContaining(['critical']));
    expect((await column('alerts'))[0]).toBe('critical');
    expect((await column('alerts')).slice(1).every((t) => t === '')).toBe(true);

    await page.getByRole('button', { name: 'Select all matching' }).click();
    await page.getByRole('button', { name: 'Compare 120 selected' }).waitFor();
    expect(await page.getByRole('checkbox', { name: 'Select every run of the filter' }).isChecked()).toBe(
      true,
    );
    await page.getByRole('checkbox', { name: 'Select every run of the filter' }).uncheck();
    await page.getByRole('button', { name: 'Compare 0 selected' }).waitFor();

    // Shift-click: rows 2 to 6 of the drawn order.
    const shown = await names();
    await page.getByRole('checkbox', { name: `Select ${shown[2]} for comparison` }).click();
    await page
      .getByRole('checkbox', { name: `Select ${shown[6]} for comparison` })
      .click({ modifiers: ['Shift'] });
    await page.getByRole('button', { name: 'Compare 5 selected' }).waitFor();
    const checked = await page
      .locator('table.runs tbody tr[aria-selected="true"] td:nth-child(2)')
      .allTextContents();
    expect(checked).toEqual(shown.slice(2, 7));
    await page.getByRole('button', { name: 'Clear selection' }).click();

    // Group by a metadata key: a header per value with its count, collapsible.
    await page.getByRole('combobox', { name: 'Group by' }).selectOption('metadata.solver');
    expect(new URL(page.url()).searchParams.get('group')).toBe('metadata.solver');
    const groups = () => page.locator('tr.group-row').allTextContents();
    // Only the rows in view are drawn: the second group's header is 41 rows down.
    await expect.poll(groups).toEqual(['▾ cg 40 runs']);
    expect(await column('metadata.solver')).toEqual(expect.arrayContaining(['cg']));
    await page.getByRole('button', { name: 'cg', exact: true }).click();
    await expect.poll(groups).toEqual(['▸ cg 40 runs', '▾ gmres 80 runs']);
    expect((await column('metadata.solver')).slice(0, 3)).toEqual(['gmres', 'gmres', 'gmres']);
    await shots('table-select-group');
  });

  it('searches names with free text, shows filter mistakes, and completes fields, keys, tags and metrics', async () => {
    const folder = `/${name('txt')}`;
    const tag = name('tagged');
    const metric = name('resid');
    const made: string[] = [];
    for (const [i, n] of ['Cavity-re100', 'cavity-re400', 'channel-re100'].entries()) {
      const run = await api('POST', '/runs', {
        name: `${n}-${name('')}`,
        folder,
        tags: i === 0 ? [tag] : [],
        metadata: { mesh: { cells: 100 * (i + 1) } },
      });
      made.push(run.name);
      await metrics(run.id, [{ name: metric, values: [i] }]);
    }
    await signIn();
    await open(`/?folder=${encodeURIComponent(folder)}`);
    await expect.poll(count).toBe('3 runs');
    const box = page.getByRole('searchbox', { name: 'Filter runs' });
    await box.fill('cavity');
    await box.press('Enter');
    await expect.poll(count).toBe('2 runs');
    expect([...(await names())].sort()).toEqual([made[0], made[1]].sort());
    expect(await page.locator('#filter-hint').textContent()).toContain('Searching run names for “cavity”');
    expect(new URL(page.url()).searchParams.get('filter')).toBe('cavity');

    // Text that looks like a filter is one: its mistake is shown, not searched for.
    await box.fill('status = runnin');
    await page.locator('#filter-error').waitFor();
    expect(await page.locator('#filter-error').textContent()).toContain('runnin');
    await box.press('Enter');
    expect(new URL(page.url()).searchParams.get('filter')).toBe('cavity');

    // Completions: a nested metadata path, then a tag after `has`, then a metric.
    await box.fill('');
    await box.pressSequentially('metadata.mesh.c');
    const options = page.getByRole('listbox', { name: 'Completions' }).getByRole('option');
    await expect.poll(() => options.first().textContent()).toBe('metadata.mesh.cellsmetadata');
    await box.press('ArrowDown');
    await box.press('Enter');
    expect(await box.inputValue()).toBe('metadata.mesh.cells ');
    await box.pressSequentially('>= 200 and not has ');
    await expect.poll(() => options.allTextContents()).toContain(`tag.${tag}tag`);
    await page.getByRole('option', { name: `tag.${tag}` }).click();
    expect(await box.inputValue()).toBe(`metadata.mesh.cells >= 200 and not has tag.${tag} `);
    await box.pressSequentially(`and metrics.${metric.slice(0, 6)}`);
    await expect.poll(() => options.allTextContents()).toContain(`metrics.${metric}.lastmetric`);
    await box.press('Escape');
    await box.pressSequentially(`${metric.slice(6)}.last >= 1`);
    expect(await box.inputValue()).toBe(
      `metadata.mesh.cells >= 200 and not has tag.${tag} and metrics.${metric}.last >= 1`,
    );
    await box.press('Enter');
    await expect.poll(async () => [...(await names())].sort()).toEqual([made[1], made[2]].sort());
    expect(await count()).toBe('2 runs');
    await box.fill(`metadata.mesh.c`);
    await shots('table-filter-complete');
  });

  it('shows subfolders’ runs with a toggle, counts per folder, natural order, and a folder page with a summary', async () => {
    const top = name('nat');
    const sizes: [string, number][] = [
      ['re1000', 1],
      ['re100', 2],
      ['re400', 3],
    ];
    const metric = name('loss');
    let i = 0;
    for (const [sub, n] of sizes) {
      for (let k = 0; k < n; k++) {
        const run = await api('POST', '/runs', { name: name(`${sub}-`), folder: `/${top}/${sub}` });
        await metrics(run.id, [{ name: metric, values: [i + 3, i + 2, i + 1] }]);
        await api('PATCH', `/runs/${run.id}`, { status: i % 3 === 0 ? 'failed' : 'completed' });
        i++;
      }
    }
    await api('POST', '/runs', { name: name('own-'), folder: `/${top}` });
    await signIn();
    await open('/');
    const tree = page.getByRole('navigation', { name: 'Folders' });
    const children = () =>
      page.evaluate((top) => {
        const d = (globalThis as any).document;
        const button = Array.from(d.querySelectorAll('button.folder')).find((b: any) =>
          b.textContent.startsWith(`${top} `),
        ) as any;
        const li = button?.closest('li');
        return li
          ? Array.from(li.querySelectorAll(':scope > ul > li > div > button.folder')).map(
              (b: any) => b.textContent,
            )
          : null;
      }, top);
    await expect.poll(children).toEqual(['re100 2', 're400 3', 're1000 1']);
    const topButton = tree.getByRole('button', { name: top, exact: true });
    expect(await topButton.getAttribute('title')).toBe('7 runs');
    expect(await topButton.locator('.count').textContent()).toBe('7');

    await topButton.click();
    await expect.poll(count).toBe('7 runs');
    await page.getByRole('checkbox', { name: 'include subfolders' }).uncheck();
    await expect.poll(count).toBe('1 run');
    expect(new URL(page.url()).searchParams.get('sub')).toBe('0');
    await expect.poll(() => topButton.getAttribute('title')).toBe('1 run');
    await page.getByRole('checkbox', { name: 'include subfolders' }).check();
    await expect.poll(count).toBe('7 runs');
    await shots('folder-tree');

    await tree.getByRole('link', { name: `Folder /${top}: details` }).click();
    await page.getByRole('heading', { name: `Folder /${top}` }).waitFor();
    const summary = page.getByRole('list', { name: 'Runs by status' });
    await expect
      .poll(() => summary.locator('li').allTextContents())
      .toEqual(['7 runs', '1 running', '4 completed', '2 failed']);
    expect(await page.getByRole('table', { name: 'Recent runs' }).locator('tbody tr').count()).toBe(7);
    await page.getByRole('combobox', { name: 'Metric' }).selectOption(metric);
    const chart = page.locator(`figure.chart-card[data-metric="${metric}"]`);
    // 6 runs of the subfolders with 3 points each (the folder's own run has none).
    await expect.poll(() => chart.getAttribute('data-points'), { timeout: 15_000 }).toBe('18');
    expect(await chart.getAttribute('data-state')).toBe('drawn');
    await page.getByRole('checkbox', { name: 'include subfolders' }).uncheck();
    await expect.poll(() => summary.locator('li').allTextContents()).toEqual(['1 run', '1 running']);
    await page.getByRole('checkbox', { name: 'include subfolders' }).check();
    await expect
      .poll(() => summary.locator('li').allTextContents())
      .toEqual(['7 runs', '1 running', '4 completed', '2 failed']);
    await shots('folder-page');
  });
});

// Web UI benchmarks in Chromium: a run whose metric has 1M points charted, a table of 100k runs, one
// metric of 100 runs x 100k points on one chart, the same runs grouped into 3 bands, and parallel coordinates
// of a 10k-run sweep. Each figure is the median of several page loads, from
// navigation until the page shows the result, on a server of its own.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { float64Bytes } from '../packages/protocol/dist/index.js';
import { bootstrap, SqliteStore } from '../packages/server/dist/index.js';
import { createClient, packr } from './http.js';
import { seedRuns } from './seed-runs.js';
import { BENCH_TOKEN, startServer } from './server-process.js';

const CHROMIUM = process.env.SIMSCOPE_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const LOADS = 5;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Posts `n` points of one metric to a run in 100k-point msgpack batches (steps counted by the server). */
async function logPoints(client, runId, name, n, shape) {
  const batch = 100_000;
  for (let start = 0, seq = 0; start < n; start += batch, seq++) {
    const len = Math.min(batch, n - start);
    const values = new Float64Array(len);
    for (let i = 0; i < len; i++) values[i] = shape(start + i);
    const body = packr.pack({ writer: 'bench', seq, series: [{ name, values: float64Bytes(values) }] });
    await client.request('POST', `/runs/${runId}/metrics`, { body, type: 'application/msgpack' });
  }
}

async function openBrowser(url) {
  const profile = mkdtempSync(join(tmpdir(), 'simscope-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1400, height: 900 },
    deviceScaleFactor: 1,
  });
  await context.route('**/*', (route) =>
    route.request().url().startsWith(url) ? route.continue() : route.abort(),
  );
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${url}/#token=${BENCH_TOKEN}`);
  await page.waitForSelector('table.runs');
  return {
    page,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Median milliseconds from the start of navigating to `path` until the page is ready: `ready` runs in the page
 * at each animation frame and returns the page's clock (`performance.now()`, which starts with the navigation)
 * once what is measured shows.
 */
async function timeLoads(page, url, path, ready, arg) {
  const times = [];
  for (let i = 0; i < LOADS; i++) {
    await page.goto('about:blank');
    await page.goto(`${url}${path}`);
    const handle = await page.waitForFunction(ready, arg, { polling: 'raf', timeout: 60_000 });
    times.push(await handle.jsonValue());
  }
  return median(times);
}

const chartDrawn = ({ metric, points }) => {
  const card = document.querySelector(`figure[data-metric="${metric}"]`);
  const done =
    !!card &&
    /:buckets:all$/.test(card.getAttribute('data-drawn') ?? '') &&
    card.getAttribute('data-points') === String(points);
  return done ? performance.now() : false;
};

async function charts(log) {
  const dir = mkdtempSync(join(tmpdir(), 'simscope-web-bench-'));
  const server = await startServer({ dataDir: dir });
  const client = createClient(server.url);
  let browser;
  try {
    const t0 = performance.now();
    const big = await client.json('POST', '/runs', { name: 'one-million' });
    await logPoints(client, big.id, 'loss', 1_000_000, (i) => Math.sin(i / 5000) + (i % 9973 === 0 ? 5 : 0));
    const ids = [];
    for (let r = 0; r < 100; r++) {
      const run = await client.json('POST', '/runs', {
        name: `compare-${r}`,
        metadata: { r, family: ['a', 'b', 'c'][r % 3] },
      });
      await logPoints(
        client,
        run.id,
        'loss',
        100_000,
        (i) => Math.exp(-i / 30_000) * (1 + r / 100) + Math.sin(i / 700) * 0.01,
      );
      ids.push(run.id);
    }
    log(`  (logged 1M + 100 x 100k points in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    browser = await openBrowser(server.url);
    const first = await timeLoads(browser.page, server.url, `/runs/${big.id}?tab=metrics`, chartDrawn, {
      metric: 'loss',
      points: 1_000_000,
    });
    log(`  open a run, chart its 1M-point metric: ${first.toFixed(0)} ms`);
    const compare = await timeLoads(
      browser.page,
      server.url,
      `/compare?runs=${ids.join(',')}&metric=loss`,
      chartDrawn,
      { metric: 'loss', points: 10_000_000 },
    );
    log(`  compare 100 runs x 100k points on one chart: ${compare.toFixed(0)} ms`);
    const bands = await timeLoads(
      browser.page,
      server.url,
      `/compare?runs=${ids.join(',')}&metric=loss&group=metadata.family`,
      () => {
        const card = document.querySelector('figure.band-chart');
        return card && /^3:std:/.test(card.getAttribute('data-drawn') ?? '') ? performance.now() : false;
      },
    );
    log(`  group 100 runs x 100k points into 3 bands (server aggregate, drawn): ${bands.toFixed(0)} ms`);
    return { first, compare, bands };
  } finally {
    await browser?.close();
    client.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function table(log) {
  const dir = await seedRuns('simscope-web-table-', log, (i) => (i % 11 === 0 ? 'failed' : 'completed'));
  const server = await startServer({ dataDir: dir });
  let browser;
  try {
    browser = await openBrowser(server.url);
    const ms = await timeLoads(browser.page, server.url, '/', () =>
      document.getElementById('runs-count')?.textContent === '100,000 runs' &&
      document.querySelectorAll('table.runs tbody tr[data-row]').length > 10
        ? performance.now()
        : false,
    );
    log(`  open the runs table, all 100k runs loaded and drawn: ${ms.toFixed(0)} ms`);
    return ms;
  } finally {
    await browser?.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A data dir holding a 10k-run sweep (metadata re, solver, mesh; a 20-point metric `loss` each). */
async function seedSweep(log) {
  const dir = mkdtempSync(join(tmpdir(), 'simscope-web-sweep-'));
  const store = SqliteStore.open(join(dir, 'simscope.db'));
  await store.migrate();
  await bootstrap(store, Date.now() * 1000, BENCH_TOKEN);
  const user = await store.identity.getUser('admin');
  const ws = await store.identity.getWorkspace('default');
  const t0 = performance.now();
  const base = Date.now() * 1000 - 10_000 * 1_000_000;
  const solvers = ['cg', 'gmres', 'bicgstab'];
  for (let i = 0; i < 10_000; i++) {
    const at = base + i * 1_000_000;
    const re = [100, 400, 1000, 4000][i % 4];
    const run = await store.runs.createRun({
      id: `sweep${String(i).padStart(8, '0')}`,
      workspaceId: ws.id,
      name: `sweep-${i}`,
      folder: '/sweep',
      userId: user.id,
      description: null,
      tags: [],
      metadata: { re, solver: solvers[i % 3], mesh: { nx: 32 << (i % 4) } },
      system: {},
      status: 'completed',
      createdAt: at,
      startedAt: at,
      heartbeatAt: at,
      heartbeatTimeout: null,
    });
    const values = new Float64Array(20);
    for (let k = 0; k < 20; k++) values[k] = (re / 1000) * Math.exp(-k / (5 + (i % 7))) + (i % 13) / 1000;
    await store.metrics.appendMetrics(
      run.pk,
      { writer: 'bench', seq: 0 },
      [{ name: 'loss', steps: null, times: null, timestamps: null, values }],
      { startedAt: at, now: at + 20_000_000 },
    );
  }
  await store.close();
  log(`  (created a 10k-run sweep in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return dir;
}

async function sweep(log) {
  const dir = await seedSweep(log);
  const server = await startServer({ dataDir: dir });
  let browser;
  try {
    browser = await openBrowser(server.url);
    const axes = 'metadata.re,metadata.solver,metadata.mesh.nx,last:metrics.loss,min:metrics.loss';
    const ms = await timeLoads(browser.page, server.url, `/sweep?axes=${axes}`, () => {
      const figure = document.querySelector('figure.parallel-coords');
      return figure?.getAttribute('data-runs') === '10000' && figure.querySelector('canvas')?.dataset.drawMs
        ? performance.now()
        : false;
    });
    log(`  open the sweep page, parallel coordinates of 10k runs drawn: ${ms.toFixed(0)} ms`);
    return ms;
  } finally {
    await browser?.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run({ log }) {
  if (!existsSync(CHROMIUM)) {
    log(`  skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
    return {};
  }
  if (!existsSync(new URL('../packages/web/dist/index.html', import.meta.url))) {
    throw new Error('packages/web/dist is missing: run npm run build');
  }
  const put = (value, unit) => ({ value: Number(value.toPrecision(4)), unit });
  const { first, compare, bands } = await charts(log);
  const tableMs = await table(log);
  const sweepMs = await sweep(log);
  return {
    'web.first_chart_1m_points.ms': put(first, 'ms'),
    'web.runs_table_100k.ms': put(tableMs, 'ms'),
    'web.compare_100_runs_100k.ms': put(compare, 'ms'),
    'web.group_bands_100_runs.ms': put(bands, 'ms'),
    'web.parallel_coords_10k_runs.ms': put(sweepMs, 'ms'),
  };
}

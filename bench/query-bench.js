// Query client benchmarks: listAll over 10k runs, and 1M metric values into an Arrow table.
import { Client } from '../packages/client/dist/index.js';
import { float64Bytes, int64Bytes } from '../packages/protocol/dist/index.js';
import { createClient, packr } from './http.js';
import { BENCH_TOKEN, startServer } from './server-process.js';

const RUNS = 10_000;
const METRIC_RUNS = 4;
const POINTS_PER_RUN = 250_000;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timed(rounds, fn) {
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function seedRuns(http) {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < RUNS) {
        const i = next++;
        await http.json('POST', '/runs', {
          name: `bench-${i}`,
          folder: '/bench',
          metadata: { i, group: `g${i % 7}` },
          tags: i % 5 === 0 ? ['fifth'] : [],
        });
      }
    }),
  );
}

async function seedMetrics(http) {
  const ids = [];
  const start = Date.now() * 1000;
  for (let r = 0; r < METRIC_RUNS; r++) {
    const run = await http.json('POST', '/runs', { name: `metrics-${r}`, folder: '/bench-metrics' });
    ids.push(run.id);
    const steps = new Float64Array(POINTS_PER_RUN);
    const ts = new Float64Array(POINTS_PER_RUN);
    const values = new Float64Array(POINTS_PER_RUN);
    for (let i = 0; i < POINTS_PER_RUN; i++) {
      steps[i] = i;
      ts[i] = start + i * 1000;
      values[i] = Math.sin(i / 1000) * (r + 1);
    }
    const body = packr.pack({
      writer: 'bench',
      seq: 0,
      series: [
        { name: 'loss', steps: int64Bytes(steps), timestamps: int64Bytes(ts), values: float64Bytes(values) },
      ],
    });
    await http.request('POST', `/runs/${run.id}/metrics`, { body, type: 'application/msgpack' });
  }
  return ids;
}

export async function run({ log }) {
  const results = {};
  const put = (name, value, unit) => {
    results[name] = { value: Number(value.toPrecision(4)), unit };
  };
  const server = await startServer();
  const http = createClient(server.url);
  try {
    let t0 = performance.now();
    await seedRuns(http);
    log(`  seeded ${RUNS} runs over HTTP in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const client = new Client({ url: server.url, token: BENCH_TOKEN });

    let listed = 0;
    const listMs = await timed(5, async () => {
      listed = (await client.runs.listAll({ folder: '/bench' }, { pageSize: 1000 })).items.length;
    });
    if (listed !== RUNS) throw new Error(`listAll returned ${listed} runs`);
    log(
      `  runs.listAll, ${RUNS} runs in pages of 1000: ${listMs.toFixed(1)} ms (${(((RUNS / listMs) * 1000) / 1e3).toFixed(0)}k runs/s)`,
    );
    put('query.list_all_10k_runs.ms', listMs, 'ms');

    const all = await client.runs.listAll({ folder: '/bench' });
    const runsArrowMs = await timed(3, () => all.toArrow());
    const filteredMs = await timed(5, () =>
      client.runs.listAll({ folder: '/bench', tags__contains: 'fifth', metadata__group: 'g3' }),
    );
    log(
      `  10k runs to Arrow: ${runsArrowMs.toFixed(1)} ms; listAll with 3 typed filters (286 of 10k): ${filteredMs.toFixed(1)} ms`,
    );

    t0 = performance.now();
    const ids = await seedMetrics(http);
    log(
      `  seeded ${METRIC_RUNS} x ${POINTS_PER_RUN} points in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    let rows = 0;
    let fetchMs = 0;
    const arrowMs = await timed(3, async () => {
      const f0 = performance.now();
      const table = await client.metricTable(ids, 'loss');
      fetchMs = performance.now() - f0;
      rows = (await table.toArrow()).numRows;
    });
    if (rows !== METRIC_RUNS * POINTS_PER_RUN) throw new Error(`metric table has ${rows} rows`);
    log(
      `  metricTable -> toArrow, ${(rows / 1e6).toFixed(0)}M values (${METRIC_RUNS} runs): ${arrowMs.toFixed(1)} ms (fetch ${fetchMs.toFixed(1)} ms, ${(((rows / arrowMs) * 1000) / 1e6).toFixed(1)} M values/s)`,
    );
    put('query.metrics_arrow_1m.ms', arrowMs, 'ms');
  } finally {
    http.close();
    await server.stop();
  }
  return results;
}

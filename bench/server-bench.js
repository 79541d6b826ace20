// Server benchmarks: ingest (sink ceiling, SQLite, PostgreSQL), full history, downsampling, run search.
import { rmSync } from 'node:fs';
import { float64Bytes, int64Bytes } from '../packages/protocol/dist/index.js';
import { createDatabase, startPostgres } from '../scripts/postgres-cluster.js';
import { createClient, packr, unpackr } from './http.js';
import { seedRuns } from './seed-runs.js';
import { startServer } from './server-process.js';

const BATCH_POINTS = 10_000;
const SENDERS = Number(process.env.BENCH_SENDERS ?? 4);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Pre-encoded msgpack batches of one 10k-point series each, steps continuing from batch to batch. */
function makeBatches(count, writer) {
  const start = Date.now() * 1000;
  const bodies = [];
  for (let b = 0; b < count; b++) {
    const steps = new Float64Array(BATCH_POINTS);
    const ts = new Float64Array(BATCH_POINTS);
    const values = new Float64Array(BATCH_POINTS);
    for (let i = 0; i < BATCH_POINTS; i++) {
      const step = b * BATCH_POINTS + i;
      steps[i] = step;
      ts[i] = start + step * 100;
      values[i] = Math.sin(step / 1000) + (step % 9973 === 0 ? 50 : 0);
    }
    bodies.push(
      packr.pack({
        writer,
        seq: b,
        series: [
          {
            name: 'loss',
            steps: int64Bytes(steps),
            timestamps: int64Bytes(ts),
            values: float64Bytes(values),
          },
        ],
      }),
    );
  }
  return bodies;
}

/**
 * Sends every body with `SENDERS` concurrent senders, sender k to `paths[k % paths.length]` (one run per
 * sender, as several simulations logging at once); returns points per second.
 */
async function send(client, paths, bodies) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: SENDERS }, async (_, k) => {
      const path = paths[k % paths.length];
      while (next < bodies.length) {
        const body = bodies[next++];
        await client.request('POST', path, { body, type: 'application/msgpack' });
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return (bodies.length * BATCH_POINTS) / seconds;
}

export async function ingest(client, label, log, batches) {
  const paths = [];
  for (let k = 0; k < SENDERS; k++) {
    const run = await client.json('POST', '/runs', { name: `ingest-${label}-${k}-${Date.now()}` });
    paths.push(`/runs/${run.id}/metrics`);
  }
  await send(client, paths, makeBatches(20, `warm-${label}`));
  const bodies = makeBatches(batches, `w-${label}`);
  const rate = await send(client, paths, bodies);
  log(`  ${label}: ${(rate / 1e6).toFixed(2)} M points/s (${batches} batches of ${BATCH_POINTS})`);
  return rate;
}

export async function sink(client, log, batches) {
  const bodies = makeBatches(batches, 'sink');
  await send(client, ['/_sink/runs/any/metrics'], bodies.slice(0, 20));
  const rate = await send(client, ['/_sink/runs/any/metrics'], bodies);
  log(`  sink (decode, store nothing): ${(rate / 1e6).toFixed(2)} M points/s`);
  return rate;
}

async function timed(times, fn) {
  await fn();
  const ms = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

async function history(client, log) {
  const run = await client.json('POST', '/runs', { name: `history-${Date.now()}` });
  await send(client, [`/runs/${run.id}/metrics`], makeBatches(10, 'h'));
  const fetchAll = (columns) =>
    timed(20, async () => {
      const raw = await client.request('GET', `/runs/${run.id}/metrics/series?name=loss&columns=${columns}`, {
        accept: 'application/msgpack',
      });
      const page = unpackr.unpack(raw);
      const values = new Float64Array(Uint8Array.prototype.slice.call(page.values).buffer);
      if (values.length !== 100_000) throw new Error(`history returned ${values.length} points`);
    });
  const stepValue = await fetchAll('step,value');
  log(`  100k-point history, step + value (msgpack, decoded): ${stepValue.toFixed(2)} ms`);
  const all = await fetchAll('step,time,timestamp,value');
  log(`  100k-point history, all four columns: ${all.toFixed(2)} ms`);
  return { stepValue, all };
}

async function downsampleBench(client, log) {
  const run = await client.json('POST', '/runs', { name: `downsample-${Date.now()}` });
  await send(client, [`/runs/${run.id}/metrics`], makeBatches(100, 'd'));
  let buckets = 0;
  const ms = await timed(20, async () => {
    const raw = await client.request('GET', `/runs/${run.id}/metrics/downsample?name=loss&buckets=1000`, {
      accept: 'application/msgpack',
    });
    const out = unpackr.unpack(raw);
    const count = new Float64Array(Uint8Array.prototype.slice.call(out.count).buffer);
    buckets = count.length;
    if (count.reduce((a, c) => a + c, 0) !== 1_000_000) throw new Error('downsample lost points');
  });
  if (buckets !== 1000) throw new Error(`downsample returned ${buckets} buckets`);
  log(`  1M points -> 1,000 M4 buckets: ${ms.toFixed(2)} ms`);
  return ms;
}

async function search(log) {
  const dir = await seedRuns('simscope-search-', log);
  const server = await startServer({ dataDir: dir });
  const client = createClient(server.url);
  try {
    const query = async (filter) => {
      let n = 0;
      const ms = await timed(20, async () => {
        const page = await client.json('GET', `/runs?limit=100&filter=${encodeURIComponent(filter)}`);
        n = page.items.length;
      });
      return { ms, n };
    };
    const broad = await query('metadata.beta > 0.5 and metadata.solver == cg');
    log(`  filter over 100k runs, page of ${broad.n}: ${broad.ms.toFixed(2)} ms`);
    const narrow = await query('metadata.mesh == 7 and metadata.beta < 0.01');
    log(`  selective filter (scans all 100k, ${narrow.n} matches): ${narrow.ms.toFixed(2)} ms`);
    return { broad: broad.ms, narrow: narrow.ms };
  } finally {
    client.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run({ log }) {
  const results = {};
  const put = (name, value, unit) => {
    results[name] = { value: Number(value.toPrecision(4)), unit };
  };

  // Reads first, on a server of their own: a fresh process, not one still digesting millions of points.
  log('reads (SQLite)');
  const reader = await startServer();
  const readClient = createClient(reader.url);
  try {
    const h = await history(readClient, log);
    put('history.100k.ms', h.stepValue, 'ms');
    put('history.100k_all_columns.ms', h.all, 'ms');
    put('downsample.1m_to_1k.ms', await downsampleBench(readClient, log), 'ms');
  } finally {
    readClient.close();
    await reader.stop();
  }

  log(`ingest: HTTP msgpack batches of 10k points, ${SENDERS} concurrent senders, one run each`);
  const sqlite = await startServer();
  const client = createClient(sqlite.url);
  try {
    const sinkRate = await sink(client, log, 300);
    const sqliteRate = await ingest(client, 'SQLite', log, 300);
    put('ingest.http_sink.points_per_s', sinkRate, 'points/s');
    put('ingest.http_sqlite.points_per_s', sqliteRate, 'points/s');
    put('ingest.ratio_to_sink', sqliteRate / sinkRate, 'ratio');
  } finally {
    client.close();
    await sqlite.stop();
  }

  const postgres = await startPostgres({ fsync: true });
  try {
    const db = await createDatabase(postgres.url, 'bench');
    const server = await startServer({ db });
    const pgClient = createClient(server.url);
    try {
      put('ingest.http_postgres.points_per_s', await ingest(pgClient, 'PostgreSQL', log, 200), 'points/s');
    } finally {
      pgClient.close();
      await server.stop();
    }
  } finally {
    await postgres.stop();
  }

  log('run search');
  const s = await search(log);
  put('search.100k_runs.ms', s.broad, 'ms');
  put('search.100k_runs_selective.ms', s.narrow, 'ms');
  return results;
}

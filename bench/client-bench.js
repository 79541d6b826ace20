// Client benchmarks: logMetrics cost, queue memory, end-to-end ingest into SQLite, close() flush time.
import { Run } from '../packages/client/dist/index.js';
import { BENCH_TOKEN, startServer } from './server-process.js';

const quiet = { systemInfo: false, onError: (e) => process.stderr.write(`client: ${e.message}\n`) };

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function newRun(url, name, config) {
  return new Run()
    .config({ url, token: BENCH_TOKEN, ...quiet, ...config })
    .init({ name: `${name}-${Date.now()}` });
}

/** Calls per second of `call(i)` in rounds of `n`, flushing (untimed) between rounds. */
async function rate(run, n, call) {
  const rates = [];
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) call(i);
    rates.push(n / ((performance.now() - t0) / 1000));
    await run.flush();
  }
  return median(rates);
}

export async function run({ log }) {
  const results = {};
  const put = (name, value, unit) => {
    results[name] = { value: Number(value.toPrecision(4)), unit };
  };
  const server = await startServer();
  try {
    // End to end first, before the other runs leave the server millions of points to write back: the median of
    // three runs of 3M points, each from the first call until close() returns.
    const points = 3_000_000;
    const e2eRates = [];
    for (let round = 0; round < 3; round++) {
      const e2e = await newRun(server.url, `e2e-${round}`, {
        queueSize: points,
        batchPoints: 100_000,
        flushIntervalMs: 50,
      });
      const t1 = performance.now();
      for (let i = 0; i < points; i++) {
        e2e.logMetrics({ loss: i });
        // Yield now and then, as a simulation's own I/O would, so the sender gets the event loop.
        if (i % 100_000 === 99_999) await new Promise((r) => setImmediate(r));
      }
      const done = await e2e.close();
      e2eRates.push(points / ((performance.now() - t1) / 1000));
      if (done.sentPoints !== points) throw new Error(`e2e sent ${done.sentPoints} of ${points} points`);
    }
    const e2eRate = median(e2eRates);
    log(
      `  client -> HTTP -> SQLite (server in another process): ${(e2eRate / 1e6).toFixed(2)} M points/s (median of ${e2eRates.map((r) => (r / 1e6).toFixed(2)).join(', ')})`,
    );
    put('client.e2e_sqlite.points_per_s', e2eRate, 'points/s');

    const calls = 1_000_000;
    const big = { queueSize: 20_000_000, batchPoints: 1_000_000, flushIntervalMs: 3_600_000 };

    const one = await newRun(server.url, 'log1', big);
    const oneRate = await rate(one, calls, (i) => one.logMetrics({ loss: i }));
    await one.close();
    log(
      `  logMetrics, 1 metric per call: ${(oneRate / 1e6).toFixed(2)} M calls/s (${(1e9 / oneRate).toFixed(0)} ns/call)`,
    );
    put('client.log_metrics.points_per_s', oneRate, 'points/s');

    const ten = await newRun(server.url, 'log10', big);
    const row = { a: 0, b: 0, c: 0, d: 0, e: 0, f: 0, g: 0, h: 0, i: 0, j: 0 };
    // Rounds of 500k calls (5M points): a round of a few ms would measure a GC pause or not as luck has it.
    const tenRate = await rate(ten, calls / 2, (i) => {
      row.a = i;
      row.j = -i;
      ten.logMetrics(row);
    });
    await ten.close();
    log(`  logMetrics, 10-metric dicts: ${((tenRate * 10) / 1e6).toFixed(2)} M points/s`);
    put('client.log_metrics10.points_per_s', tenRate * 10, 'points/s');

    const mem = await newRun(server.url, 'memory', big);
    for (let i = 0; i < calls; i++) mem.logMetrics({ loss: i });
    const bytes = mem.queued.bytes / mem.queued.points;
    await mem.close();
    log(`  queue: ${bytes.toFixed(1)} bytes per point (one metric, 1M points queued)`);
    put('client.queue.bytes_per_point', bytes, 'bytes');

    const flushRun = await newRun(server.url, 'flush', big);
    for (let i = 0; i < 100_000; i++) flushRun.logMetrics({ loss: i });
    const t0 = performance.now();
    const closed = await flushRun.close();
    const flushMs = performance.now() - t0;
    if (closed.sentPoints !== 100_000) throw new Error(`close sent ${closed.sentPoints} points`);
    log(`  close() with 100k points queued: ${flushMs.toFixed(1)} ms`);
    put('client.close_flush_100k.ms', flushMs, 'ms');
  } finally {
    await server.stop();
  }
  return results;
}

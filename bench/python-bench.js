// Python client benchmarks: python/bench/bench.py against the built server, with the optional packages and without,
// beside the Node client's logMetrics rates measured the same way in the same run.
import { execFileSync } from 'node:child_process';
import { Run } from '../packages/client/dist/index.js';
import { BENCH_TOKEN, startServer } from './server-process.js';

const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The Node client's logMetrics rate (points/s) as bench.py measures Python's: a fresh run per round, median of 3. */
async function nodeRate(url, width, calls) {
  const rates = [];
  for (let round = 0; round < 3; round++) {
    const run = await new Run()
      .config({ url, token: BENCH_TOKEN, systemInfo: false, queueSize: 20_000_000, batchPoints: 1_000_000 })
      .init({ name: `node-log${width}-${round}` });
    const names = Array.from({ length: width }, (_, k) => `m${k}`);
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) {
      const row = {};
      for (const name of names) row[name] = i * 0.5;
      run.logMetrics(row);
    }
    rates.push((calls * width) / ((performance.now() - t0) / 1000));
    await run.close();
  }
  return Math.round(median(rates));
}

export async function run({ log }) {
  const server = await startServer();
  const results = {};
  const put = (key, value, unit) => {
    results[key] = { value, unit };
    log(`${key}: ${value} ${unit}`);
  };
  try {
    for (const [suffix, env] of [
      ['', {}],
      ['.pure', { SIMSCOPE_PURE: '1' }],
    ]) {
      const out = execFileSync(PYTHON, ['python/bench/bench.py', server.url, BENCH_TOKEN], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
        maxBuffer: 1 << 20,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const figures = JSON.parse(out.trim().split('\n').pop());
      for (const [name, value] of Object.entries(figures)) {
        const unit = name.endsWith('.ms') ? 'ms' : name.endsWith('calls_per_s') ? 'calls/s' : 'points/s';
        put(`python.${name}${suffix}`, value, unit);
      }
    }
    // The Node client beside them, on the same server in the same run (client-bench.js has its full figures).
    put('python.node_client.log_metrics.points_per_s', await nodeRate(server.url, 1, 1_000_000), 'points/s');
    put('python.node_client.log_metrics10.points_per_s', await nodeRate(server.url, 10, 200_000), 'points/s');
  } finally {
    await server.stop();
  }
  return results;
}

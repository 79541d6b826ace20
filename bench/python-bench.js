// Python client benchmarks: python/bench/bench.py against the built server, with the optional packages and without.
import { execFileSync } from 'node:child_process';
import { BENCH_TOKEN, startServer } from './server-process.js';

const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';

export async function run({ log }) {
  const server = await startServer();
  const results = {};
  try {
    for (const [suffix, env] of [
      ['', {}],
      ['.pure', { SIMSCOPE_PURE: '1' }],
    ]) {
      const out = execFileSync(PYTHON, ['python/bench/bench.py', server.url, BENCH_TOKEN], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      });
      const figures = JSON.parse(out.trim().split('\n').pop());
      for (const [name, value] of Object.entries(figures)) {
        const unit = name.endsWith('.ms') ? 'ms' : name.endsWith('calls_per_s') ? 'calls/s' : 'points/s';
        const key = `python.${name}${suffix}`;
        results[key] = { value, unit };
        log(`${key}: ${value} ${unit}`);
      }
    }
  } finally {
    await server.stop();
  }
  return results;
}

// Hardening benchmark: /health latency while every kind of hostile request runs, against the same server idle.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  attack,
  hostileClient,
  latencySummary,
  mountTmpfs,
  seedTargets,
  sqlitePath,
  unmountTmpfs,
  watchHealth,
} from './hostile-load.js';
import { BENCH_TOKEN, startServer } from './server-process.js';

const fmt = (ms) => ms.toFixed(1);

export async function run({ log }) {
  const dir = mkdtempSync(join(tmpdir(), 'simscope-bench-hardening-'));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const fullDisk = mountTmpfs(dataDir, 160, log);
  const server = await startServer({ dataDir });
  try {
    const request = hostileClient(server.url, BENCH_TOKEN);
    const targets = await seedTargets(request);

    const idle = watchHealth(request);
    await new Promise((r) => setTimeout(r, 5000));
    const quiet = latencySummary(await idle.stop());

    const health = watchHealth(request);
    const t0 = performance.now();
    const statuses = await attack({ request, targets, db: sqlitePath(dataDir), fullDisk });
    const seconds = (performance.now() - t0) / 1000;
    const busy = latencySummary(await health.stop());
    const faults = [...statuses].flatMap(([, s]) =>
      s.filter((x) => x === 0 || (x >= 500 && x !== 503 && x !== 507)),
    );

    log(
      `  /health idle (baseline): ${quiet.polls} polls, p50 ${fmt(quiet.p50)} ms, p99 ${fmt(quiet.p99)} ms, max ${fmt(quiet.max)} ms`,
    );
    log(
      `  /health under attack (${seconds.toFixed(1)} s: regex, 60 MB idempotent body, many-run downsample, locked database, ` +
        `deep JSON, crafted cursors${fullDisk ? ', full disk' : ''}): ${busy.polls} polls, p50 ${fmt(busy.p50)} ms, ` +
        `p99 ${fmt(busy.p99)} ms (${(busy.p99 / quiet.p99).toFixed(1)} × idle), max ${fmt(busy.max)} ms; ${faults.length} answers 5xx other than 503/507`,
    );
    return {
      'hardening.health_p99_idle.ms': { value: Number(fmt(quiet.p99)), unit: 'ms' },
      'hardening.health_p99_under_attack.ms': { value: Number(fmt(busy.p99)), unit: 'ms' },
      'hardening.health_max_under_attack.ms': { value: Number(fmt(busy.max)), unit: 'ms' },
      'hardening.health_p99_attack_vs_idle': { value: Number((busy.p99 / quiet.p99).toFixed(2)), unit: '×' },
    };
  } finally {
    await server.stop();
    if (fullDisk) unmountTmpfs(dataDir);
    rmSync(dir, { recursive: true, force: true });
  }
}

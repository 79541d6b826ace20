// 100k runs written straight into a fresh SQLite store, for the benchmarks that search or list them.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrap, SqliteStore } from '../packages/server/dist/index.js';
import { BENCH_TOKEN } from './server-process.js';

/**
 * Makes a data dir holding 100k finished runs in 20 folders, with metadata `beta`, `solver` and `mesh`;
 * `statusOf(i)` picks each run's status. Returns the dir, for `startServer({ dataDir })`.
 */
export async function seedRuns(prefix, log, statusOf = () => 'completed') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const store = SqliteStore.open(join(dir, 'simscope.db'));
  await store.migrate();
  await bootstrap(store, Date.now() * 1000, BENCH_TOKEN);
  const user = await store.identity.getUser('admin');
  const ws = await store.identity.getWorkspace('default');
  const solvers = ['cg', 'gmres', 'bicgstab'];
  const t0 = performance.now();
  const base = Date.now() * 1000 - 100_000 * 1_000_000;
  for (let i = 0; i < 100_000; i++) {
    const at = base + i * 1_000_000;
    await store.runs.createRun({
      id: `run${String(i).padStart(8, '0')}`,
      workspaceId: ws.id,
      name: `run-${i}`,
      folder: `/study/${i % 20}`,
      userId: user.id,
      description: null,
      tags: i % 7 === 0 ? ['baseline'] : [],
      metadata: { beta: ((i * 7919) % 100_000) / 100_000, solver: solvers[i % 3], mesh: i % 50 },
      system: {},
      status: statusOf(i),
      createdAt: at,
      startedAt: at,
      heartbeatAt: at,
      heartbeatTimeout: null,
    });
  }
  await store.close();
  log(`  (created 100k runs in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return dir;
}

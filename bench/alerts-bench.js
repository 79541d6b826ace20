// Alert benchmark: one evaluation pass over 10,000 active metric alerts (1,000 runs x 10 metrics, fresh data).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlertEngine, bootstrap, SqliteStore } from '../packages/server/dist/index.js';

const RUNS = 1000;
const METRICS = 10;
const POINTS = 60;
const S = 1_000_000;

/** A run's 10 metrics, 60 points each over the last minute; run k's values sit around 0.5 so about half break. */
function series(k, now) {
  const out = [];
  for (let m = 0; m < METRICS; m++) {
    const steps = new Float64Array(POINTS);
    const timestamps = new Float64Array(POINTS);
    const times = new Float64Array(POINTS);
    const values = new Float64Array(POINTS);
    for (let i = 0; i < POINTS; i++) {
      steps[i] = i;
      timestamps[i] = now - (POINTS - i) * S;
      times[i] = i;
      values[i] = 0.25 + ((k + m) % 2) * 0.5 + Math.sin(i) * 0.1;
    }
    out.push({ name: `m${m}`, steps, times, timestamps, values });
  }
  return out;
}

export async function run({ log }) {
  const dir = mkdtempSync(join(tmpdir(), 'simscope-bench-alerts-'));
  const store = SqliteStore.open(join(dir, 'simscope.db'));
  try {
    await store.migrate();
    const now = Date.now() * 1000;
    await bootstrap(store, now, 'ssk_bench_alerts_token_00000000000000000');
    const workspace = await store.identity.getWorkspace('default');
    const [user] = await store.identity.listUsers();
    const alerts = [];
    for (let m = 0; m < METRICS; m++) {
      alerts.push(
        await store.alerts.createAlert({
          id: `alert-${m}`,
          workspaceId: workspace.id,
          name: `m${m} above 0.5`,
          createdAt: now,
          source: 'metrics',
          description: null,
          rule: 'is above',
          metric: `m${m}`,
          threshold: 0.5,
          rangeLow: null,
          rangeHigh: null,
          aggregation: 'average',
          pattern: null,
          match: null,
          window: 60,
          frequency: 60,
          notification: [],
          emails: [],
          webhook: null,
          notifyOk: false,
          abortOnCritical: false,
        }),
      );
    }
    const t0 = performance.now();
    for (let k = 0; k < RUNS; k++) {
      const created = await store.runs.createRun({
        id: `run-${k}`,
        workspaceId: workspace.id,
        name: `run-${k}`,
        folder: '/bench',
        userId: user.id,
        description: null,
        tags: [],
        metadata: {},
        system: {},
        status: 'running',
        createdAt: now - 120 * S,
        startedAt: now - 120 * S,
        heartbeatTimeout: null,
      });
      await store.metrics.appendMetrics(created.pk, { writer: 'bench', seq: 0 }, series(k, now), {
        startedAt: now - 120 * S,
        now,
      });
      for (const alert of alerts) await store.alerts.attachAlert(created.pk, alert.pk, now - 60 * S, now);
    }
    log(
      `  set up ${RUNS} runs x ${METRICS} metrics x ${POINTS} points, ${RUNS * METRICS} alerts in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const engine = new AlertEngine({ store, now: () => now, graceSeconds: 0 });
    const t1 = performance.now();
    const stats = await engine.evaluate(now);
    const ms = performance.now() - t1;
    log(`  one pass: ${stats.pairs} alerts, ${stats.transitions} turned critical, ${ms.toFixed(0)} ms`);
    return {
      'alerts.evaluate_10k_alerts.ms': { value: Number(ms.toPrecision(4)), unit: 'ms' },
      'alerts.evaluate_10k_alerts.per_s': {
        value: Number(((stats.pairs / ms) * 1000).toPrecision(4)),
        unit: 'alerts/s',
      },
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// MLflow-compatible API: log-batch ingest as MLflow clients send it, and a 100k-point get-history.
import { BENCH_TOKEN, startServer } from './server-process.js';

const BATCHES = 100;
const BATCH = 1000;
const KEYS = 10;
const HISTORY_POINTS = 100_000;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function mlflowClient(url) {
  return async function call(method, path, payload) {
    let target = `${url}/mlflow/api/2.0/mlflow/${path}`;
    const init = { method, headers: { authorization: `Bearer ${BENCH_TOKEN}` } };
    if (method === 'GET') target += `?${new URLSearchParams(payload)}`;
    else {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(payload);
    }
    const res = await fetch(target, init);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
}

/** A batch as `mlflow.log_metrics` / autologging sends it: KEYS metrics per step, timestamps in ms. */
function batchBody(runId, b, keys) {
  const t0 = Date.now() - 3_600_000;
  const steps = BATCH / keys;
  const metrics = [];
  for (let s = 0; s < steps; s++) {
    const step = b * steps + s;
    for (let k = 0; k < keys; k++) {
      metrics.push({
        key: keys === 1 ? 'loss' : `metric_${k}`,
        value: Math.sin(step / 100) + k,
        timestamp: t0 + step,
        step,
      });
    }
  }
  return { run_id: runId, metrics, params: [], tags: [] };
}

export async function run({ log }) {
  const results = {};
  const put = (name, value, unit) => {
    results[name] = { value: Number(value.toPrecision(4)), unit };
  };
  const server = await startServer();
  const call = mlflowClient(server.url);
  try {
    const exp = (await call('POST', 'experiments/create', { name: 'bench-mlflow' })).experiment_id;
    const newRun = async (name) =>
      (
        await call('POST', 'runs/create', {
          experiment_id: exp,
          run_name: name,
          start_time: Date.now() - 7_200_000,
          tags: [],
        })
      ).run.info.run_id;

    const ingestRun = await newRun('ingest');
    const bodies = Array.from({ length: BATCHES }, (_, b) => JSON.stringify(batchBody(ingestRun, b, KEYS)));
    let t0 = performance.now();
    for (const body of bodies) {
      const res = await fetch(`${server.url}/mlflow/api/2.0/mlflow/runs/log-batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' },
        body,
      });
      if (res.status !== 200) throw new Error(`log-batch: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
    const seconds = (performance.now() - t0) / 1000;
    const rate = (BATCHES * BATCH) / seconds;
    log(
      `  log-batch, ${BATCHES} batches of ${BATCH} metrics (${KEYS} keys), one client in turn: ${(rate / 1000).toFixed(1)}k points/s`,
    );
    put('mlflow.log_batch.points_per_s', rate, 'points/s');

    const historyRun = await newRun('history');
    t0 = performance.now();
    for (let b = 0; b < HISTORY_POINTS / BATCH; b++)
      await call('POST', 'runs/log-batch', batchBody(historyRun, b, 1));
    log(
      `  seeded ${HISTORY_POINTS} points of one metric in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const times = [];
    for (let i = 0; i < 5; i++) {
      const h0 = performance.now();
      const history = await call('GET', 'metrics/get-history', {
        run_id: historyRun,
        run_uuid: historyRun,
        metric_key: 'loss',
      });
      times.push(performance.now() - h0);
      if (history.metrics.length !== HISTORY_POINTS)
        throw new Error(`get-history gave ${history.metrics.length} points`);
    }
    const ms = median(times);
    log(
      `  get-history of ${HISTORY_POINTS} points without max_results (as the Python client asks): ${ms.toFixed(1)} ms`,
    );
    put('mlflow.get_history_100k.ms', ms, 'ms');
  } finally {
    await server.stop();
  }
  return results;
}

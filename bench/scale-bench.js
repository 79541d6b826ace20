// Scale-out benchmarks: ingest through one and through two server processes over one PostgreSQL (same run), CPU
// time per point, and the latency of a write on server B reaching a live stream on server A.
import { readFileSync } from 'node:fs';
import { float64Bytes, int64Bytes } from '../packages/protocol/dist/index.js';
import { createDatabase, startPostgres } from '../scripts/postgres-cluster.js';
import { createClient, packr } from './http.js';
import { BENCH_TOKEN, startServer } from './server-process.js';

const BATCH_POINTS = 10_000;
const SENDERS = Number(process.env.BENCH_SENDERS ?? 4);
const BATCHES = Number(process.env.BENCH_SCALE_BATCHES ?? 200);
const FANOUT_WRITES = 100;
const TICKS = 100; // USER_HZ on Linux

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
      values[i] = Math.sin(step / 1000);
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

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
function processCpu(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** CPU seconds the whole machine has used (all cores, PostgreSQL included), from /proc/stat. */
function machineCpu() {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = ticks.map(Number);
  return (user + nice + system + irq + softirq + steal) / TICKS;
}

/** Sends every body with SENDERS senders spread over the servers (sender k to server k % n, one run each). */
async function ingest(clients, pids, label, log) {
  const targets = [];
  for (let k = 0; k < SENDERS; k++) {
    const client = clients[k % clients.length];
    const run = await client.json('POST', '/runs', { name: `scale-${label}-${k}-${Date.now()}` });
    targets.push({ client, path: `/runs/${run.id}/metrics` });
  }
  const sendAll = async (bodies) => {
    let next = 0;
    await Promise.all(
      targets.map(async ({ client, path }) => {
        while (next < bodies.length) {
          const body = bodies[next++];
          await client.request('POST', path, { body, type: 'application/msgpack' });
        }
      }),
    );
  };
  await sendAll(makeBatches(20, `warm-${label}`));
  const bodies = makeBatches(BATCHES, `w-${label}`);
  const cpu0 = pids.map(processCpu);
  const machine0 = machineCpu();
  const t0 = performance.now();
  await sendAll(bodies);
  const seconds = (performance.now() - t0) / 1000;
  const points = BATCHES * BATCH_POINTS;
  const serverCpu = pids.reduce((sum, pid, i) => sum + processCpu(pid) - cpu0[i], 0);
  const machine = machineCpu() - machine0;
  const rate = points / seconds;
  log(
    `  ${label}: ${(rate / 1e6).toFixed(2)} M points/s; CPU per point: servers ${((serverCpu / points) * 1e9).toFixed(0)} ns, ` +
      `machine (PostgreSQL and senders included) ${((machine / points) * 1e9).toFixed(0)} ns`,
  );
  return { rate, serverNsPerPoint: (serverCpu / points) * 1e9, machineNsPerPoint: (machine / points) * 1e9 };
}

/** Writes a small batch on B, FANOUT_WRITES times, and times each until A's live stream shows it. */
async function fanout(urlA, clientB, log) {
  const run = await clientB.json('POST', '/runs', { name: `fanout-${Date.now()}` });
  const res = await fetch(`${urlA}/api/v1/live?runs=${run.id}`, {
    headers: { authorization: `Bearer ${BENCH_TOKEN}` },
  });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let waiting;
  (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      if (buffer.includes('event: metrics')) {
        buffer = '';
        waiting?.();
      }
    }
  })().catch(() => {});
  await new Promise((r) => setTimeout(r, 200));
  const latencies = [];
  for (let seq = 0; seq < FANOUT_WRITES; seq++) {
    const seen = new Promise((resolve) => {
      waiting = resolve;
    });
    const t0 = performance.now();
    await clientB.json('POST', `/runs/${run.id}/metrics`, {
      writer: 'fanout',
      seq,
      series: [{ name: 'x', steps: [seq], values: [seq] }],
    });
    await seen;
    latencies.push(performance.now() - t0);
    // Past the stream's gathering window, so each write is its own message.
    await new Promise((r) => setTimeout(r, 250));
  }
  await reader.cancel();
  latencies.sort((a, b) => a - b);
  const p50 = latencies[Math.floor(latencies.length * 0.5)];
  const p99 = latencies[Math.floor(latencies.length * 0.99)];
  log(
    `  write on B to event on A: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (${FANOUT_WRITES} writes; the stream gathers 200 ms)`,
  );
  return { p50, p99 };
}

export async function run({ log }) {
  const results = {};
  const put = (name, value, unit) => {
    results[name] = { value: Math.round(value * 100) / 100, unit };
  };
  log(`scale-out over one PostgreSQL: msgpack batches of ${BATCH_POINTS} points, ${SENDERS} senders`);
  const postgres = await startPostgres({ fsync: true });
  const servers = [];
  const clients = [];
  try {
    const db = await createDatabase(postgres.url, 'scale');
    servers.push(await startServer({ db, env: { SIMSCOPE_BENCH_SINK: '0' } }));
    servers.push(await startServer({ db, env: { SIMSCOPE_BENCH_SINK: '0' } }));
    for (const server of servers) clients.push(createClient(server.url));
    const one = await ingest([clients[0]], [servers[0].pid], '1-server', log);
    const two = await ingest(
      clients,
      servers.map((s) => s.pid),
      '2-servers',
      log,
    );
    log(`  ratio 2 servers / 1 server: ${(two.rate / one.rate).toFixed(2)} (bounded by the machine's cores)`);
    put('scale.ingest_pg_1_server.points_per_s', one.rate, 'points/s');
    put('scale.ingest_pg_2_servers.points_per_s', two.rate, 'points/s');
    put('scale.ingest_pg_ratio', two.rate / one.rate, 'ratio');
    put('scale.ingest_pg_1_server.server_cpu_ns_per_point', one.serverNsPerPoint, 'ns');
    put('scale.ingest_pg_2_servers.server_cpu_ns_per_point', two.serverNsPerPoint, 'ns');
    const latency = await fanout(servers[0].url, clients[1], log);
    put('scale.live_fanout_latency.ms', latency.p50, 'ms (p50)');
    put('scale.live_fanout_latency_p99.ms', latency.p99, 'ms');
  } finally {
    for (const client of clients) client.close();
    for (const server of servers) await server.stop();
    await postgres.stop();
  }
  return results;
}

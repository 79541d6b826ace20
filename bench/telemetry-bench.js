// Telemetry benchmarks: time a tracked call adds to the caller (telemetry on, records really sent to a server;
// and telemetry off), and how long flushing 100k queued calls to the server takes.
import { Telemetry } from '../packages/telemetry/dist/index.js';
import { BENCH_TOKEN, startServer } from './server-process.js';

const ROUNDS = 41;
const CALLS = 10_000;

const signed = (ns) => `${ns >= 0 ? '+' : ''}${ns.toFixed(1)}`;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// The library function: cheap, so that what is measured is the wrapper.
function search(query, options) {
  return query.length + (options?.limit ?? 0);
}

async function newKey(url, service) {
  const res = await fetch(`${url}/api/v1/admin/telemetry/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ service, name: 'bench' }),
  });
  if (!res.ok) throw new Error(`creating a telemetry key: ${res.status} ${await res.text()}`);
  return (await res.json()).key;
}

function isolated(config) {
  return new Telemetry({ env: {}, configFile: '/nonexistent/simscope.toml', exitHooks: false, ...config });
}

function perCall(fn) {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) sink += fn('tas', { limit: i });
  const ns = Number(process.hrtime.bigint() - t0) / CALLS;
  if (sink < 0) throw new Error('unreachable');
  return ns;
}

/** Median over rounds of (tracked − plain) ns per call; `between` runs untimed after each round. */
async function overhead(tracked, between) {
  const diffs = [];
  for (let round = -5; round < ROUNDS; round++) {
    const a = round % 2 === 0 ? perCall(search) : perCall(tracked);
    const b = round % 2 === 0 ? perCall(tracked) : perCall(search);
    const [plain, wrapped] = round % 2 === 0 ? [a, b] : [b, a];
    if (round >= 0) diffs.push(wrapped - plain);
    await between();
  }
  return median(diffs);
}

export async function run({ log }) {
  const results = {};
  const put = (name, value, unit) => {
    results[name] = { value: Number(value.toPrecision(4)), unit };
  };
  const server = await startServer();
  try {
    const key = await newKey(server.url, 'bench/search');
    const on = isolated({ flushIntervalMs: 1000 });
    const tracked = on.track('bench/search', search);
    on.setDestination('bench/search', { url: server.url, key });
    const enabled = await overhead(tracked, () => on.flush());
    const stats = await on.close();
    if (stats.failed !== 0 || stats.dropped !== 0)
      throw new Error(`telemetry lost records: ${JSON.stringify(stats)}`);
    log(`  tracked call, telemetry on: ${signed(enabled)} ns per call (${stats.sent} records sent)`);
    put('telemetry.call_overhead.ns', enabled, 'ns');

    const off = isolated({ env: { DO_NOT_TRACK: '1' } });
    const untracked = off.track('bench/search', search);
    off.setDestination('bench/search', { url: server.url, key });
    const disabled = await overhead(untracked, () => off.flush());
    log(
      `  tracked call, telemetry off (DO_NOT_TRACK=1): ${signed(disabled)} ns per call (track returns the function itself)`,
    );
    put('telemetry.call_overhead_disabled.ns', disabled, 'ns');

    const flusher = isolated({ flushIntervalMs: 3_600_000, batchSize: 10_000 });
    const queued = flusher.track('bench/search', search);
    flusher.setDestination('bench/search', { url: server.url, key });
    for (let i = 0; i < 100_000; i++) queued('tas', { limit: i });
    const t0 = performance.now();
    const flushed = await flusher.flush();
    const flushMs = performance.now() - t0;
    if (flushed.sent !== 100_000) throw new Error(`flush sent ${flushed.sent} of 100000 records`);
    log(`  flush of 100k queued calls to the server (SQLite): ${flushMs.toFixed(0)} ms`);
    put('telemetry.flush_100k.ms', flushMs, 'ms');
    await flusher.close();
  } finally {
    await server.stop();
  }
  return results;
}

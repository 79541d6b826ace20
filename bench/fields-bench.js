// Field benchmarks: 1,000 steps of a 512 × 512 float32 field logged through the client and the server into the
// local blob store, beside the same bytes written raw to a blob store in this process; one 4096² step read down to
// a 1024² view; the bytes stored for a smooth field. Each figure is the median of RUNS fresh tries.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Client, Run } from '../packages/client/dist/index.js';
import { LocalBlobStore } from '../packages/server/dist/blob/local-blob-store.js';
import { BENCH_TOKEN, startServer } from './server-process.js';

const RUNS = Number(process.env.FIELDS_BENCH_RUNS ?? 3);
const STEPS = 1000;
const SIDE = 512;
const BIG = 4096;
/** Uploads the client has in flight; the raw baseline writes as many blobs at once. */
const IN_FLIGHT = 3;
/** Steps logged between waits for the client's array queue (200 MiB of its 256 MiB). */
const QUEUE_STEPS = 200;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Writes back what the file systems hold in memory, so one phase's writeback does not slow the next. */
function flushDisks() {
  try {
    execFileSync('sync', { stdio: 'ignore', timeout: 60_000 });
  } catch {
    // no sync command: measure as things are
  }
}

/** CPU seconds a process has used (Linux), or NaN elsewhere: a figure a loaded machine blurs less than time. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** A smooth field, sin(x/40)·cos(y/30), as float32. */
function smoothField(ny, nx) {
  const out = new Float32Array(ny * nx);
  for (let y = 0; y < ny; y++) {
    const cy = Math.cos(y / 30);
    for (let x = 0; x < nx; x++) out[y * nx + x] = Math.sin(x / 40) * cy;
  }
  return out;
}

/** Step `s` of the series: the base field shifted a little, so no two steps share bytes (blobs are deduplicated). */
function stepOf(base, s, out) {
  const shift = s * 1e-3;
  for (let i = 0; i < base.length; i++) out[i] = base[i] + shift;
  return out;
}

/** Seconds to write the STEPS fields' bytes as blobs, IN_FLIGHT at a time. */
async function rawBlobWrite(dir, base) {
  const blobs = new LocalBlobStore(dir);
  const t0 = performance.now();
  let next = 0;
  const field = () => Buffer.from(stepOf(base, next++, new Float32Array(base.length)).buffer);
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < STEPS) {
        const staged = await blobs.stage(Readable.from([field()]));
        await blobs.commit(staged);
      }
    }),
  );
  return (performance.now() - t0) / 1000;
}

/** Seconds to log STEPS fields through the client and see them all stored; the bytes stored. */
async function logFields(url, base, name) {
  const errors = [];
  const run = await new Run()
    .config({ url, token: BENCH_TOKEN, systemInfo: false, onError: (e) => errors.push(e) })
    .init({ name });
  const field = new Float32Array(base.length);
  const t0 = performance.now();
  for (let s = 0; s < STEPS; s++) {
    run.logArray('T', stepOf(base, s, field), { step: s, shape: [SIDE, SIDE] });
    // The client holds at most 256 MiB of arrays waiting (beyond, it drops them): a producer faster than the
    // upload waits for the queue now and then.
    if (s % QUEUE_STEPS === QUEUE_STEPS - 1) await run.flush();
    // As a solver's loop that awaits anything between steps: the uploads go on while the next field is made.
    else await new Promise((resolve) => setImmediate(resolve));
  }
  await run.flush();
  const seconds = (performance.now() - t0) / 1000;
  await run.close();
  if (errors.length > 0) throw errors[0];
  const client = new Client({ url, token: BENCH_TOKEN });
  let stored = 0;
  let steps = 0;
  for await (const { items } of client.pages('listArrays', {
    params: { run: name },
    query: { name: 'T' },
    pageSize: 1000,
  })) {
    for (const s of items) stored += s.storedBytes;
    steps += items.length;
  }
  if (steps !== STEPS) throw new Error(`${steps} of ${STEPS} steps stored`);
  return { seconds, stored };
}

export async function run({ log }) {
  const results = {};
  const put = (name, value, unit) => {
    results[name] = { value: Number(value.toPrecision(4)), unit };
  };
  const dir = mkdtempSync(join(tmpdir(), 'simscope-bench-fields-'));
  const server = await startServer({ dataDir: join(dir, 'server') });
  try {
    const base = smoothField(SIDE, SIDE);
    const raw = [];
    const logged = [];
    const serverCpu = [];
    let ratio = 0;
    for (let r = 0; r < RUNS; r++) {
      flushDisks();
      raw.push(await rawBlobWrite(join(dir, `raw-${r}`), base));
      rmSync(join(dir, `raw-${r}`), { recursive: true, force: true });
      flushDisks();
      const cpu0 = cpuSeconds(server.pid);
      const { seconds, stored } = await logFields(server.url, base, `fields-${r}`);
      serverCpu.push(((cpuSeconds(server.pid) - cpu0) / STEPS) * 1000);
      logged.push(seconds);
      ratio = stored / (STEPS * base.byteLength);
    }
    const fmt = (xs) => xs.map((x) => x.toFixed(2)).join(', ');
    log(`  log ${STEPS} × ${SIDE}² float32 and flush: ${median(logged).toFixed(2)} s (runs ${fmt(logged)})`);
    log(
      `  baseline, the same bytes written raw to a blob store: ${median(raw).toFixed(2)} s (runs ${fmt(raw)})`,
    );
    log(
      `  logging / raw write: ${(median(logged) / median(raw)).toFixed(2)}×; stored / raw bytes: ${ratio.toFixed(3)}`,
    );
    log(`  server CPU per logged step: ${median(serverCpu).toFixed(1)} ms (runs ${fmt(serverCpu)})`);
    put('fields.log_512x512x1000.s', median(logged), 's');
    put('fields.log_512x512x1000.raw_blob_write.s', median(raw), 's');
    put('fields.log_512x512x1000.vs_raw', median(logged) / median(raw), '×');
    put('fields.storage_ratio', ratio, 'stored/raw');
    if (serverCpu.every(Number.isFinite))
      put('fields.log_512x512x1000.server_cpu_per_step.ms', median(serverCpu), 'ms');

    const big = smoothField(BIG, BIG);
    const run = await new Run()
      .config({ url: server.url, token: BENCH_TOKEN, systemInfo: false })
      .init({ name: 'big' });
    run.logArray('T', big, { step: 0, shape: [BIG, BIG] });
    await run.close();
    const client = new Client({ url: server.url, token: BENCH_TOKEN });
    const reads = [];
    for (let r = 0; r < Math.max(RUNS, 3) + 1; r++) {
      const t0 = performance.now();
      const view = await client.getArray('big', 'T', 0, { region: '::4,::4' });
      if (view.values.length !== 1024 * 1024 || view.values[1025] !== big[4 * BIG + 4])
        throw new Error('wrong view');
      // The first read warms the server's code paths and the page cache; it is not counted.
      if (r > 0) reads.push(performance.now() - t0);
    }
    log(
      `  read one ${BIG}² step down to 1024² (::4,::4): ${median(reads).toFixed(0)} ms (runs ${fmt(reads)})`,
    );
    put('fields.read_step_4096.ms', median(reads), 'ms');
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

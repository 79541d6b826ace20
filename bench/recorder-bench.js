// Recorder throughput: 100 records of 2 MB float64 arrays (shape 10×125×200) written to and read
// from HDF5 and Redis, beside plain fs.writeFile/readFile of the same bytes (the ceiling).
// Redis reads are also set beside a bare socket reading the same LRANGE reply (the loopback ceiling).
// MB is 10^6 bytes. Each figure is the median of 3 rounds after a warm-up round.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HDF5DataStore } from '../packages/recorder/dist/hdf5/index.js';
import { Recorder } from '../packages/recorder/dist/index.js';
import { RedisDataStore } from '../packages/recorder/dist/redis/index.js';

const RECORDS = 100;
const SHAPE = [10, 125, 200];
const ELEMENTS = SHAPE[0] * SHAPE[1] * SHAPE[2];
const TOTAL_MB = (RECORDS * ELEMENTS * 8) / 1e6;
const ROUNDS = 3;
const SLICE_READS = 25;

export async function run({ log }) {
  const records = Array.from({ length: RECORDS }, (_, i) => {
    const data = new Float64Array(ELEMENTS);
    for (let j = 0; j < ELEMENTS; j++) data[j] = i + j * 1e-6;
    return { data, shape: SHAPE };
  });
  const dir = await mkdtemp(join(tmpdir(), 'recorder-bench-'));
  const redis = await startRedis(dir);
  const samples = {};
  const add = (name, value) => {
    samples[name] ??= [];
    samples[name].push(value);
  };
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      const warm = round === 0;
      const mbps = (name, ms) => !warm && add(name, TOTAL_MB / (ms / 1000));

      mbps('fs.write', await time(() => fsWrite(dir, records)));
      mbps('fs.read', await time(() => fsRead(dir)));

      const path = join(dir, `bench-${round}.h5`);
      mbps('hdf5.write', await time(() => hdf5Write(path, records)));
      const reader = await HDF5DataStore.open(path, { mode: 'read' });
      let values;
      mbps(
        'hdf5.read',
        await time(async () => {
          values = await reader.getAll('sim/frames');
        }),
      );
      verify(values, 'hdf5');
      values = undefined;
      if (!warm) add('hdf5.slice', sliceReadMs(reader));
      await reader.close();
      await rm(path);

      const prefix = `bench${round}:`;
      mbps('redis.write', await time(() => redisWrite(redis.port, prefix, records)));
      const store = await RedisDataStore.connect({ port: redis.port, prefix });
      mbps(
        'redis.read',
        await time(async () => {
          values = await store.getAll('sim/frames');
        }),
      );
      verify(values, 'redis');
      values = undefined;
      mbps('redis.socket', await time(() => rawListRead(redis.port, `${prefix}data:sim/frames`)));
      await store.clear();
      await store.close();
      log(warm ? 'warm-up round done' : `round ${round}/${ROUNDS} done`);
    }
  } finally {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }

  const m = (name) => median(samples[name]);
  const round1 = (x) => Math.round(x * 10) / 10;
  const round2 = (x) => Math.round(x * 100) / 100;
  return {
    'recorder.hdf5.write_mb_per_s': { value: round1(m('hdf5.write')), unit: 'MB/s' },
    'recorder.hdf5.read_mb_per_s': { value: round1(m('hdf5.read')), unit: 'MB/s' },
    'recorder.redis.write_mb_per_s': { value: round1(m('redis.write')), unit: 'MB/s' },
    'recorder.redis.read_mb_per_s': { value: round1(m('redis.read')), unit: 'MB/s' },
    'recorder.redis_socket_ceiling.read_mb_per_s': { value: round1(m('redis.socket')), unit: 'MB/s' },
    'recorder.fs_ceiling.write_mb_per_s': { value: round1(m('fs.write')), unit: 'MB/s' },
    'recorder.fs_ceiling.read_mb_per_s': { value: round1(m('fs.read')), unit: 'MB/s' },
    'recorder.hdf5.slice_read.ms': { value: round2(m('hdf5.slice')), unit: 'ms' },
    'recorder.hdf5.write_ratio_to_fs': {
      value: round2(ratioMedian(samples['hdf5.write'], samples['fs.write'])),
      unit: 'x',
    },
    'recorder.hdf5.read_ratio_to_fs': {
      value: round2(ratioMedian(samples['hdf5.read'], samples['fs.read'])),
      unit: 'x',
    },
    'recorder.redis.read_ratio_to_socket': {
      value: round2(ratioMedian(samples['redis.read'], samples['redis.socket'])),
      unit: 'x',
    },
    'recorder.redis.write_ratio_to_fs': {
      value: round2(ratioMedian(samples['redis.write'], samples['fs.write'])),
      unit: 'x',
    },
  };
}

async function hdf5Write(path, records) {
  const recorder = new Recorder(await HDF5DataStore.open(path, { mode: 'overwrite' }));
  for (const record of records) await recorder.record('sim/frames', record);
  await recorder.close();
}

async function redisWrite(port, prefix, records) {
  const recorder = new Recorder(await RedisDataStore.connect({ port, prefix }));
  for (const record of records) await recorder.record('sim/frames', record);
  await recorder.close();
}

/** The same LRANGE on a bare socket, reply bytes counted but not parsed: the loopback + Redis ceiling. */
function rawListRead(port, listKey) {
  const reply = 3 + String(RECORDS).length + RECORDS * (ELEMENTS * 8 + 5 + String(ELEMENTS * 8).length);
  const command = ['LRANGE', listKey, '0', '-1'].map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`*4\r\n${command}`));
    let received = 0;
    socket.on('data', (chunk) => {
      received += chunk.length;
      if (received >= reply) {
        socket.destroy();
        resolve();
      }
    });
    socket.once('error', reject);
  });
}

async function fsWrite(dir, records) {
  for (let i = 0; i < records.length; i++) await writeFile(join(dir, `fs-${i}.bin`), records[i].data);
}

async function fsRead(dir) {
  for (let i = 0; i < RECORDS; i++) {
    const bytes = await readFile(join(dir, `fs-${i}.bin`));
    if (bytes.length !== ELEMENTS * 8) throw new Error('short read');
  }
  for (let i = 0; i < RECORDS; i++) await rm(join(dir, `fs-${i}.bin`));
}

/** Median time to read one record (2 MB) at a random index through an HDF5 view. */
function sliceReadMs(store) {
  const view = store.view('sim/frames');
  const times = [];
  for (let k = 0; k < SLICE_READS; k++) {
    const i = (k * 37) % RECORDS;
    const started = performance.now();
    const { data } = view.read(i, i + 1);
    times.push(performance.now() - started);
    if (data[1] !== i + 1e-6) throw new Error(`slice ${i} read wrong data`);
  }
  return median(times);
}

function verify(values, where) {
  if (values.length !== RECORDS) throw new Error(`${where}: read ${values.length} records`);
  for (const i of [0, 57, RECORDS - 1]) {
    const { data, shape } = values[i];
    if (shape.join() !== SHAPE.join() || data[ELEMENTS - 1] !== i + (ELEMENTS - 1) * 1e-6) {
      throw new Error(`${where}: record ${i} came back wrong`);
    }
  }
}

async function time(fn) {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

function median(xs) {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median of per-round ratios: both figures of a ratio come from the same round. */
function ratioMedian(xs, ys) {
  return median(xs.map((x, i) => x / ys[i]));
}

async function startRedis(dir) {
  const port = await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
    child.once('error', (error) =>
      reject(new Error(`cannot run redis-server (apt-get install redis-server): ${error}`)),
    );
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.removeAllListeners('exit');
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGKILL');
      }),
  };
}

// Hostile requests of every kind a shared server must survive, with /health polled every 50 ms meanwhile.
// Used by the stall watchdog test (e2e/watchdog) and by `npm run bench -- hardening`.
import { execFileSync, spawn } from 'node:child_process';
import { open, rm } from 'node:fs/promises';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const packr = new Packr({ useRecords: false, variableMapSize: true });
const JSON_TYPE = { 'content-type': 'application/json' };
const MSGPACK_TYPE = { 'content-type': 'application/msgpack' };
const json = (value) => JSON.stringify(value);

/**
 * A keep-alive client for one server; a request that fails outright answers status 0 (health polls throw).
 * @param {string} base server URL
 * @param {string} token bearer token with the admin scope
 */
export function hostileClient(base, token) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  /** @returns {Promise<{ status: number, body: string, headers: http.IncomingHttpHeaders }>} */
  return function request(method, path, body, headers = {}) {
    return new Promise((resolve, reject) => {
      const stream = body instanceof Readable;
      const req = http.request(
        new URL(`/api/v1${path}`, base),
        {
          method,
          agent,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body !== undefined && !stream ? { 'content-length': Buffer.byteLength(body) } : {}),
            ...headers,
          },
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              headers: res.headers,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', (error) =>
        path === '/health' ? reject(error) : resolve({ status: 0, body: String(error), headers: {} }),
      );
      // A request that never finishes fails as status 0 instead of holding the whole attack.
      req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
      if (stream) body.pipe(req);
      else req.end(body);
    });
  };
}

function float64(count) {
  const column = new Float64Array(count);
  for (let i = 0; i < count; i++) column[i] = Math.sin(i / 100) + (i % 9973 === 0 ? 50 : 0);
  return Buffer.from(column.buffer);
}

/** Mounts a tmpfs of `megabytes` at `dir`; false where this machine does not allow it. */
export function mountTmpfs(dir, megabytes, log = console.log) {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m,mode=0700`, 'tmpfs', dir], {
      stdio: 'pipe',
    });
    return true;
  } catch (error) {
    log(`no tmpfs here (${String(error.message).split('\n')[0]}); the full-disk case is left out`);
    return false;
  }
}

export function unmountTmpfs(dir) {
  execFileSync('umount', ['-l', dir]);
}

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** p50, p99 and max of latencies in ms. */
export function latencySummary(latencies) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    polls: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1),
  };
}

/**
 * Polls /health every 50 ms until `stop()` and returns the latencies.
 * @param {ReturnType<typeof hostileClient>} request
 */
export function watchHealth(request) {
  const latencies = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const t0 = performance.now();
      const a = await request('GET', '/health');
      const ms = performance.now() - t0;
      if (a.status !== 200) throw new Error(`/health answered ${a.status}: ${a.body}`);
      latencies.push(ms);
      await new Promise((r) => setTimeout(r, Math.max(0, 50 - ms)));
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return latencies;
    },
  };
}

/**
 * Makes the data the attack aims at: a run whose name, description and metric name make backtracking engines
 * explode, a 1M-point series, and 100 runs of 10k points for a legal many-run downsample.
 */
export async function seedTargets(request) {
  const post = async (path, body, headers = JSON_TYPE) => {
    const a = await request('POST', path, Buffer.isBuffer(body) ? body : json(body), headers);
    if (a.status >= 300) throw new Error(`${path}: ${a.status} ${a.body}`);
    return JSON.parse(a.body);
  };
  const victim = await post('/runs', {
    name: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!',
    description: 'x'.repeat(27),
    folder: '/watchdog',
  });
  await post(`/runs/${victim.id}/metrics`, {
    writer: 'w',
    seq: 0,
    series: [{ name: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!', values: [1] }],
  });
  for (let i = 0; i < 4; i++) {
    const body = packr.pack({
      writer: 'big',
      seq: i,
      series: [{ name: 'residual', values: float64(250_000) }],
    });
    await post(`/runs/${victim.id}/metrics`, body, MSGPACK_TYPE);
  }
  const sweep = [];
  for (let r = 0; r < 100; r++) {
    const run = await post('/runs', { name: `sweep-${r}`, folder: '/watchdog/sweep' });
    const body = packr.pack({ writer: 'w', seq: 0, series: [{ name: 'residual', values: float64(10_000) }] });
    await post(`/runs/${run.id}/metrics`, body, MSGPACK_TYPE);
    sweep.push(run.id);
  }
  // The bodies are made here, before any watching starts, so that building them stalls no measurement.
  const bigBody = packr.pack({
    writer: 'idem',
    seq: 0,
    series: [{ name: 'huge', values: float64(7_500_000) }],
  });
  const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
  return { victim: victim.id, sweep, bigBody, deep };
}

/** A many-run downsample the server must answer: 100 runs × 10k points. */
export function legalDownsample(request, targets) {
  return request(
    'POST',
    '/metrics/downsample',
    json({ runs: targets.sweep, name: 'residual', buckets: 1000 }),
    JSON_TYPE,
  );
}

/**
 * Sends every kind of hostile request, several at once, and returns each kind's statuses.
 * @param {{ request: ReturnType<typeof hostileClient>, targets: Awaited<ReturnType<typeof seedTargets>>, db: string, fullDisk: boolean }} options
 */
export async function attack({ request, targets, db, fullDisk }) {
  const { victim } = targets;
  const statuses = new Map();
  const record = (what, a) => {
    statuses.set(what, [...(statuses.get(what) ?? []), a.status]);
    return a;
  };
  const { bigBody, deep } = targets;

  const regex = async () => {
    for (const filter of ['description matches "^(.|.)*Z"', 'name matches "^(a+)+$"']) {
      record('regex filter', await request('GET', `/runs?filter=${encodeURIComponent(filter)}`));
    }
    record(
      'regex metric list',
      await request('GET', `/runs/${victim}/metrics?regex=${encodeURIComponent('^(a+)+$')}`),
    );
    const alert = {
      name: 'stall',
      source: 'events',
      match: 'regex',
      pattern: '^(.|.)*Z',
      frequency: 1,
      window: 60,
    };
    const created = record('regex alert', await request('POST', '/alerts', json(alert), JSON_TYPE));
    if (created.status < 300 && created.status !== 0) {
      await request('POST', `/runs/${victim}/alerts`, json({ alert: 'stall' }), JSON_TYPE);
    }
    const events = {
      writer: 'e',
      seq: statuses.get('events')?.length ?? 0,
      events: [{ message: 'x'.repeat(27) }],
    };
    record('events', await request('POST', `/runs/${victim}/events`, json(events), JSON_TYPE));
  };
  const idempotent = async () => {
    const headers = { ...MSGPACK_TYPE, 'idempotency-key': 'k1' };
    record('idempotent 60 MB', await request('POST', `/runs/${victim}/metrics`, bigBody, headers));
  };
  const downsample = async () => {
    const same = json({ runs: Array.from({ length: 1000 }, () => victim), name: 'residual' });
    record('downsample same run ×1000', await request('POST', '/metrics/downsample', same, JSON_TYPE));
    for (let i = 0; i < 3; i++) record('downsample 100 runs', await legalDownsample(request, targets));
    record(
      'downsample 1M points',
      await request('GET', `/runs/${victim}/metrics/downsample?name=residual&buckets=4000`),
    );
  };
  const locked = async () => {
    // Another process holds the database's write lock for 3 s, as a backup or a sqlite3 shell would.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        // The server's own writes and checkpoints hold the lock now and then: try for it until it is free.
        `const db = require('better-sqlite3')(${json(db)}, { timeout: 30000 }); db.exec('BEGIN EXCLUSIVE');
         process.stdout.write('locked\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
         db.exec('ROLLBACK');`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const held = await new Promise((resolve) => {
      holder.stdout.once('data', () => resolve(true));
      holder.once('exit', () => resolve(false));
    });
    if (!held) {
      record('lock holder failed', { status: 0 });
      return;
    }
    const write = request('POST', '/runs', json({ name: 'while-locked' }), JSON_TYPE);
    record('read while locked', await request('GET', '/runs?limit=5'));
    const w = record('write while locked', await write);
    if (w.status === 503 && w.headers['retry-after'] === undefined) record('503 without Retry-After', w);
    await new Promise((resolve) => holder.once('exit', resolve));
  };
  const hostileInput = async () => {
    record('deep metadata', await request('POST', '/runs', `{"metadata":${deep}}`, JSON_TYPE));
    record('deep patch', await request('PATCH', `/runs/${victim}`, `{"metadata":${deep}}`, JSON_TYPE));
    record(
      'deep folder',
      await request('POST', '/folders', `{"path":"/deep","metadata":${deep}}`, JSON_TYPE),
    );
    const cursor = Buffer.from(json([{ a: 1 }, 1, '-created'])).toString('base64url');
    for (const sort of ['-created', 'name', 'status']) {
      record('crafted cursor', await request('GET', `/runs?sort=${sort}&next=${cursor}`));
    }
    record('lone surrogate', await request('POST', '/runs', '{"name":"cavity-\\ud800"}', JSON_TYPE));
    const absurd = encodeURIComponent('created < 99999999999999999999999h');
    record('absurd duration', await request('GET', `/runs?filter=${absurd}`));
  };
  let fillers = 0;
  const diskFull = async () => {
    if (!fullDisk) return;
    // Artifacts of 8 MiB, then 1 MiB, then 64 KiB until the disk is full; they stay, so the writes after them
    // meet a full disk.
    const type = { 'content-type': 'application/octet-stream' };
    for (const size of [8 << 20, 1 << 20, 64 << 10]) {
      for (let i = 0; i < 100; i++, fillers++) {
        const path = `/runs/${victim}/artifacts?name=fill-${fillers}.bin&category=output`;
        const a = record(
          'artifacts until the disk is full',
          await request('PUT', path, Buffer.alloc(size, fillers), type),
        );
        if (a.status !== 201) break;
      }
    }
    // Then the rest of the disk, as another program on the machine would.
    const file = await open(join(dirname(db), 'filler'), 'w');
    try {
      for (;;) await file.write(Buffer.alloc(256 << 10, 1));
    } catch (error) {
      if (error.code !== 'ENOSPC') throw error;
    } finally {
      await file.close();
    }
    const batch = packr.pack({
      writer: 'full',
      seq: 0,
      series: [{ name: 'residual', values: float64(200_000) }],
    });
    record('metrics on a full disk', await request('POST', `/runs/${victim}/metrics`, batch, MSGPACK_TYPE));
    const events = { writer: 'full', seq: 0, events: [{ message: 'y'.repeat(4000) }] };
    record('events on a full disk', await request('POST', `/runs/${victim}/events`, json(events), JSON_TYPE));
    record('run on a full disk', await request('POST', '/runs', json({ name: 'on-a-full-disk' }), JSON_TYPE));
  };

  await Promise.all([regex(), idempotent(), downsample(), locked(), hostileInput(), diskFull()]);
  await Promise.all([regex(), downsample(), hostileInput()]);
  if (fullDisk) await rm(join(dirname(db), 'filler'));
  for (let i = 0; i <= fillers; i++) await request('DELETE', `/runs/${victim}/artifacts?name=fill-${i}.bin`);
  return statuses;
}

/** The server's heap after a forced GC (the server runs with --expose-gc). */
export async function heapAfterGc(request) {
  const a = await request('GET', '/admin/process?gc=true');
  if (a.status !== 200) throw new Error(`/admin/process: ${a.status} ${a.body}`);
  const view = JSON.parse(a.body);
  if (!view.gc) throw new Error('the server does not run with --expose-gc');
  return view.memory.heapUsed;
}

/** The path of the SQLite database a server with this data dir uses. */
export const sqlitePath = (dataDir) => join(dataDir, 'simscope.db');

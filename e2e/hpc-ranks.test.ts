import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Run } from '@simscope/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, openTestApp } from '../test/fixtures.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const POINTS = 100_000;
const SIZE = 4;
const SLOW_RANK = 2;

/** The value rank `rank` logs at `step`; the test computes the same numbers to check the server's aggregates. */
const valueAt = (rank: number, step: number) =>
  Math.sin(step * 0.001 * (rank + 1)) + ((step * 7 + rank * 13) % 5);

// One MPI rank: attaches to its job's run, logs POINTS steps of `residual`, sleeping between chunks of 1000.
const RANK_SCRIPT = `
import { Run } from ${JSON.stringify(join(ROOT, 'packages/client/dist/index.js'))};
const [points, pauseMs] = process.argv.slice(2).map(Number);
const valueAt = ${valueAt.toString()};
const rank = Number(process.env.OMPI_COMM_WORLD_RANK ?? process.env.PMI_RANK);
const run = await new Run().config({ systemInfo: false, suppressErrors: false, queueSize: 1_000_000 }).init({ name: process.env.RUN_NAME });
for (let step = 0; step < points; step++) {
  run.logMetrics({ residual: valueAt(rank, step) });
  if (step % 1000 === 999) await new Promise((r) => setTimeout(r, pauseMs));
}
const closed = await run.close();
console.log(JSON.stringify({ id: run.id, sent: closed.sentPoints }));
`;

function runRank(script: string, env: Record<string, string>, args: string[], cwd: string) {
  return new Promise<{ id: string; sent: number }>((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd,
      env: { ...env, PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    // 'close', not 'exit': only then has all of the child's output been read.
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`rank exited ${code}: ${err}`));
      try {
        resolve(JSON.parse(out.trim()));
      } catch {
        reject(new Error(`rank printed no result: ${JSON.stringify(out)} ${err}`));
      }
    });
  });
}

describe('MPI ranks logging to one run', () => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let dir: string;
  let script: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-b', 'packages/client/tsconfig.json'], {
      cwd: ROOT,
    });
    t = await openTestApp('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address() as { port: number };
    dir = mkdtempSync(join(tmpdir(), 'simscope-ranks-'));
    script = join(dir, 'rank.mjs');
    writeFileSync(script, RANK_SCRIPT);
    env = {
      SIMSCOPE_URL: `http://127.0.0.1:${address.port}`,
      SIMSCOPE_TOKEN: ADMIN_TOKEN,
      SIMSCOPE_CONFIG: join(dir, 'none.toml'),
      HOME: dir,
    };
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('4 processes attach through SIMSCOPE_RUN_ID; per-step min, mean, max and their ranks read back exactly', async () => {
    const run = (await t.call('POST', '/runs', { name: 'mpi-4' })).body.id as string;
    const ranks = await Promise.all(
      Array.from({ length: SIZE }, (_, rank) =>
        runRank(
          script,
          {
            ...env,
            SIMSCOPE_RUN_ID: run,
            OMPI_COMM_WORLD_RANK: String(rank),
            OMPI_COMM_WORLD_SIZE: String(SIZE),
          },
          [String(POINTS), rank === SLOW_RANK ? '40' : '2'],
          dir,
        ),
      ),
    );
    expect(ranks).toEqual(Array.from({ length: SIZE }, () => ({ id: run, sent: POINTS })));
    expect((await t.call('GET', `/runs/${run}/ranks`)).body).toEqual({
      metrics: [{ name: 'residual', ranks: [0, 1, 2, 3] }],
    });
    expect((await t.call('GET', `/runs/${run}`)).body.status).toBe('completed');

    const got = { steps: [], min: [], mean: [], max: [], argmin: [], argmax: [], count: [] } as Record<
      string,
      number[]
    >;
    let from = 0;
    for (let page = 0; page < 10 && from !== null; page++) {
      const body = (await t.call('GET', `/runs/${run}/ranks/series?name=residual&from=${from}&limit=25000`))
        .body;
      expect(body.ranks).toEqual([0, 1, 2, 3]);
      for (const key of Object.keys(got)) got[key]!.push(...body[key]);
      from = body.next;
    }
    expect(from).toBe(null);
    const expected = { steps: [], min: [], mean: [], max: [], argmin: [], argmax: [], count: [] } as Record<
      string,
      number[]
    >;
    for (let step = 0; step < POINTS; step++) {
      const values = Array.from({ length: SIZE }, (_, rank) => valueAt(rank, step));
      let lo = 0;
      let hi = 0;
      let sum = 0;
      for (let r = 0; r < SIZE; r++) {
        if (values[r]! < values[lo]!) lo = r;
        if (values[r]! > values[hi]!) hi = r;
        sum += values[r]!;
      }
      expected.steps!.push(step);
      expected.min!.push(values[lo]!);
      expected.max!.push(values[hi]!);
      expected.mean!.push(sum / SIZE);
      expected.argmin!.push(lo);
      expected.argmax!.push(hi);
      expected.count!.push(SIZE);
    }
    for (const key of Object.keys(expected)) expect(got[key], key).toEqual(expected[key]);

    const stragglers = (await t.call('GET', `/runs/${run}/ranks/stragglers?name=residual&factor=1.5`)).body;
    expect(stragglers.ranks.map((r: { rank: number; steps: number }) => [r.rank, r.steps])).toEqual([
      [0, POINTS - 1],
      [1, POINTS - 1],
      [2, POINTS - 1],
      [3, POINTS - 1],
    ]);
    expect(
      stragglers.ranks
        .filter((r: { straggler: boolean }) => r.straggler)
        .map((r: { rank: number }) => r.rank),
    ).toEqual([SLOW_RANK]);
  }, 120_000);

  it('without SIMSCOPE_RUN_ID rank 0 creates the run and the other ranks find it through a file', async () => {
    const job = `job-${Date.now()}`;
    const ranks = await Promise.all(
      [0, 1, 2].map((rank) =>
        runRank(
          script,
          { ...env, PMI_RANK: String(rank), PMI_SIZE: '3', SLURM_JOB_ID: job, RUN_NAME: job },
          ['10', '0'],
          dir,
        ),
      ),
    );
    const id = ranks[0]!.id;
    expect(ranks.map((r) => r.id)).toEqual([id, id, id]);
    expect((await t.call('GET', `/runs/${id}`)).body.name).toBe(job);
    const names = (await t.call('GET', `/runs/${id}/metrics`)).body.items.map(
      (s: { name: string; count: number }) => [s.name, s.count],
    );
    expect(names).toEqual([
      ['residual@rank=0', 10],
      ['residual@rank=1', 10],
      ['residual@rank=2', 10],
    ]);
  }, 60_000);

  it('Run.resume appends a segment that rewinds; Run.reconnect of a running run only attaches', async () => {
    const config = { url: env.SIMSCOPE_URL, token: ADMIN_TOKEN, systemInfo: false, suppressErrors: false };
    const first = await new Run().config(config).init({ name: `resume-${Date.now()}` });
    for (let step = 0; step <= 800; step++) first.logMetrics({ x: step <= 500 ? 1 : 1000 }, { step });
    await first.flush();
    const id = first.id as string;
    const monitor = await Run.reconnect(id, config);
    await monitor.close();
    expect((await t.call('GET', `/runs/${id}/segments`)).body.segments).toHaveLength(1);
    const second = await Run.resume(id, { ...config, rewindTo: 500, jobId: '77' });
    for (let step = 501; step <= 600; step++) second.logMetrics({ x: 2 }, { step });
    await second.close();
    const segments = (await t.call('GET', `/runs/${id}/segments`)).body.segments;
    expect(
      segments.map((s: { number: number; jobId: string | null; rewindTo: number | null }) => [
        s.number,
        s.jobId,
        s.rewindTo,
      ]),
    ).toEqual([
      [1, null, null],
      [2, '77', 500],
    ]);
    const read = (await t.call('GET', `/runs/${id}/metrics/series?name=x&limit=10000`)).body;
    expect(read.steps).toEqual(Array.from({ length: 601 }, (_, i) => i));
    expect(read.values.slice(499, 503)).toEqual([1, 1, 2, 2]);
    // The first job's process is gone in real life; here it still holds a sender to stop.
    await first.close();
  }, 60_000);
});

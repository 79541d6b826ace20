import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { RunView } from '@simscope/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { ClientError } from '../errors.js';
import { importArrow } from './arrow.js';
import { columnsOf } from './columns.js';
import { ListResult } from './list-result.js';
import { RUNS } from './lists.js';
import { MetricTable } from './metric-table.js';
import { formatProgress, ProgressBar, progressReporter } from './progress.js';

const dir = mkdtempSync(join(tmpdir(), 'simscope-query-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(id: string, overrides: Partial<RunView>): RunView {
  return {
    id,
    name: `run-${id}`,
    folder: '/cfd',
    user: 'ada',
    description: null,
    tags: [],
    metadata: {},
    system: {},
    status: 'completed',
    created: 1_769_817_600_000_001,
    started: 1_769_817_600_000_001,
    ended: null,
    heartbeat: null,
    heartbeatTimeout: null,
    abort: { requested: false, at: null, reason: null },
    ...overrides,
  };
}

const rows = [
  run('a', {
    description: 'say "hi", then\nstop',
    tags: ['x', 'y'],
    metadata: { re: 100, solver: { name: 'ico', dt: 0.005 }, ok: true, mixed: 1, list: [1, 2] },
  }),
  run('b', { status: 'failed', metadata: { re: 1000, solver: { name: 'piso' }, mixed: 'one' }, ended: 5 }),
];
const result = new ListResult(
  { list: 'runs', path: '/runs', query: {}, items: rows, next: null, complete: true, pages: 1, error: null },
  RUNS.columns,
);

describe('columns of list rows', () => {
  it('spreads metadata into typed leaf columns', () => {
    const columns = columnsOf(rows, RUNS.columns);
    const meta = columns.filter((c) => c.name.startsWith('metadata.'));
    expect(meta.map((c) => [c.name, c.kind, Array.from(c.values)])).toEqual([
      ['metadata.re', 'float', [100, 1000]],
      ['metadata.solver.name', 'string', ['ico', 'piso']],
      ['metadata.solver.dt', 'float', [0.005, null]],
      ['metadata.ok', 'bool', [true, null]],
      ['metadata.mixed', 'json', ['1', '"one"']],
      ['metadata.list', 'json', ['[1,2]', null]],
    ]);
    expect(columns.some((c) => c.name.startsWith('system'))).toBe(false);
  });

  it('keeps both of two leaves whose dotted names collide', () => {
    const columns = columnsOf([run('c', { metadata: { 'a.b': 1, a: { b: 2 } } })], RUNS.columns);
    expect(columns.filter((c) => c.name.startsWith('metadata.')).map((c) => [c.name, c.values[0]])).toEqual([
      ['metadata.a.b', 1],
      ['metadata.a.b~2', 2],
    ]);
  });
});

describe('writers', () => {
  it('writes CSV with quoting, ISO times, lists as JSON and empty nulls', async () => {
    const csv = result.toCsv();
    expect(csv.split('\n')[0]).toBe(
      'id,name,folder,user,description,status,tags,created,started,ended,heartbeat,heartbeatTimeout,abortRequested,metadata.re,metadata.solver.name,metadata.solver.dt,metadata.ok,metadata.mixed,metadata.list',
    );
    expect(csv).toBe(
      [
        'id,name,folder,user,description,status,tags,created,started,ended,heartbeat,heartbeatTimeout,abortRequested,metadata.re,metadata.solver.name,metadata.solver.dt,metadata.ok,metadata.mixed,metadata.list',
        'a,run-a,/cfd,ada,"say ""hi"", then\nstop",completed,"[""x"",""y""]",2026-01-31T00:00:00.000001Z,2026-01-31T00:00:00.000001Z,,,,false,100,ico,0.005,true,1,"[1,2]"',
        'b,run-b,/cfd,ada,,failed,[],2026-01-31T00:00:00.000001Z,2026-01-31T00:00:00.000001Z,1970-01-01T00:00:00.000005Z,,,false,1000,piso,,,"""one""",',
        '',
      ].join('\n'),
    );
    await result.writeCsv(join(dir, 'runs.csv'));
    expect(readFileSync(join(dir, 'runs.csv'), 'utf8')).toBe(csv);
  });

  it('writes JSON lines exactly as the API returns rows', async () => {
    const text = result.toJsonl();
    expect(
      text
        .split('\n')
        .slice(0, -1)
        .map((l) => JSON.parse(l)),
    ).toEqual(rows);
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    await result.writeJsonl(stream);
    expect(Buffer.concat(chunks).toString()).toBe(text);
    expect(stream.listenerCount('error')).toBe(0);
  });

  it('writes the long metric table with non-finite values', async () => {
    const table = new MetricTable([
      {
        run: 'r1',
        metric: 'loss',
        steps: new BigInt64Array([0n, 1n]),
        times: new Float64Array([0, 0.5]),
        timestamps: new BigInt64Array([1_769_817_600_000_000n, 1_769_817_600_500_000n]),
        values: new Float64Array([Number.NaN, Number.POSITIVE_INFINITY]),
      },
      {
        run: 'r2',
        metric: 'loss',
        steps: new BigInt64Array([7n]),
        times: new Float64Array([1.25]),
        timestamps: new BigInt64Array([1_769_817_601_000_000n]),
        values: new Float64Array([-0.5]),
      },
    ]);
    expect(table.length).toBe(3);
    expect(table.runs).toEqual(['r1', 'r2']);
    expect(table.toCsv()).toBe(
      [
        'run,metric,step,time,timestamp,value',
        'r1,loss,0,0,2026-01-31T00:00:00.000000Z,NaN',
        'r1,loss,1,0.5,2026-01-31T00:00:00.500000Z,Infinity',
        'r2,loss,7,1.25,2026-01-31T00:00:01.000000Z,-0.5',
        '',
      ].join('\n'),
    );
    expect(table.toJsonl().split('\n')[1]).toBe(
      '{"run":"r1","metric":"loss","step":1,"time":0.5,"timestamp":1769817600500000,"value":"Infinity"}',
    );
    await table.writeCsv(join(dir, 'metrics.csv'));
    expect(readFileSync(join(dir, 'metrics.csv'), 'utf8')).toBe(table.toCsv());
  });

  it('reports a write error of a file target', async () => {
    await expect(result.writeCsv(join(dir, 'missing', 'x.csv'))).rejects.toThrow(/ENOENT/);
  });
});

describe('Arrow', () => {
  it('types list columns and keeps microsecond timestamps exact', async () => {
    const table = await result.toArrow();
    expect(table.numRows).toBe(2);
    const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
    expect(types).toMatchObject({
      id: 'Utf8',
      status: 'Dictionary<Int32, Utf8>',
      tags: 'List<Utf8>',
      created: 'Timestamp<MICROSECOND, UTC>',
      heartbeatTimeout: 'Float64',
      abortRequested: 'Bool',
      'metadata.re': 'Float64',
      'metadata.ok': 'Bool',
      'metadata.mixed': 'Utf8',
    });
    const created = table.getChild('created')!;
    expect(created.data[0]!.values[0]).toBe(1_769_817_600_000_001n);
    expect(table.getChild('ended')!.get(0)).toBeNull();
    expect(table.getChild('metadata.solver.dt')!.get(1)).toBeNull();
    expect(table.getChild('status')!.toArray()).toEqual(['completed', 'failed']);
    expect(table.getChild('tags')!.get(0)!.toArray()).toEqual(['x', 'y']);
  });

  it('says how to install apache-arrow when it is missing', async () => {
    const error = await importArrow(() => import('apache-arrow-is-not-installed' as string)).catch((e) => e);
    expect(error).toBeInstanceOf(ClientError);
    expect(error.code).toBe('missing_dependency');
    expect(error.message).toBe(
      "toArrow() needs the optional package 'apache-arrow': npm install apache-arrow",
    );
  });
});

describe('progress', () => {
  const report = (pages: number, totalPages: number, done = false) => ({
    list: 'runs',
    pages,
    totalPages,
    items: pages * 1000,
    done,
    elapsedMs: 2500,
  });

  it('formats a bar whose total is what is known so far', () => {
    expect(formatProgress(report(3, 4))).toBe(
      'runs |██████████████████      | 3/4 pages, 3,000 items [00:02, 1.2 pages/s]',
    );
    expect(formatProgress(report(1, 3))).toBe(
      'runs |████████                | 1/3 pages, 1,000 items [00:02, 0.4 pages/s]',
    );
  });

  it('draws on a terminal only, in place, and ends the line when done', () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 200 });
    const pipe = new PassThrough();
    const seen: string[] = [];
    tty.on('data', (c: Buffer) => seen.push(c.toString()));
    let piped = 0;
    pipe.on('data', () => piped++);
    const bar = new ProgressBar(tty, 0);
    bar.update(report(1, 2));
    bar.update(report(2, 3));
    bar.update(report(3, 3, true));
    new ProgressBar(pipe, 0).update(report(1, 1, true));
    expect(seen).toHaveLength(3);
    expect(seen[0]).toBe(`\r${formatProgress(report(1, 2))}\x1b[K`);
    expect(seen[2]).toBe(`\r${formatProgress(report(3, 3, true))}\x1b[K\n`);
    expect(piped).toBe(0);
  });

  it('feeds both the callback and the bar', () => {
    const got: number[] = [];
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    let drawn = 0;
    tty.on('data', () => drawn++);
    const reporter = progressReporter({ progress: tty, onProgress: (p) => got.push(p.pages) })!;
    reporter(report(1, 2));
    reporter(report(2, 2, true));
    expect(got).toEqual([1, 2]);
    expect(drawn).toBe(2);
    expect(progressReporter({ progress: false })).toBeUndefined();
    expect(progressReporter({})).toBeTypeOf('function');
  });
});

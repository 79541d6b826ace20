import { appendFileSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricSample } from './metric-parser.js';
import { MetricsFileTail } from './metrics-file-tail.js';

const dir = mkdtempSync(join(tmpdir(), 'simscope-tail-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tail(name: string): { path: string; tail: MetricsFileTail; samples: MetricSample[] } {
  const path = join(dir, name);
  const samples: MetricSample[] = [];
  return { path, tail: new MetricsFileTail(path, (s) => samples.push(s)), samples };
}

describe('MetricsFileTail', () => {
  it('follows a CSV file as it grows, a row split between writes included', async () => {
    const t = tail('history.csv');
    await t.tail.poll();
    expect(t.samples).toEqual([]);
    writeFileSync(t.path, 'step,energy,"residual/p"\n0,-1.5,1e-2\n1,-1.');
    await t.tail.poll();
    expect(t.samples).toEqual([{ step: 0, values: { energy: -1.5, 'residual/p': 0.01 } }]);
    appendFileSync(t.path, '75,5e-3\n2,,nan\n');
    await t.tail.poll();
    expect(t.samples.slice(1)).toEqual([
      { step: 1, values: { energy: -1.75, 'residual/p': 0.005 } },
      { step: 2, values: { 'residual/p': Number.NaN } },
    ]);
    appendFileSync(t.path, '3,-2,oops');
    await t.tail.poll();
    expect(t.samples).toHaveLength(3);
    await t.tail.poll(true);
    expect(t.samples[3]).toEqual({ step: 3, values: { energy: -2 }, invalid: ['residual/p=oops'] });
    expect(t.tail.rows).toBe(4);
  });

  it('reads a whitespace-separated table with a # header', async () => {
    const t = tail('table.dat');
    writeFileSync(t.path, '# step   time    cfl\n    10   0.5     0.41\n# comment\n    11   0.6     0.44\n');
    await t.tail.poll();
    expect(t.samples).toEqual([
      { step: 10, values: { time: 0.5, cfl: 0.41 } },
      { step: 11, values: { time: 0.6, cfl: 0.44 } },
    ]);
  });

  it('reads JSON lines, nested objects flattened with /', async () => {
    const t = tail('metrics.jsonl');
    writeFileSync(
      t.path,
      '{"step": 5, "loss": {"train": 0.5, "val": "0.7"}, "lr": 1e-3, "note": "x"}\n{"acc": 0.9}\nnot json\n',
    );
    await t.tail.poll();
    expect(t.samples).toEqual([
      { step: 5, values: { 'loss/train': 0.5, 'loss/val': 0.7, lr: 0.001 } },
      { values: { acc: 0.9 } },
      { values: {}, invalid: ['not json'] },
    ]);
  });

  it('tells JSON lines from CSV by content when the extension does not say', async () => {
    const t = tail('metrics.log');
    writeFileSync(t.path, '{"x": 1}\n');
    await t.tail.poll();
    expect(t.samples).toEqual([{ values: { x: 1 } }]);
  });

  it('starts again from the top when the file is truncated or replaced', async () => {
    const t = tail('restart.csv');
    writeFileSync(t.path, 'a,b\n1,2\n3,4\n');
    await t.tail.poll();
    writeFileSync(t.path, 'c\n9\n');
    await t.tail.poll();
    unlinkSync(t.path);
    writeFileSync(t.path, 'd,e,f\n7,8,9\n');
    await t.tail.poll();
    expect(t.samples).toEqual([
      { values: { a: 1, b: 2 } },
      { values: { a: 3, b: 4 } },
      { values: { c: 9 } },
      { values: { d: 7, e: 8, f: 9 } },
    ]);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expandPoints, groupsFromFlags, readSweepFile, substituteCommand } from './parameter-space.js';

const dir = mkdtempSync(join(tmpdir(), 'simscope-sweep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const values = (groups: Parameters<typeof expandPoints>[0]) => expandPoints(groups).map((p) => p.values);

describe('parameter space', () => {
  it('flags: a grid, the last parameter fastest; with --zip, side by side', () => {
    expect(values(groupsFromFlags(['re=100,400,1000', 'mesh=64,128'], false))).toEqual([
      { re: 100, mesh: 64 },
      { re: 100, mesh: 128 },
      { re: 400, mesh: 64 },
      { re: 400, mesh: 128 },
      { re: 1000, mesh: 64 },
      { re: 1000, mesh: 128 },
    ]);
    expect(values(groupsFromFlags(['dt=0.1,0.05', 'scheme=upwind,quick'], true))).toEqual([
      { dt: 0.1, scheme: 'upwind' },
      { dt: 0.05, scheme: 'quick' },
    ]);
    expect(() => groupsFromFlags(['a=1,2', 'b=1'], true)).toThrow(
      '-p: parameters zipped together need as many values each (a has 2, b has 1)',
    );
    expect(() => groupsFromFlags(['point=1'], false)).toThrow("'point' is reserved");
  });

  it('TOML and YAML files: product, zip and a fixed value, the same points', async () => {
    writeFileSync(
      join(dir, 's.toml'),
      're = [100, 400]\nsolver = "piso"\n[zip]\ndt = [0.1, 0.05]\nlabel = ["coarse", "fine"]\n',
    );
    writeFileSync(
      join(dir, 's.yaml'),
      're: [100, 400]\nsolver: piso\nzip:\n  dt: [0.1, 0.05]\n  label: [coarse, fine]\n',
    );
    const expected = [
      { re: 100, solver: 'piso', dt: 0.1, label: 'coarse' },
      { re: 100, solver: 'piso', dt: 0.05, label: 'fine' },
      { re: 400, solver: 'piso', dt: 0.1, label: 'coarse' },
      { re: 400, solver: 'piso', dt: 0.05, label: 'fine' },
    ];
    expect(values(await readSweepFile(join(dir, 's.toml')))).toEqual(expected);
    expect(values(await readSweepFile(join(dir, 's.yaml')))).toEqual(expected);
  });

  it('a list of points, and [product] beside it', async () => {
    writeFileSync(
      join(dir, 'p.toml'),
      '[[points]]\nre = 100\nmesh = 64\n[[points]]\nre = 2000\nmesh = 256\n[product]\nseed = [1, 2]\n',
    );
    expect(values(await readSweepFile(join(dir, 'p.toml')))).toEqual([
      { re: 100, mesh: 64, seed: 1 },
      { re: 100, mesh: 64, seed: 2 },
      { re: 2000, mesh: 256, seed: 1 },
      { re: 2000, mesh: 256, seed: 2 },
    ]);
    writeFileSync(join(dir, 'bad.toml'), 're = [[1, 2]]\n');
    await expect(readSweepFile(join(dir, 'bad.toml'))).rejects.toThrow(
      `--file ${join(dir, 'bad.toml')}: re[0]: expected a number, text or true/false, got [1,2]`,
    );
  });

  it('substitutes {name} and {point} in every word, and refuses an unknown name', () => {
    const point = { index: 1, values: { re: 400, mesh: 64 } };
    expect(substituteCommand(['./cavity', '--re={re}', 'mesh{mesh}/run-{point}', '{}'], point)).toEqual([
      './cavity',
      '--re=400',
      'mesh64/run-1',
      '{}',
    ]);
    expect(() => substituteCommand(['{Re}'], point)).toThrow(
      'command: {Re} is not a parameter (re, mesh, point)',
    );
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pythonWithH5py, run } from '../../test/tools.js';
import { Recorder } from '../recorder.js';
import { HDF5DataStore } from './hdf5-datastore.js';

// Our files against Debian's HDF5 1.10 tools (h5dump) and h5py, and h5py's files against us.

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'recorder-interop-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function writeSample(path: string): Promise<void> {
  const recorder = new Recorder(await HDF5DataStore.open(path));
  for (let i = 0; i < 3; i++) {
    await recorder.record('sim/frames', {
      data: Float64Array.from({ length: 6 }, (_, j) => i * 10 + j),
      shape: [2, 3],
    });
    await recorder.record('sim/loss', 1 / 2 ** (i + 1));
  }
  await recorder.record('sim/notes', 'start');
  await recorder.record('sim/notes', 'héllo');
  await recorder.record('events', { step: 1, ok: true });
  await recorder.set('config/name', 'run-1');
  await recorder.set('config/grid', { data: Int32Array.of(1, 2, 3, 4), shape: [2, 2] });
  await recorder.close();
}

describe('a file written by HDF5DataStore', () => {
  it('is read by h5dump with the expected groups, datasets, types and shapes', async () => {
    const path = join(dir, 'ours.h5');
    await writeSample(path);
    const header = run('h5dump', ['-H', path]);
    const lines = header.split('\n').map((l) => l.trim());
    const structure = lines.filter((l) => /^(GROUP|DATASET) /.test(l));
    expect(structure).toEqual([
      'GROUP "/" {',
      'GROUP "config" {',
      'DATASET "grid" {',
      'DATASET "name" {',
      'DATASET "events" {',
      'GROUP "sim" {',
      'DATASET "frames" {',
      'DATASET "loss" {',
      'DATASET "notes" {',
    ]);
    const frames = run('h5dump', ['-H', '-d', '/sim/frames', path]);
    expect(frames).toContain('DATATYPE  H5T_IEEE_F64LE');
    expect(frames).toContain('DATASPACE  SIMPLE { ( 3, 2, 3 ) / ( H5S_UNLIMITED, 2, 3 ) }');
    expect(run('h5dump', ['-H', '-d', '/sim/loss', path])).toContain(
      'DATASPACE  SIMPLE { ( 3 ) / ( H5S_UNLIMITED ) }',
    );
    const grid = run('h5dump', ['-d', '/config/grid', path]);
    expect(grid).toContain('DATATYPE  H5T_STD_I32LE');
    expect(grid).toContain('DATASPACE  SIMPLE { ( 2, 2 ) / ( 2, 2 ) }');
    expect(grid).toMatch(
      /ATTRIBUTE "simscope_single" \{\s+DATATYPE\s+H5T_STD_I8LE\s+DATASPACE\s+SCALAR\s+DATA \{\s+\(0\): 1/,
    );
    const loss = run('h5dump', ['-d', '/sim/loss', path]);
    expect(loss).toContain('(0): 0.5, 0.25, 0.125');
    expect(loss).toMatch(/ATTRIBUTE "simscope_kind" \{[\s\S]*?\(0\): "number"/);
    const notes = run('h5dump', ['-H', '-d', '/sim/notes', path]);
    expect(notes).toContain('STRSIZE H5T_VARIABLE;');
    expect(notes).toContain('CSET H5T_CSET_UTF8;');
  });

  it('is read by h5py with the same values', async () => {
    const path = join(dir, 'ours.h5');
    await writeSample(path);
    const script = `
import h5py, json, sys
with h5py.File(sys.argv[1], 'r') as f:
    out = {}
    for name in ['sim/frames', 'sim/loss', 'sim/notes', 'events', 'config/name', 'config/grid']:
        d = f[name]
        v = d[()]
        if d.dtype.kind == 'O':
            v = [x.decode() for x in v] if d.ndim else v.decode()
        else:
            v = v.tolist()
        out[name] = {'shape': list(d.shape), 'dtype': str(d.dtype), 'value': v,
                     'attrs': {k: (a.decode() if isinstance(a, bytes) else str(a)) for k, a in d.attrs.items()}}
    print(json.dumps(out))
`;
    const read = JSON.parse(run(pythonWithH5py(), ['-c', script, path]));
    expect(read['sim/frames']).toEqual({
      shape: [3, 2, 3],
      dtype: 'float64',
      value: [
        [
          [0, 1, 2],
          [3, 4, 5],
        ],
        [
          [10, 11, 12],
          [13, 14, 15],
        ],
        [
          [20, 21, 22],
          [23, 24, 25],
        ],
      ],
      attrs: { simscope_kind: 'ndarray' },
    });
    expect(read['sim/loss']).toEqual({
      shape: [3],
      dtype: 'float64',
      value: [0.5, 0.25, 0.125],
      attrs: { simscope_kind: 'number' },
    });
    expect(read['sim/notes']).toEqual({
      shape: [2],
      dtype: 'object',
      value: ['start', 'héllo'],
      attrs: { simscope_kind: 'string' },
    });
    expect(read.events).toEqual({
      shape: [1],
      dtype: 'object',
      value: ['{"step":1,"ok":true}'],
      attrs: { simscope_kind: 'json' },
    });
    expect(read['config/name']).toEqual({
      shape: [],
      dtype: 'object',
      value: 'run-1',
      attrs: { simscope_kind: 'string', simscope_single: '1' },
    });
    expect(read['config/grid']).toEqual({
      shape: [2, 2],
      dtype: 'int32',
      value: [
        [1, 2],
        [3, 4],
      ],
      attrs: { simscope_kind: 'ndarray', simscope_single: '1' },
    });
  });
});

describe('a file of the same layout written by h5py', () => {
  const writer = `
import h5py, numpy as np, sys
text = h5py.string_dtype('utf-8')
with h5py.File(sys.argv[1], 'w') as f:
    f.create_dataset('sim/frames', data=np.arange(24, dtype='<f4').reshape(4, 2, 3), maxshape=(None, 2, 3), chunks=(2, 2, 3))
    f.create_dataset('sim/loss', data=np.array([0.5, 0.25]), maxshape=(None,), chunks=(16,))
    f.create_dataset('sim/steps', data=np.array([1, 2, 3], dtype='<i8'), maxshape=(None,), chunks=(16,))
    f.create_dataset('sim/flags', data=np.array([True, False]), maxshape=(None,), chunks=(4,))
    f.create_dataset('sim/notes', data=np.array(['a', 'héllo'], dtype=object), dtype=text, maxshape=(None,), chunks=(8,))
    f.create_dataset('sim/big_endian', data=np.array([1.5, 2.5], dtype='>f8'), maxshape=(None,), chunks=(4,))
    events = f.create_dataset('events', data=np.array(['{"x": 1}'], dtype=object), dtype=text, maxshape=(None,), chunks=(8,))
    events.attrs['simscope_kind'] = 'json'
    name = f.create_dataset('config/name', data='run-7', dtype=text)
    name.attrs['simscope_single'] = 1
    grid = f.create_dataset('config/grid', data=np.arange(4, dtype='<i4').reshape(2, 2))
    grid.attrs['simscope_single'] = 1
    f.create_dataset('legacy/fixed', data=np.array([1.0, 2.0]))
`;

  it('is read by HDF5DataStore with dtypes, shapes and values', async () => {
    const path = join(dir, 'theirs.h5');
    run(pythonWithH5py(), ['-c', writer, path]);
    const store = await HDF5DataStore.open(path);
    expect(store.readOnly).toBe(true);
    expect(await store.keys()).toEqual([
      'config/grid',
      'config/name',
      'events',
      'legacy/fixed',
      'sim/big_endian',
      'sim/flags',
      'sim/frames',
      'sim/loss',
      'sim/notes',
      'sim/steps',
    ]);
    expect(await store.getAll('sim/frames')).toEqual(
      [0, 1, 2, 3].map((i) => ({
        data: Float32Array.from({ length: 6 }, (_, j) => i * 6 + j),
        shape: [2, 3],
      })),
    );
    expect(await store.getAll('sim/loss')).toEqual([0.5, 0.25]);
    expect(await store.getAll('sim/steps')).toEqual([1n, 2n, 3n]);
    expect(await store.getAll('sim/flags')).toEqual([true, false]);
    expect(await store.getAll('sim/notes')).toEqual(['a', 'héllo']);
    expect(await store.getAll('sim/big_endian')).toEqual([1.5, 2.5]);
    expect(await store.getAll('events')).toEqual([{ x: 1 }]);
    expect(await store.getAll('legacy/fixed')).toEqual([1, 2]);
    expect(await store.get('config/name')).toBe('run-7');
    expect(await store.get('config/grid')).toEqual({ data: Int32Array.of(0, 1, 2, 3), shape: [2, 2] });
    expect(store.view('sim/frames').read(1, 3).data).toEqual(
      Float32Array.from({ length: 12 }, (_, j) => 6 + j),
    );
    await store.close();
  });

  it('takes appended records in append mode, and says which datasets cannot grow', async () => {
    const path = join(dir, 'theirs.h5');
    const python = pythonWithH5py();
    run(python, ['-c', writer, path]);
    const store = await HDF5DataStore.open(path, { mode: 'append' });
    await store.record('sim/frames', { data: Float32Array.of(-1, -2, -3, -4, -5, -6), shape: [2, 3] });
    await store.record('sim/flags', true);
    await store.record('sim/notes', 'third');
    await expect(
      store.record('sim/frames', { data: new Float64Array(6), shape: [2, 3] }),
    ).rejects.toMatchObject({
      code: 'dtype_mismatch',
    });
    await expect(store.record('legacy/fixed', 3)).rejects.toMatchObject({
      code: 'unsupported',
      message: 'dataset /legacy/fixed cannot grow (it needs chunks and an unlimited first axis)',
    });
    await store.close();
    const check = `
import h5py, json, sys
with h5py.File(sys.argv[1], 'r') as f:
    print(json.dumps({'frames': f['sim/frames'].shape, 'last': f['sim/frames'][-1].tolist(),
                      'flags': f['sim/flags'][()].tolist(), 'notes': [x.decode() for x in f['sim/notes'][()]],
                      'fixed': f['legacy/fixed'][()].tolist()}))
`;
    expect(JSON.parse(run(python, ['-c', check, path]))).toEqual({
      frames: [5, 2, 3],
      last: [
        [-1, -2, -3],
        [-4, -5, -6],
      ],
      flags: [true, false, true],
      notes: ['a', 'héllo', 'third'],
      fixed: [1, 2],
    });
  });
});

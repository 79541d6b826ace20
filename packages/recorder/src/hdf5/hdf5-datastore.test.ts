import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildDist, run } from '../../test/tools.js';
import { HDF5DataStore } from './hdf5-datastore.js';

let dir: string;
const opened: HDF5DataStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'recorder-hdf5-'));
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

async function open(path: string, options: Parameters<typeof HDF5DataStore.open>[1] = {}) {
  const store = await HDF5DataStore.open(path, options);
  opened.push(store);
  return store;
}

/** Rows of a dataset as h5dump (another process, another HDF5 library) sees them on disk. */
function rowsOnDisk(path: string, dataset: string): number {
  const header = run('h5dump', ['-H', '-d', dataset, path]);
  const match = /DATASPACE\s+SIMPLE \{ \( (\d+)/.exec(header);
  if (!match) throw new Error(`no dataspace in:\n${header}`);
  return Number(match[1]);
}

describe('opening files', () => {
  it('creates a missing file, then opens it read-only unless append is asked for', async () => {
    const path = join(dir, 'nested', 'run.h5');
    const writer = await open(path);
    expect(writer.readOnly).toBe(false);
    await writer.record('x', 1);
    await writer.close();

    const reader = await open(path);
    expect(reader.readOnly).toBe(true);
    expect(await reader.getAll('x')).toEqual([1]);
    await expect(reader.record('x', 2)).rejects.toMatchObject({
      code: 'read_only',
      message: `datastore "hdf5" opened ${path} read-only; open it with { mode: 'append' } to write`,
    });
    await expect(reader.set('y', 2)).rejects.toMatchObject({ code: 'read_only' });
    await reader.close();

    const appender = await open(path, { mode: 'append' });
    await appender.record('x', 2);
    expect(await appender.getAll('x')).toEqual([1, 2]);
  });

  it('fails fast on a missing file opened read-only, and creates nothing', async () => {
    const path = join(dir, 'absent.h5');
    const started = performance.now();
    await expect(HDF5DataStore.open(path, { mode: 'read' })).rejects.toMatchObject({
      name: 'DatastoreUnavailableError',
      code: 'file_not_found',
      message: `HDF5 file ${path} does not exist (opened read-only)`,
    });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(existsSync(path)).toBe(false);
  });

  it('refuses files that are not HDF5 and leaves them untouched', async () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'not hdf5 at all, just some text that is long enough to probe\n'.repeat(40));
    const before = readFileSync(path);
    await expect(HDF5DataStore.open(path)).rejects.toMatchObject({ code: 'file_invalid' });
    await expect(HDF5DataStore.open(path, { mode: 'append' })).rejects.toMatchObject({
      code: 'file_invalid',
    });
    expect(readFileSync(path).equals(before)).toBe(true);
    mkdirSync(join(dir, 'folder.h5'));
    await expect(HDF5DataStore.open(join(dir, 'folder.h5'))).rejects.toMatchObject({ code: 'file_invalid' });
  });

  it('truncates with overwrite', async () => {
    const path = join(dir, 'run.h5');
    const first = await open(path);
    await first.record('old', 1);
    await first.close();
    const second = await open(path, { mode: 'overwrite' });
    expect(await second.keys()).toEqual([]);
  });

  it('rejects bad options', async () => {
    const path = join(dir, 'run.h5');
    await expect(HDF5DataStore.open(path, { chunkRecords: 0 })).rejects.toMatchObject({
      code: 'invalid_option',
    });
    await expect(HDF5DataStore.open(path, { compression: 12 })).rejects.toMatchObject({
      code: 'invalid_option',
    });
    await expect(HDF5DataStore.open(path, { mode: 'sometimes' as unknown as 'read' })).rejects.toMatchObject({
      code: 'invalid_option',
    });
    expect(existsSync(path)).toBe(false);
  });
});

describe('buffering', () => {
  it('writes whole chunks, and flushes the rest on get, flush and close', async () => {
    const path = join(dir, 'run.h5');
    const store = await open(path, { chunkRecords: 4 });
    for (let i = 0; i < 6; i++) await store.record('loss', i / 8);
    expect(rowsOnDisk(path, '/loss')).toBe(4);
    expect(await store.info('loss')).toMatchObject({ length: 6 });
    expect(await store.getAll('loss')).toEqual([0, 0.125, 0.25, 0.375, 0.5, 0.625]);
    expect(rowsOnDisk(path, '/loss')).toBe(6);

    await store.record('loss', 0.75);
    expect(rowsOnDisk(path, '/loss')).toBe(6);
    await store.flush();
    expect(rowsOnDisk(path, '/loss')).toBe(7);

    await store.record('loss', 0.875);
    await store.close();
    expect(rowsOnDisk(path, '/loss')).toBe(8);
  });

  it('writes everything once the buffer budget is spent', async () => {
    const path = join(dir, 'run.h5');
    const store = await open(path, { chunkRecords: 1000, bufferBytes: 100 });
    for (let i = 0; i < 12; i++) await store.record('a', i);
    for (let i = 0; i < 2; i++) await store.record('b', i);
    // 13 records of 8 bytes pass 100 bytes: both keys are written, the 14th waits.
    expect(rowsOnDisk(path, '/a')).toBe(12);
    expect(rowsOnDisk(path, '/b')).toBe(1);
  });

  it('loses at most the unflushed buffer when the process is killed', async () => {
    const dist = buildDist();
    const path = join(dir, 'killed.h5');
    const script = join(dir, 'writer.mjs');
    writeFileSync(
      script,
      `import { HDF5DataStore } from '${dist}hdf5/index.js';
const store = await HDF5DataStore.open(${JSON.stringify(path)}, { chunkRecords: 4 });
for (let i = 0; i < 10; i++) store.recordSync('frames', { data: Float64Array.of(i, i + 0.5), shape: [2] });
store.setSync('meta/name', 'killed-run');
process.stdout.write('ready\\n');
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`writer exited early (${code}):\n${stderr}`)));
    });
    child.removeAllListeners('exit');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    const store = await open(path, { mode: 'read' });
    const frames = await store.getAll('frames');
    expect(frames).toHaveLength(8);
    expect(frames[7]).toEqual({ data: Float64Array.of(7, 7.5), shape: [2] });
    expect(await store.get('meta/name')).toBe('killed-run');
    expect(run('h5dump', ['-H', path])).toContain('DATASPACE  SIMPLE { ( 8, 2 ) / ( H5S_UNLIMITED, 2 ) }');
  });

  it('writes pending records when the process exits without close', async () => {
    const dist = buildDist();
    const path = join(dir, 'exited.h5');
    const script = join(dir, 'writer.mjs');
    writeFileSync(
      script,
      `import { HDF5DataStore } from '${dist}hdf5/index.js';
const store = await HDF5DataStore.open(${JSON.stringify(path)}, { chunkRecords: 100 });
for (let i = 0; i < 5; i++) store.recordSync('n', i);
`,
    );
    run(process.execPath, [script]);
    const store = await open(path, { mode: 'read' });
    expect(await store.getAll('n')).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('views', () => {
  it('reads slices, regions and blocks without reading the whole list', async () => {
    const path = join(dir, 'run.h5');
    const store = await open(path, { chunkRecords: 3 });
    for (let i = 0; i < 10; i++) {
      const data = Int32Array.from({ length: 6 }, (_, j) => i * 100 + j);
      await store.record('frames', { data, shape: [2, 3] });
    }
    const view = store.view('frames');
    expect(view.length).toBe(10);
    expect(view.shape).toEqual([10, 2, 3]);
    expect(view.dtype).toBe('int32');
    expect(view.read(4, 6)).toEqual({
      data: Int32Array.of(400, 401, 402, 403, 404, 405, 500, 501, 502, 503, 504, 505),
      shape: [2, 2, 3],
    });
    expect(
      view.readRegion([
        [8, 100],
        [1, 2],
        [0, 2],
      ]),
    ).toEqual({
      data: Int32Array.of(803, 804, 903, 904),
      shape: [2, 1, 2],
    });
    expect(view.at(-1)).toEqual({ data: Int32Array.of(900, 901, 902, 903, 904, 905), shape: [2, 3] });
    expect(() => view.at(10)).toThrow(expect.objectContaining({ code: 'out_of_range' }));
    const starts: number[] = [];
    const firsts: number[] = [];
    for (const { start, block } of view.blocks(4)) {
      starts.push(start);
      firsts.push(block.data[0] as number);
      expect(block.shape).toEqual([Math.min(4, 10 - start), 2, 3]);
    }
    expect(starts).toEqual([0, 4, 8]);
    expect(firsts).toEqual([0, 400, 800]);

    await store.record('frames', { data: new Int32Array(6).fill(7), shape: [2, 3] });
    expect(view.length).toBe(11);
    expect(view.read(10).data).toEqual(new Int32Array(6).fill(7));
    expect(() => store.view('missing')).toThrow(expect.objectContaining({ code: 'key_not_found' }));
  });

  it('slices string lists', async () => {
    const store = await open(join(dir, 'run.h5'), { chunkRecords: 2 });
    for (const word of ['zero', 'one', 'two', 'three', 'four']) await store.record('words', word);
    const view = store.view('words');
    expect(view.slice(1, 4)).toEqual(['one', 'two', 'three']);
    expect(view.at(-1)).toBe('four');
    expect(() => view.read(0, 1)).toThrow(expect.objectContaining({ code: 'unsupported' }));
  });

  it('reads a list larger than one read block in pieces', async () => {
    // 80 records of 1 MiB: getAll reads them through the 64 MiB block loop.
    const store = await open(join(dir, 'big.h5'));
    const perRecord = 131_072;
    for (let i = 0; i < 80; i++) await store.record('big', new Float64Array(perRecord).fill(i));
    const values = (await store.getAll('big')) as Float64Array[];
    expect(values).toHaveLength(80);
    expect(values.map((v) => v[0])).toEqual(Array.from({ length: 80 }, (_, i) => i));
    expect(values.map((v) => v[perRecord - 1])).toEqual(Array.from({ length: 80 }, (_, i) => i));
  });
});

describe('chunking and compression', () => {
  it('uses the asked chunk size and gzip level, and reads back exact values', async () => {
    const path = join(dir, 'run.h5');
    const store = await open(path, { chunkRecords: 4, compression: 6 });
    const records = Array.from({ length: 9 }, (_, i) =>
      Float32Array.from({ length: 100 }, (_, j) => i + j / 4),
    );
    for (const r of records) await store.record('sim/state', r);
    await store.close();
    const header = run('h5dump', ['-p', '-H', path]);
    expect(header).toContain('CHUNKED ( 4, 100 )');
    expect(header).toContain('COMPRESSION DEFLATE { LEVEL 6 }');
    const reader = await open(path);
    expect(await reader.getAll('sim/state')).toEqual(records);
  });

  it('sizes automatic chunks near 1 MiB', async () => {
    const path = join(dir, 'run.h5');
    const store = await open(path);
    await store.record('frame', new Float64Array(10 * 125 * 200));
    await store.record('row', new Float64Array(1000));
    await store.record('scalar', 1.5);
    await store.close();
    const header = run('h5dump', ['-p', '-H', path]);
    expect(header).toContain('CHUNKED ( 1, 250000 )');
    expect(header).toContain('CHUNKED ( 131, 1000 )');
    expect(header).toContain('CHUNKED ( 1024 )');
  });
});

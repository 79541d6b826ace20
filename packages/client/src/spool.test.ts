import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listSpools, retireSpool, type SpoolMeta, SpoolWriter, spoolHolder, spoolRecords } from './spool.js';

const meta = (runId: string): SpoolMeta => ({
  version: 1,
  runId,
  url: 'http://127.0.0.1:5280',
  workspace: null,
  offline: true,
  createdAt: 1,
});
const text = (s: string) => new TextEncoder().encode(s);
const read = (dir: string, from = 0) => {
  const tail = { torn: 0 };
  const records = [...spoolRecords(dir, from, tail)].map((r) => [r.kind, Buffer.from(r.body).toString()]);
  return { records, torn: tail.torn };
};

describe('spool', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('reads back what was appended, in order, from any record boundary', () => {
    root = mkdtempSync(join(tmpdir(), 'spool-'));
    const spool = SpoolWriter.open(root, meta('run-a'));
    spool.append('create', text('{"id":"run-a"}'));
    spool.append('metrics', text('batch-1'));
    spool.append('events', text(''));
    const second = [...spoolRecords(spool.dir)][1]!;
    expect(read(spool.dir)).toEqual({
      records: [
        ['create', '{"id":"run-a"}'],
        ['metrics', 'batch-1'],
        ['events', ''],
      ],
      torn: 0,
    });
    expect(read(spool.dir, second.end).records).toEqual([['events', '']]);
    expect(spoolHolder(spool.dir)?.pid).toBe(process.pid);
    spool.close();
    expect(spoolHolder(spool.dir)).toBeUndefined();
    expect(listSpools(root).map((s) => s.meta.runId)).toEqual(['run-a']);
  });

  it('stops at a record cut short or corrupted by a crash, and says how much it left out', () => {
    root = mkdtempSync(join(tmpdir(), 'spool-'));
    const spool = SpoolWriter.open(root, meta('run-b'));
    spool.append('metrics', text('first'));
    spool.append('metrics', text('second'));
    spool.close();
    const file = join(spool.dir, 'records');
    const whole = readFileSync(file);
    truncateSync(file, whole.byteLength - 2);
    expect(read(spool.dir)).toEqual({ records: [['metrics', 'first']], torn: 9 + 6 - 2 });
    const flipped = Buffer.from(whole);
    flipped.writeUInt8(flipped.readUInt8(whole.byteLength - 1) ^ 0xff, whole.byteLength - 1);
    writeFileSync(file, flipped);
    expect(read(spool.dir)).toEqual({ records: [['metrics', 'first']], torn: 9 + 6 });
    writeFileSync(file, whole);
    appendFileSync(file, Buffer.from([1, 2, 3]));
    expect(read(spool.dir).torn).toBe(3);
  });

  it('takes a lock left by a dead process as free, and retires a spool in one rename', () => {
    root = mkdtempSync(join(tmpdir(), 'spool-'));
    const spool = SpoolWriter.open(root, meta('run-c'));
    spool.close();
    writeFileSync(join(spool.dir, 'lock'), JSON.stringify({ pid: 2 ** 22 + 1, host: 'elsewhere' }));
    expect(spoolHolder(spool.dir)).toEqual({ pid: 2 ** 22 + 1, host: 'elsewhere' });
    retireSpool(spool.dir);
    expect(listSpools(root)).toEqual([]);
    expect(() => retireSpool(spool.dir)).not.toThrow();
  });

  it('keeps spools and the retired ones private to their user', () => {
    root = mkdtempSync(join(tmpdir(), 'spool-'));
    const spool = SpoolWriter.open(join(root, 'nested'), meta('run-d'));
    spool.close();
    const mode = (path: string) => statSync(path).mode & 0o777;
    expect([join(root, 'nested'), spool.dir, join(spool.dir, 'records')].map(mode)).toEqual([
      0o700, 0o700, 0o600,
    ]);
    retireSpool(spool.dir);
    expect(mode(join(root, 'nested', '.synced'))).toBe(0o700);
  });
});

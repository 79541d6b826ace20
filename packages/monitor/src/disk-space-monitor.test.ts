import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskSpaceMonitor, diskUsage } from './disk-space-monitor.js';
import { CollectingNotifier } from './notifier.js';

const MARGIN = 512 * 2 ** 20;

describe('DiskSpaceMonitor', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-disk-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the same space as df', async () => {
    const usage = await diskUsage(dir);
    const [size, avail] = execFileSync('df', ['-B1', '--output=size,avail', dir], { encoding: 'utf8' })
      .trim()
      .split('\n')[1]!
      .trim()
      .split(/\s+/)
      .map(Number);
    expect(usage.total).toBe(size);
    expect(Math.abs(usage.free - avail!)).toBeLessThan(64 * 2 ** 20);
    expect(usage.used).toBeGreaterThan(0);
    expect(usage.used + usage.free).toBeLessThanOrEqual(usage.total);
  });

  it('notifies once when the real free space is under the threshold, as scipion-monitors.rst tests it', async () => {
    const free = (await diskUsage(dir)).free;
    const tsvFile = join(dir, 'monitor', 'disk.tsv');
    const seen = new CollectingNotifier();
    const logged: Record<string, number>[] = [];
    const monitor = new DiskSpaceMonitor({
      path: dir,
      minFree: free - MARGIN,
      tsvFile,
      notifiers: [seen],
      run: { logMetrics: (values) => logged.push(values) },
    });
    await monitor.step();
    expect(monitor.tsvFile).toBe(tsvFile);
    const lines = readFileSync(tsvFile, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('time\tpath\ttotal_bytes\tused_bytes\tfree_bytes\tmin_free_bytes');
    const row = lines[1]!.split('\t');
    expect(row[1]).toBe(dir);
    expect(Number(row[5])).toBe(free - MARGIN);
    expect(seen.notifications).toHaveLength(0);

    monitor.minFree = free + MARGIN;
    await monitor.step();
    expect(seen.notifications).toHaveLength(1);
    expect(seen.notifications[0]!.title).toMatch(
      new RegExp(`^WARNING: only \\d+\\.\\d\\d [KMGT]iB left for ${dir}$`),
    );
    expect(seen.notifications[0]!.message).toMatch(/^Free: .+, Total: .+, Used: .+, Threshold: .+$/);
    await monitor.step();
    expect(seen.notifications).toHaveLength(1);

    monitor.minFree = free - MARGIN;
    await monitor.step();
    expect(seen.notifications.map((n) => n.title.split(':')[0])).toEqual(['WARNING', 'OK']);
    expect(readFileSync(tsvFile, 'utf8').trimEnd().split('\n')).toHaveLength(5);
    expect(logged).toHaveLength(4);
    expect(Object.keys(logged[0]!)).toEqual(['disk.free_bytes', 'disk.used_bytes', 'disk.total_bytes']);
    expect(logged[0]!['disk.total_bytes']).toBe(monitor.lastSample!.total);
  });

  it('writes space_usage.tsv in workingDir by default, a header and one line per step', async () => {
    const monitor = new DiskSpaceMonitor({ workingDir: dir, minFreeBytes: '1KB' });
    expect(monitor.path).toBe(dir);
    expect(monitor.getStorageFilePath()).toBe(join(dir, 'space_usage.tsv'));
    await monitor.step();
    await monitor.step();
    const lines = readFileSync(join(dir, 'space_usage.tsv'), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('time\tpath\ttotal_bytes\tused_bytes\tfree_bytes\tmin_free_bytes');
    expect(lines[2]!.split('\t').slice(1, 3)).toEqual([dir, String(monitor.lastSample!.total)]);
    expect(lines[2]!.split('\t')[5]).toBe('1000');

    const elsewhere = join(dir, 'watched');
    const off = new DiskSpaceMonitor({
      path: dir,
      workingDir: elsewhere,
      minFreeBytes: 1,
      storageFile: false,
    });
    expect(off.getStorageFilePath()).toBeUndefined();
    await off.step();
    expect(existsSync(elsewhere)).toBe(false);
    const seen = new CollectingNotifier();
    const unwritable = new DiskSpaceMonitor({
      workingDir: join(dir, 'space_usage.tsv', 'not-a-dir'),
      path: dir,
      minFreeBytes: '1PiB',
      notifiers: [seen],
    });
    await expect(unwritable.step()).rejects.toThrow(/ENOTDIR/);
    expect(seen.notifications.map((n) => n.title.split(':')[0])).toEqual(['WARNING']);
    const named = new DiskSpaceMonitor({ path: dir, minFreeBytes: 1, storageFile: join(dir, 'own.tsv') });
    expect(named.getStorageFilePath()).toBe(join(dir, 'own.tsv'));
  });

  it('takes the sizes and durations the CLI parses, names the unit of bare numbers, keeps the old names', () => {
    const gib = new DiskSpaceMonitor({ workingDir: dir, minFreeBytes: '500GiB', monitorSeconds: '10m' });
    expect(gib.minFreeBytes).toBe(500 * 2 ** 30);
    expect(gib.monitorSeconds).toBe(600);
    expect(gib.samplingSeconds).toBe(60);
    const gb = new DiskSpaceMonitor({ workingDir: dir, minFreeBytes: '500GB', samplingSeconds: '30s' });
    expect(gb.minFreeBytes).toBe(500e9);
    expect(gb.samplingSeconds).toBe(30);
    const bare = new DiskSpaceMonitor({ workingDir: dir, minFreeBytes: 500, monitorSeconds: 100 });
    expect(bare.minFreeBytes).toBe(500);
    expect(bare.monitorSeconds).toBe(100);
    const old = new DiskSpaceMonitor({
      path: dir,
      minFree: '2GiB',
      monitorTime: '1h',
      samplingInterval: 5,
      tsvFile: join(dir, 'old.tsv'),
    });
    expect([old.minFree, old.minFreeBytes, old.monitorTime, old.samplingInterval]).toEqual([
      2 ** 31,
      2 ** 31,
      3600,
      5,
    ]);
    expect(old.tsvFile).toBe(join(dir, 'old.tsv'));
    expect(() => new DiskSpaceMonitor({ workingDir: dir, minFreeBytes: '500 gigs' })).toThrow(
      "minFreeBytes: '500 gigs' is not a size; use bytes or forms like 500GB, 1.5TiB, 200M",
    );
    expect(
      () => new DiskSpaceMonitor({ workingDir: dir, minFreeBytes: 1, monitorSeconds: '10 minutes' }),
    ).toThrow("monitorSeconds: '10 minutes' is not a duration");
    expect(() => new DiskSpaceMonitor({ workingDir: dir, minFreeBytes: 1, minFree: 2 })).toThrow(
      'minFreeBytes: give either minFreeBytes or its old name minFree, not both',
    );
    expect(() => new DiskSpaceMonitor({ minFreeBytes: 1 })).toThrow(
      'path: give the path to watch (or workingDir)',
    );
    expect(() => new DiskSpaceMonitor({ path: dir })).toThrow(
      "minFreeBytes: give the free space to keep, e.g. '500GiB'",
    );
  });
});

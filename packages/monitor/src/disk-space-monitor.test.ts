import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
});

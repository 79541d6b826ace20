import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CollectingNotifier } from './notifier.js';
import { readDisks } from './proc.js';
import { SystemMonitor } from './system-monitor.js';

const GiB = 2 ** 30;

/** A /proc of our own with the given counters, so that every figure is known exactly. */
function writeProc(
  root: string,
  c: { busy: number; idle: number; rx: number; tx: number; read: number; written: number },
) {
  mkdirSync(join(root, 'net'), { recursive: true });
  writeFileSync(
    join(root, 'stat'),
    `cpu  ${c.busy} 0 0 ${c.idle} 0 0 0 0 0 0\ncpu0 ${c.busy} 0 0 ${c.idle} 0 0 0 0 0 0\n`,
  );
  writeFileSync(
    join(root, 'meminfo'),
    'MemTotal:       16777216 kB\nMemFree:         1000000 kB\nMemAvailable:    4194304 kB\nSwapTotal:       2097152 kB\nSwapFree:        1572864 kB\n',
  );
  writeFileSync(
    join(root, 'net', 'dev'),
    [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      `    lo: 999999 1 0 0 0 0 0 0 999999 1 0 0 0 0 0 0`,
      `  eth0: ${c.rx} 1 0 0 0 0 0 0 ${c.tx} 1 0 0 0 0 0 0`,
      '',
    ].join('\n'),
  );
  const sectors = (bytes: number) => bytes / 512;
  writeFileSync(
    join(root, 'diskstats'),
    [
      `   7       0 loop0 5 0 ${sectors(1e9)} 0 5 0 ${sectors(1e9)} 0 0 0 0 0 0 0 0`,
      `   8       0 sda 10 0 ${sectors(c.read)} 0 10 0 ${sectors(c.written)} 0 0 0 0 0 0 0 0`,
      `   8       1 sda1 10 0 ${sectors(c.read)} 0 10 0 ${sectors(c.written)} 0 0 0 0 0 0 0 0`,
      ` 259       0 nvme0n1 1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0`,
      ` 259       1 nvme0n1p1 1 0 2048 0 1 0 2048 0 0 0 0 0 0 0 0 0 0`,
      '',
    ].join('\n'),
  );
}

describe('SystemMonitor', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'simscope-system-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('computes CPU, memory, swap, network and disk rates from /proc counters', async () => {
    const proc = join(dir, 'proc');
    writeProc(proc, { busy: 1000, idle: 9000, rx: 5e6, tx: 1e6, read: 10 * GiB, written: GiB });
    const clock = { ms: 1000 };
    const logged: Record<string, number>[] = [];
    const monitor = new SystemMonitor({
      procRoot: proc,
      nvidiaSmi: false,
      now: () => clock.ms,
      run: { logMetrics: (m) => logged.push(m) },
      tsvFile: join(dir, 'system.tsv'),
    });
    await monitor.initLoop();
    writeProc(proc, {
      busy: 1300,
      idle: 9100,
      rx: 5e6 + 4e6,
      tx: 1e6 + 2e6,
      read: 10 * GiB + 2 * GiB,
      written: GiB + GiB,
    });
    clock.ms += 2000;
    await monitor.step();
    expect(monitor.lastSample).toMatchObject({
      cpuPercent: 75,
      memoryPercent: 75,
      swapPercent: 25,
      netReceiveBytesPerS: 2e6,
      netSendBytesPerS: 1e6,
      diskReadBytesPerS: GiB,
      diskWriteBytesPerS: GiB / 2,
      gpus: [],
    });
    expect(logged).toEqual([
      {
        'system.cpu_percent': 75,
        'system.memory_percent': 75,
        'system.swap_percent': 25,
        'system.net_receive_bytes_per_s': 2e6,
        'system.net_send_bytes_per_s': 1e6,
        'system.disk_read_bytes_per_s': GiB,
        'system.disk_write_bytes_per_s': GiB / 2,
      },
    ]);
  });

  it('counts whole disks only: partitions and loop devices are not added twice', async () => {
    writeProc(dir, { busy: 0, idle: 0, rx: 0, tx: 0, read: 4096, written: 8192 });
    expect(await readDisks(dir)).toEqual({ read: 4096, written: 8192 });
  });

  it('reads GPUs from nvidia-smi and notifies when a threshold is crossed, and when it is back', async () => {
    const proc = join(dir, 'proc');
    writeProc(proc, { busy: 1000, idle: 9000, rx: 0, tx: 0, read: 0, written: 0 });
    const smi = join(dir, 'nvidia-smi');
    const output = join(dir, 'smi-output.csv');
    writeFileSync(smi, `#!/bin/sh\ncat '${output}'\n`);
    chmodSync(smi, 0o755);
    writeFileSync(output, '0, 97, 70000, 81920, 84\n1, [N/A], 100, 81920, 40\n');
    const seen = new CollectingNotifier();
    const logged: Record<string, number>[] = [];
    const monitor = new SystemMonitor({
      procRoot: proc,
      nvidiaSmi: smi,
      notifiers: [seen],
      thresholds: { gpuTemperatureC: 80, gpuPercent: 95, memoryPercent: 90 },
      run: { logMetrics: (m) => logged.push(m) },
    });
    await monitor.step();
    expect(monitor.lastSample!.gpus).toEqual([
      { index: 0, utilizationPercent: 97, memoryUsedMiB: 70000, memoryTotalMiB: 81920, temperatureC: 84 },
      { index: 1, utilizationPercent: null, memoryUsedMiB: 100, memoryTotalMiB: 81920, temperatureC: 40 },
    ]);
    expect(logged[0]).toMatchObject({
      'gpu0.utilization_percent': 97,
      'gpu0.memory_used_mib': 70000,
      'gpu0.temperature_c': 84,
      'gpu1.memory_used_mib': 100,
    });
    expect(logged[0]).not.toHaveProperty('gpu1.utilization_percent');
    expect(seen.notifications.map((n) => `${n.title} | ${n.message}`)).toEqual([
      'WARNING: GPU 0 high | GPU 0 at 97% (threshold 95%)',
      'WARNING: GPU 0 temperature high | GPU 0 temperature at 84 °C (threshold 80 °C)',
    ]);
    await monitor.step();
    expect(seen.notifications).toHaveLength(2);
    writeFileSync(output, '0, 50, 70000, 81920, 79\n');
    await monitor.step();
    expect(seen.notifications.slice(2).map((n) => n.title)).toEqual([
      'OK: GPU 0 back to normal',
      'OK: GPU 0 temperature back to normal',
    ]);
  });

  it('leaves GPUs out, and stops asking, where nvidia-smi is missing', async () => {
    const monitor = new SystemMonitor({ nvidiaSmi: join(dir, 'no-such-nvidia-smi') });
    await monitor.initLoop();
    await new Promise((r) => setTimeout(r, 50));
    const sample = await monitor.sample();
    expect(sample.gpus).toEqual([]);
    // This machine's own /proc: figures in range.
    expect(sample.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(sample.cpuPercent).toBeLessThanOrEqual(100);
    expect(sample.memoryPercent).toBeGreaterThan(0);
    expect(sample.memoryPercent).toBeLessThan(100);
    expect(sample.netReceiveBytesPerS).toBeGreaterThanOrEqual(0);
    expect(sample.diskWriteBytesPerS).toBeGreaterThanOrEqual(0);
  });
});

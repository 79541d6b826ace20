import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CollectingNotifier } from './notifier.js';
import { parseProcStat } from './proc.js';
import { ProcessMonitor } from './process-monitor.js';

describe('parseProcStat', () => {
  it('reads ppid and CPU ticks even when the command name holds spaces and parentheses', () => {
    const text =
      '4242 (my (odd) name) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 200\n';
    expect(parseProcStat(text)).toEqual({ ppid: 17, ticks: 300 });
    expect(parseProcStat('garbage')).toBeNull();
  });
});

describe('ProcessMonitor', () => {
  it("adds up a process tree's CPU and memory, and ends its loop when the process ends", async () => {
    // A parent that starts a child which spins and holds 64 MiB.
    const script = `
      const { spawn } = require('node:child_process');
      spawn(process.execPath, ['-e', 'const b = Buffer.alloc(64 * 1024 * 1024, 1); for (;;) { b[0]++; }'], { stdio: 'inherit' });
      setInterval(() => {}, 1000);
    `;
    // Its own process group, so that one kill ends both.
    const parent = spawn(process.execPath, ['-e', script], { stdio: 'ignore', detached: true });
    const seen = new CollectingNotifier();
    const monitor = new ProcessMonitor({
      pid: parent.pid!,
      samplingInterval: 0.3,
      notifiers: [seen],
      thresholds: { cpuPercent: 10 },
    });
    try {
      for (let i = 0; i < 100 && (await monitor.sample())?.processes !== 2; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 1000));
      await monitor.step();
      const s = monitor.lastSample!;
      expect(s.processes).toBe(2);
      expect(s.memoryBytes).toBeGreaterThan(64 * 2 ** 20);
      expect(s.cpuPercent).toBeGreaterThan(20);
      expect(seen.notifications.map((n) => n.title)).toEqual([`WARNING: process ${parent.pid} CPU high`]);
    } finally {
      process.kill(-parent.pid!, 'SIGKILL');
    }
    await new Promise((resolve) => parent.once('exit', resolve));
    expect(await monitor.loop()).toEqual({ steps: 1, reason: 'finished' });
    expect(seen.notifications.at(-1)).toMatchObject({
      title: 'INFO',
      message: `process ${parent.pid} has ended`,
    });
  });
});

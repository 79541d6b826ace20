import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessTreeReader, RESOURCE_METRICS, ResourceSampler } from './resource-sampler.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.pid) process.kill(-c.pid, 'SIGKILL');
});

function start(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  children.push(child);
  return child;
}

const ready = (child: ChildProcess) =>
  new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));

describe('ProcessTreeReader', () => {
  it('counts every process and thread of the tree, and only those', async () => {
    const child = start('sh', ['-c', 'sleep 30 & sleep 30 & echo ready; wait']);
    await ready(child);
    const usage = new ProcessTreeReader().read(child.pid!);
    expect(usage).toMatchObject({ processes: 3, threads: 3 });
    expect(usage!.rssBytes).toBeGreaterThan(0);
  });

  it('sums resident memory and CPU time', async () => {
    const child = start(process.execPath, [
      '-e',
      `const b = Buffer.alloc(200 * 1048576, 1); while (process.cpuUsage().user < 600000); console.log('ready', b[5]); setTimeout(() => {}, 30000);`,
    ]);
    await ready(child);
    const usage = new ProcessTreeReader().read(child.pid!)!;
    expect(usage.rssBytes).toBeGreaterThan(200 * 1048576);
    expect(usage.cpuSeconds).toBeGreaterThanOrEqual(0.6);
    expect(usage.processes).toBe(1);
  });

  it('gives null once the process is gone, or has exited and waits to be reaped', async () => {
    expect(new ProcessTreeReader().read(2 ** 22 + 1)).toBeNull();
    // The parent shell sleeps without waiting for its child, which stays a zombie meanwhile.
    const child = start('sh', ['-c', 'sh -c "exit 0" & echo $!; exec sleep 30']);
    const zombie = Number(
      await new Promise<string>((resolve) => child.stdout!.once('data', (d) => resolve(String(d)))),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(new ProcessTreeReader().read(zombie)).toBeNull();
    expect(new ProcessTreeReader().read(child.pid!)).toMatchObject({ processes: 1, threads: 1 });
  });
});

describe('ResourceSampler', () => {
  it('records the named metrics, CPU percent from the second sample on', async () => {
    const child = start(process.execPath, [
      '-e',
      `console.log('ready'); const end = Date.now() + 30000; while (Date.now() < end);`,
    ]);
    await ready(child);
    const samples: Record<string, number>[] = [];
    const sampler = new ResourceSampler((values) => samples.push(values));
    expect(sampler.sample(child.pid!)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sampler.sample(child.pid!)).toBe(true);
    expect(Object.keys(samples[0]!).sort()).toEqual(
      [
        RESOURCE_METRICS.cpuSeconds,
        RESOURCE_METRICS.memoryMib,
        RESOURCE_METRICS.memoryPercent,
        RESOURCE_METRICS.processes,
        RESOURCE_METRICS.threads,
      ].sort(),
    );
    // A busy loop on a shared, loaded machine: clearly above idle, at most a little over one core.
    expect(samples[1]![RESOURCE_METRICS.cpuPercent]).toBeGreaterThan(5);
    expect(samples[1]![RESOURCE_METRICS.cpuPercent]).toBeLessThan(130);
    expect(samples[1]![RESOURCE_METRICS.processes]).toBe(1);
    expect(sampler.sample(2 ** 22 + 1)).toBe(false);
  });
});

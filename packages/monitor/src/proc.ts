import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Cumulative CPU time of the whole machine, in clock ticks. */
export interface CpuTimes {
  busy: number;
  total: number;
}

/** Memory and swap, in bytes. */
export interface MemoryInfo {
  total: number;
  available: number;
  swapTotal: number;
  swapFree: number;
}

/** Cumulative byte counters, summed over network interfaces (without loopback) or whole disks. */
export interface IoCounters {
  read: number;
  written: number;
}

/** One process of a tree: CPU ticks used so far, resident memory in bytes. */
export interface ProcessSample {
  pid: number;
  ppid: number;
  ticks: number;
  rssBytes: number;
}

/** Clock ticks per second of /proc times: USER_HZ, 100 on every Linux the kernel ABI allows. */
export const CLOCK_TICKS = 100;
const SECTOR = 512;

const readText = (root: string, ...path: string[]) => readFile(join(root, ...path), 'utf8');

/** The first line of /proc/stat: busy is everything but idle and iowait. */
export async function readCpuTimes(root = '/proc'): Promise<CpuTimes> {
  const line = (await readText(root, 'stat')).split('\n', 1)[0] ?? '';
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  // guest and guest_nice are already counted in user and nice.
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, total };
}

/** MemTotal, MemAvailable, SwapTotal and SwapFree of /proc/meminfo. */
export async function readMemory(root = '/proc'): Promise<MemoryInfo> {
  const values = new Map<string, number>();
  for (const line of (await readText(root, 'meminfo')).split('\n')) {
    const match = /^(\w+):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (match) values.set(match[1] ?? '', Number(match[2]) * (line.endsWith('kB') ? 1024 : 1));
  }
  const total = values.get('MemTotal') ?? 0;
  return {
    total,
    available: values.get('MemAvailable') ?? values.get('MemFree') ?? 0,
    swapTotal: values.get('SwapTotal') ?? 0,
    swapFree: values.get('SwapFree') ?? 0,
  };
}

/** Bytes received (`read`) and sent (`written`) by every interface but loopback, from /proc/net/dev. */
export async function readNetwork(root = '/proc'): Promise<IoCounters> {
  let read = 0;
  let written = 0;
  for (const line of (await readText(root, 'net', 'dev')).split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    if (line.slice(0, colon).trim() === 'lo') continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    read += fields[0] ?? 0;
    written += fields[8] ?? 0;
  }
  return { read, written };
}

const VIRTUAL_DISK = /^(loop|ram|zram|dm-|md|sr|fd)/;

/**
 * Bytes read and written by whole disks, from /proc/diskstats; partitions (a device named after another one plus
 * a number, `sda1`, `nvme0n1p2`) and virtual devices (loop, zram, device mapper, md) are left out so that nothing
 * is counted twice.
 */
export async function readDisks(root = '/proc'): Promise<IoCounters> {
  const rows = (await readText(root, 'diskstats'))
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 10 && !VIRTUAL_DISK.test(f[2] ?? ''));
  const names = rows.map((f) => f[2] ?? '');
  const isPartition = (name: string) =>
    names.some((d) => d !== name && name.startsWith(d) && /^p?\d+$/.test(name.slice(d.length)));
  let read = 0;
  let written = 0;
  for (const f of rows) {
    if (isPartition(f[2] ?? '')) continue;
    read += Number(f[5]) * SECTOR;
    written += Number(f[9]) * SECTOR;
  }
  return { read, written };
}

/** Parses /proc/PID/stat: the command name may hold spaces and parentheses, so fields start after the last ')'. */
export function parseProcStat(text: string): { ppid: number; ticks: number } | null {
  const end = text.lastIndexOf(')');
  if (end < 0) return null;
  const fields = text.slice(end + 2).split(' ');
  const ppid = Number(fields[1]);
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ppid) && Number.isFinite(ticks) ? { ppid, ticks } : null;
}

/** Every process's parent and CPU ticks; processes that vanish while being read are left out. */
async function readProcesses(root = '/proc'): Promise<Map<number, { ppid: number; ticks: number }>> {
  const out = new Map<number, { ppid: number; ticks: number }>();
  const names = await readdir(root);
  await Promise.all(
    names
      .filter((n) => /^\d+$/.test(n))
      .map(async (n) => {
        const parsed = await readText(root, n, 'stat').then(parseProcStat, () => null);
        if (parsed) out.set(Number(n), parsed);
      }),
  );
  return out;
}

/** The process `pid` and all its descendants, with their CPU ticks and resident memory; empty when it is gone. */
export async function readProcessTree(
  pid: number,
  root = '/proc',
  includeChildren = true,
): Promise<ProcessSample[]> {
  const all = includeChildren
    ? await readProcesses(root)
    : new Map(
        await readText(root, String(pid), 'stat').then(
          (t) => {
            const p = parseProcStat(t);
            return p ? [[pid, p] as const] : [];
          },
          () => [],
        ),
      );
  if (!all.has(pid)) return [];
  const children = new Map<number, number[]>();
  for (const [child, { ppid }] of all) children.set(ppid, [...(children.get(ppid) ?? []), child]);
  const tree: number[] = [];
  const queue = [pid];
  for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
    tree.push(p);
    if (includeChildren) queue.push(...(children.get(p) ?? []));
  }
  const samples = await Promise.all(
    tree.map(async (p) => {
      const status = await readText(root, String(p), 'status').catch(() => '');
      const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      const info = all.get(p);
      return {
        pid: p,
        ppid: info?.ppid ?? 0,
        ticks: info?.ticks ?? 0,
        rssBytes: rss ? Number(rss[1]) * 1024 : 0,
      };
    }),
  );
  return samples;
}

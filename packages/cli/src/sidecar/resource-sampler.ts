import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** What a process tree uses at one moment. */
export interface TreeUsage {
  /** User plus system CPU time, in seconds, of the live processes and the children they have waited for. */
  cpuSeconds: number;
  /** Resident memory summed over the processes, in bytes (shared pages count once per process). */
  rssBytes: number;
  processes: number;
  threads: number;
}

interface ProcStat {
  pid: number;
  ppid: number;
  ticks: number;
  threads: number;
  rssPages: number;
}

/** The names under which the sidecar records resource use (see docs/cli.md). */
export const RESOURCE_METRICS = {
  cpuPercent: 'resources/cpu.percent',
  cpuSeconds: 'resources/cpu.seconds',
  memoryMib: 'resources/memory.rss_mib',
  memoryPercent: 'resources/memory.percent',
  processes: 'resources/processes',
  threads: 'resources/threads',
} as const;

function sysconf(name: string, fallback: number): number {
  const out = spawnSync('getconf', [name], { encoding: 'utf8' });
  const n = Number(out.stdout?.trim());
  return out.status === 0 && Number.isInteger(n) && n > 0 ? n : fallback;
}

function readStat(procDir: string, pid: string): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`${procDir}/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
  const close = text.lastIndexOf(')');
  const f = text.slice(close + 2).split(' ');
  // A process that has exited but not been waited for yet holds no memory and counts for nothing.
  if (f[0] === 'Z' || f[0] === 'X') return null;
  // After the name: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17) … num_threads(20) … rss(24).
  return {
    pid: Number(pid),
    ppid: Number(f[1]),
    ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
    threads: Number(f[17]),
    rssPages: Number(f[21]),
  };
}

/** Reads the process tree under `rootPid` (itself included) from `/proc`; `null` once the root is gone. */
export class ProcessTreeReader {
  readonly #procDir: string;
  readonly #ticksPerSecond: number;
  readonly #pageBytes: number;

  constructor(procDir = '/proc') {
    this.#procDir = procDir;
    this.#ticksPerSecond = sysconf('CLK_TCK', 100);
    this.#pageBytes = sysconf('PAGESIZE', 4096);
  }

  /** Total memory of the machine in bytes, from `/proc/meminfo`. */
  memTotalBytes(): number | undefined {
    try {
      const m = /^MemTotal:\s+(\d+) kB/m.exec(readFileSync(`${this.#procDir}/meminfo`, 'utf8'));
      return m ? Number(m[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  read(rootPid: number): TreeUsage | null {
    const children = new Map<number, ProcStat[]>();
    let root: ProcStat | null = null;
    for (const name of readdirSync(this.#procDir)) {
      if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
      const stat = readStat(this.#procDir, name);
      if (!stat) continue;
      if (stat.pid === rootPid) root = stat;
      const siblings = children.get(stat.ppid);
      if (siblings) siblings.push(stat);
      else children.set(stat.ppid, [stat]);
    }
    if (!root) return null;
    const usage: TreeUsage = { cpuSeconds: 0, rssBytes: 0, processes: 0, threads: 0 };
    const stack = [root];
    for (let p = stack.pop(); p !== undefined; p = stack.pop()) {
      usage.cpuSeconds += p.ticks / this.#ticksPerSecond;
      usage.rssBytes += p.rssPages * this.#pageBytes;
      usage.processes++;
      usage.threads += p.threads;
      for (const child of children.get(p.pid) ?? []) stack.push(child);
    }
    return usage;
  }
}

/**
 * Samples a process tree every `intervalMs` and hands the figures to `onSample` under the names of
 * `RESOURCE_METRICS`. CPU percent is of one core, averaged since the previous sample (so it is absent from
 * the first).
 */
export class ResourceSampler {
  readonly #reader: ProcessTreeReader;
  readonly #onSample: (values: Record<string, number>) => void;
  readonly #memTotal: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #last: { at: number; cpu: number } | undefined;

  constructor(onSample: (values: Record<string, number>) => void, reader = new ProcessTreeReader()) {
    this.#reader = reader;
    this.#onSample = onSample;
    this.#memTotal = reader.memTotalBytes();
  }

  start(rootPid: number, intervalMs: number): void {
    this.sample(rootPid);
    this.#timer = setInterval(() => this.sample(rootPid), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Takes one sample now; returns false when the tree is gone. */
  sample(rootPid: number): boolean {
    const usage = this.#reader.read(rootPid);
    if (!usage) return false;
    const at = performance.now();
    const values: Record<string, number> = {
      [RESOURCE_METRICS.cpuSeconds]: usage.cpuSeconds,
      [RESOURCE_METRICS.memoryMib]: usage.rssBytes / 1048576,
      [RESOURCE_METRICS.processes]: usage.processes,
      [RESOURCE_METRICS.threads]: usage.threads,
    };
    if (this.#memTotal) values[RESOURCE_METRICS.memoryPercent] = (100 * usage.rssBytes) / this.#memTotal;
    if (this.#last && at > this.#last.at) {
      const cpu = (100 * (usage.cpuSeconds - this.#last.cpu)) / ((at - this.#last.at) / 1000);
      values[RESOURCE_METRICS.cpuPercent] = Math.max(0, cpu);
    }
    this.#last = { at, cpu: usage.cpuSeconds };
    this.#onSample(values);
    return true;
  }
}

import { type MetricSink, Monitor, type MonitorConfig } from './monitor.js';
import { CLOCK_TICKS, readProcessTree } from './proc.js';
import { ThresholdWatch } from './thresholds.js';
import { TsvFile } from './tsv-file.js';

/** One sample of a process tree: CPU in percent of one core (200 = two cores busy), resident memory in bytes. */
export interface ProcessTreeSample {
  time: Date;
  processes: number;
  cpuPercent: number | null;
  memoryBytes: number;
}

export interface ProcessMonitorConfig extends MonitorConfig {
  pid: number;
  /** Count the process's descendants too (default true). */
  includeChildren?: boolean;
  thresholds?: { cpuPercent?: number; memoryBytes?: number };
  /** Logs each sample as metrics `process.cpu_percent`, `process.memory_bytes`, `process.count`. */
  run?: MetricSink;
  tsvFile?: string;
  procRoot?: string;
}

/** Watches a process and its descendants (Linux /proc); the loop ends when the process does. */
export class ProcessMonitor extends Monitor {
  readonly pid: number;
  thresholds: { cpuPercent?: number; memoryBytes?: number };
  readonly #children: boolean;
  readonly #run: MetricSink | undefined;
  readonly #tsv: TsvFile | undefined;
  readonly #root: string;
  readonly #watch = new ThresholdWatch();
  #previous: { at: number; ticks: Map<number, number> } | undefined;
  #last: ProcessTreeSample | undefined;

  constructor(config: ProcessMonitorConfig) {
    super(config);
    this.pid = config.pid;
    this.thresholds = { ...config.thresholds };
    this.#children = config.includeChildren ?? true;
    this.#run = config.run;
    this.#root = config.procRoot ?? '/proc';
    this.#tsv = config.tsvFile
      ? new TsvFile(config.tsvFile, ['time', 'pid', 'processes', 'cpu_percent', 'memory_bytes'])
      : undefined;
  }

  get lastSample(): ProcessTreeSample | undefined {
    return this.#last;
  }

  override async initLoop(): Promise<void> {
    await this.sample();
  }

  /** Samples the tree; null once the process has ended. */
  async sample(): Promise<ProcessTreeSample | null> {
    const tree = await readProcessTree(this.pid, this.#root, this.#children);
    const at = performance.now();
    if (tree.length === 0) return null;
    const ticks = new Map(tree.map((p) => [p.pid, p.ticks]));
    const prev = this.#previous;
    let cpu: number | null = null;
    if (prev && at > prev.at) {
      let used = 0;
      // A process born since the last sample spent all its ticks within the interval.
      for (const [pid, t] of ticks) used += t - (prev.ticks.get(pid) ?? 0);
      cpu = Math.max(0, (100 * used) / CLOCK_TICKS / ((at - prev.at) / 1000));
    }
    this.#previous = { at, ticks };
    const sample = {
      time: new Date(),
      processes: tree.length,
      cpuPercent: cpu,
      memoryBytes: tree.reduce((sum, p) => sum + p.rssBytes, 0),
    };
    this.#last = sample;
    return sample;
  }

  async step(): Promise<boolean | undefined> {
    const s = await this.sample();
    if (!s) {
      await this.info(`process ${this.pid} has ended`);
      return true;
    }
    this.#run?.logMetrics({
      'process.memory_bytes': s.memoryBytes,
      'process.count': s.processes,
      ...(s.cpuPercent === null ? {} : { 'process.cpu_percent': s.cpuPercent }),
    });
    await this.#tsv?.append([s.time.toISOString(), this.pid, s.processes, s.cpuPercent, s.memoryBytes]);
    const t = this.thresholds;
    await this.#watch.check(this, [
      { key: 'cpu', label: `process ${this.pid} CPU`, value: s.cpuPercent, limit: t.cpuPercent, unit: '%' },
      {
        key: 'memory',
        label: `process ${this.pid} memory`,
        value: s.memoryBytes / 2 ** 20,
        limit: t.memoryBytes === undefined ? undefined : t.memoryBytes / 2 ** 20,
        unit: ' MiB',
      },
    ]);
    return undefined;
  }
}

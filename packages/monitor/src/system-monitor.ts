import * as os from 'node:os';
import type { GpuStats } from '@simscope/protocol';
import { readGpus } from './gpu.js';
import { type MetricSink, Monitor, type MonitorConfig } from './monitor.js';
import { type CpuTimes, type IoCounters, readCpuTimes, readDisks, readMemory, readNetwork } from './proc.js';
import { type Reading, ThresholdWatch } from './thresholds.js';
import { TsvFile } from './tsv-file.js';

/** Limits above which the system monitor notifies; each is optional. */
export interface SystemThresholds {
  cpuPercent?: number;
  memoryPercent?: number;
  swapPercent?: number;
  gpuPercent?: number;
  gpuMemoryPercent?: number;
  gpuTemperatureC?: number;
}

/** One sample of the machine; rates are per second since the previous sample (null on the first). */
export interface SystemSample {
  time: Date;
  cpuPercent: number | null;
  memoryPercent: number | null;
  swapPercent: number | null;
  netReceiveBytesPerS: number | null;
  netSendBytesPerS: number | null;
  diskReadBytesPerS: number | null;
  diskWriteBytesPerS: number | null;
  gpus: GpuStats[];
}

export interface SystemMonitorConfig extends MonitorConfig {
  thresholds?: SystemThresholds;
  /** Logs each sample as metrics (`system.cpu_percent`, `gpu0.utilization_percent`, …). */
  run?: MetricSink;
  tsvFile?: string;
  /** The `nvidia-smi` to run, or false to read no GPUs (default: `nvidia-smi` on PATH, skipped once missing). */
  nvidiaSmi?: string | false;
  /** Where /proc is (default `/proc`); elsewhere than Linux, CPU and memory come from `node:os`. */
  procRoot?: string;
  /** Millisecond clock rates are measured with (default `performance.now`). */
  now?: () => number;
}

interface Counters {
  at: number;
  cpu: CpuTimes | null;
  net: IoCounters | null;
  disk: IoCounters | null;
}

const nullable = <T>(p: Promise<T>) => p.catch(() => null);
const percent = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : null);

function osCpuTimes(): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

/**
 * Watches the machine: CPU, memory and swap use, network and disk rates, and each GPU's utilisation, memory and
 * temperature when `nvidia-smi` is there. Notifies when a reading crosses its threshold, both ways.
 */
export class SystemMonitor extends Monitor {
  thresholds: SystemThresholds;
  readonly #run: MetricSink | undefined;
  readonly #tsv: TsvFile | undefined;
  readonly #root: string;
  readonly #now: () => number;
  #nvidiaSmi: string | false;
  readonly #watch = new ThresholdWatch();
  #previous: Counters | undefined;
  #last: SystemSample | undefined;

  constructor(config: SystemMonitorConfig = {}) {
    super(config);
    this.thresholds = { ...config.thresholds };
    this.#run = config.run;
    this.#root = config.procRoot ?? '/proc';
    this.#now = config.now ?? (() => performance.now());
    this.#nvidiaSmi = config.nvidiaSmi ?? 'nvidia-smi';
    this.#tsv = config.tsvFile
      ? new TsvFile(config.tsvFile, [
          'time',
          'cpu_percent',
          'memory_percent',
          'swap_percent',
          'net_receive_bytes_per_s',
          'net_send_bytes_per_s',
          'disk_read_bytes_per_s',
          'disk_write_bytes_per_s',
          'gpus',
        ])
      : undefined;
  }

  get lastSample(): SystemSample | undefined {
    return this.#last;
  }

  async #counters(): Promise<Counters> {
    const [cpu, net, disk] = await Promise.all([
      readCpuTimes(this.#root).catch(() => osCpuTimes()),
      nullable(readNetwork(this.#root)),
      nullable(readDisks(this.#root)),
    ]);
    return { at: this.#now(), cpu, net, disk };
  }

  override async initLoop(): Promise<void> {
    this.#previous = await this.#counters();
  }

  /** Takes one sample (rates need a previous one: `initLoop` or an earlier step). */
  async sample(): Promise<SystemSample> {
    const now = await this.#counters();
    const memory = await readMemory(this.#root).catch(() => ({
      total: os.totalmem(),
      available: os.freemem(),
      swapTotal: 0,
      swapFree: 0,
    }));
    let gpus: GpuStats[] = [];
    if (this.#nvidiaSmi !== false) {
      const read = await readGpus({ command: this.#nvidiaSmi });
      // A machine without the tool does not get it later: stop asking.
      if (read === null) this.#nvidiaSmi = false;
      else gpus = read;
    }
    const prev = this.#previous;
    this.#previous = now;
    const seconds = prev ? (now.at - prev.at) / 1000 : 0;
    const rate = (a: number | undefined, b: number | undefined) =>
      prev && seconds > 0 && a !== undefined && b !== undefined ? Math.max(0, (a - b) / seconds) : null;
    const cpu =
      prev?.cpu && now.cpu && now.cpu.total > prev.cpu.total
        ? percent(now.cpu.busy - prev.cpu.busy, now.cpu.total - prev.cpu.total)
        : null;
    const sample: SystemSample = {
      time: new Date(),
      cpuPercent: cpu,
      memoryPercent: percent(memory.total - memory.available, memory.total),
      swapPercent: percent(memory.swapTotal - memory.swapFree, memory.swapTotal),
      netReceiveBytesPerS: rate(now.net?.read, prev?.net?.read),
      netSendBytesPerS: rate(now.net?.written, prev?.net?.written),
      diskReadBytesPerS: rate(now.disk?.read, prev?.disk?.read),
      diskWriteBytesPerS: rate(now.disk?.written, prev?.disk?.written),
      gpus,
    };
    this.#last = sample;
    return sample;
  }

  async step(): Promise<undefined> {
    const s = await this.sample();
    const metrics: Record<string, number> = {};
    const put = (name: string, value: number | null) => {
      if (value !== null) metrics[name] = value;
    };
    put('system.cpu_percent', s.cpuPercent);
    put('system.memory_percent', s.memoryPercent);
    put('system.swap_percent', s.swapPercent);
    put('system.net_receive_bytes_per_s', s.netReceiveBytesPerS);
    put('system.net_send_bytes_per_s', s.netSendBytesPerS);
    put('system.disk_read_bytes_per_s', s.diskReadBytesPerS);
    put('system.disk_write_bytes_per_s', s.diskWriteBytesPerS);
    const t = this.thresholds;
    const readings: Reading[] = [
      { key: 'cpu', label: 'CPU', value: s.cpuPercent, limit: t.cpuPercent, unit: '%' },
      { key: 'memory', label: 'memory', value: s.memoryPercent, limit: t.memoryPercent, unit: '%' },
      { key: 'swap', label: 'swap', value: s.swapPercent, limit: t.swapPercent, unit: '%' },
    ];
    for (const g of s.gpus) {
      const memory =
        g.memoryUsedMiB !== null && g.memoryTotalMiB ? percent(g.memoryUsedMiB, g.memoryTotalMiB) : null;
      put(`gpu${g.index}.utilization_percent`, g.utilizationPercent);
      put(`gpu${g.index}.memory_used_mib`, g.memoryUsedMiB);
      put(`gpu${g.index}.memory_percent`, memory);
      put(`gpu${g.index}.temperature_c`, g.temperatureC);
      readings.push(
        {
          key: `gpu${g.index}`,
          label: `GPU ${g.index}`,
          value: g.utilizationPercent,
          limit: t.gpuPercent,
          unit: '%',
        },
        {
          key: `gpu${g.index}.memory`,
          label: `GPU ${g.index} memory`,
          value: memory,
          limit: t.gpuMemoryPercent,
          unit: '%',
        },
        {
          key: `gpu${g.index}.temperature`,
          label: `GPU ${g.index} temperature`,
          value: g.temperatureC,
          limit: t.gpuTemperatureC,
          unit: ' °C',
        },
      );
    }
    if (Object.keys(metrics).length > 0) this.#run?.logMetrics(metrics);
    await this.#tsv?.append([
      s.time.toISOString(),
      s.cpuPercent,
      s.memoryPercent,
      s.swapPercent,
      s.netReceiveBytesPerS,
      s.netSendBytesPerS,
      s.diskReadBytesPerS,
      s.diskWriteBytesPerS,
      s.gpus
        .map(
          (g) =>
            `${g.index}:${g.utilizationPercent ?? ''}%/${g.memoryUsedMiB ?? ''}MiB/${g.temperatureC ?? ''}C`,
        )
        .join(' '),
    ]);
    await this.#watch.check(this, readings);
    return undefined;
  }
}

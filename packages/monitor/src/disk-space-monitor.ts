import { statfs } from 'node:fs/promises';
import { type MetricSink, Monitor, type MonitorConfig } from './monitor.js';
import { TsvFile } from './tsv-file.js';
import { formatBytes } from './units.js';

/** Space of the file system that holds a path, in bytes: `free` is what an unprivileged user can still write. */
export interface DiskUsage {
  total: number;
  used: number;
  free: number;
}

/** The space of the file system holding `path` (statfs, as `df` reports it). */
export async function diskUsage(path: string): Promise<DiskUsage> {
  const s = await statfs(path);
  return { total: s.blocks * s.bsize, used: (s.blocks - s.bfree) * s.bsize, free: s.bavail * s.bsize };
}

export interface DiskSpaceMonitorConfig extends MonitorConfig {
  /** A path on the file system to watch. */
  path: string;
  /** Bytes: below this much free space, notify. */
  minFree: number;
  /** A TSV file each sample is appended to (with a header when new). */
  tsvFile?: string;
  /** A run each sample is logged to as metrics `disk.free_bytes`, `disk.used_bytes`, `disk.total_bytes`. */
  run?: MetricSink;
}

/**
 * Watches the free space of a path's file system: each step samples it, appends it to the TSV file and logs it
 * to the run; when free space drops under `minFree` the notifiers hear once (WARNING), and once more when it is
 * back above (OK).
 */
export class DiskSpaceMonitor extends Monitor {
  readonly path: string;
  /** Bytes; may be changed between steps. */
  minFree: number;
  readonly #tsv: TsvFile | undefined;
  readonly #run: MetricSink | undefined;
  #low = false;
  #last: DiskUsage | undefined;

  constructor(config: DiskSpaceMonitorConfig) {
    super(config);
    this.path = config.path;
    this.minFree = config.minFree;
    this.#tsv = config.tsvFile
      ? new TsvFile(config.tsvFile, [
          'time',
          'path',
          'total_bytes',
          'used_bytes',
          'free_bytes',
          'min_free_bytes',
        ])
      : undefined;
    this.#run = config.run;
  }

  /** The TSV file samples go to, if any. */
  get tsvFile(): string | undefined {
    return this.#tsv?.path;
  }

  /** The last sample taken. */
  get lastSample(): DiskUsage | undefined {
    return this.#last;
  }

  async step(): Promise<undefined> {
    const usage = await diskUsage(this.path);
    this.#last = usage;
    await this.#tsv?.append([
      new Date().toISOString(),
      this.path,
      usage.total,
      usage.used,
      usage.free,
      this.minFree,
    ]);
    this.#run?.logMetrics({
      'disk.free_bytes': usage.free,
      'disk.used_bytes': usage.used,
      'disk.total_bytes': usage.total,
    });
    const stats = `Free: ${formatBytes(usage.free)}, Total: ${formatBytes(usage.total)}, Used: ${formatBytes(usage.used)}, Threshold: ${formatBytes(this.minFree)}`;
    if (usage.free < this.minFree && !this.#low) {
      this.#low = true;
      await this.notify(`WARNING: only ${formatBytes(usage.free)} left for ${this.path}`, stats);
    } else if (usage.free >= this.minFree && this.#low) {
      this.#low = false;
      await this.notify(`OK: ${formatBytes(usage.free)} free again for ${this.path}`, stats);
    }
    return undefined;
  }
}

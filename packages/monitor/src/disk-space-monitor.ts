import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { SimscopeError } from '@simscope/protocol';
import { aliased, type MetricSink, Monitor, type MonitorConfig } from './monitor.js';
import { TsvFile } from './tsv-file.js';
import { formatBytes, parseSize } from './units.js';

/** Name of the storage file in the working directory, as Scipion's space monitor writes it. */
export const STORAGE_FILE_NAME = 'space_usage.tsv';

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
  /** A path on the file system to watch; default `workingDir`. */
  path?: string;
  /** The directory the storage file goes in, as Scipion's `workingDir`; default `path`. */
  workingDir?: string;
  /**
   * Below this much free space, notify: bytes, or a size such as `'500GB'` (10⁹) or `'500GiB'` (2³⁰).
   * Scipion's `minimumFreeSpace` is GiB: write `'500GiB'`, not `500`.
   */
  minFreeBytes?: number | string;
  /** @deprecated The old name of `minFreeBytes` (bytes, not Scipion's GB). */
  minFree?: number | string;
  /** The TSV file each sample is appended to (a header first when new); default `space_usage.tsv` in `workingDir`, `false` for none. */
  storageFile?: string | false;
  /** @deprecated The old name of `storageFile`. */
  tsvFile?: string;
  /** A run each sample is logged to as metrics `disk.free_bytes`, `disk.used_bytes`, `disk.total_bytes`. */
  run?: MetricSink;
}

/**
 * Watches the free space of a path's file system: each step samples it, appends it to the storage file and logs
 * it to the run; when free space drops under `minFreeBytes` the notifiers hear once (WARNING), and once more when
 * it is back above (OK).
 * @example
 * new DiskSpaceMonitor({ workingDir: '/scratch/project', minFreeBytes: '500GiB', monitorSeconds: '100m' });
 */
export class DiskSpaceMonitor extends Monitor {
  readonly path: string;
  readonly workingDir: string;
  /** Bytes; may be changed between steps. */
  minFreeBytes: number;
  readonly #tsv: TsvFile | undefined;
  readonly #run: MetricSink | undefined;
  #low = false;
  #last: DiskUsage | undefined;

  constructor(config: DiskSpaceMonitorConfig) {
    super(config);
    const path = config.path ?? config.workingDir;
    if (!path) throw new SimscopeError('invalid_field', 'path: give the path to watch (or workingDir)');
    this.path = path;
    this.workingDir = config.workingDir ?? path;
    const minFree = aliased(config, 'minFreeBytes', 'minFree');
    if (minFree === undefined) {
      throw new SimscopeError('invalid_field', "minFreeBytes: give the free space to keep, e.g. '500GiB'");
    }
    this.minFreeBytes = parseSize(minFree, 'minFreeBytes');
    const storage = aliased(config, 'storageFile', 'tsvFile') ?? join(this.workingDir, STORAGE_FILE_NAME);
    this.#tsv = storage
      ? new TsvFile(storage, ['time', 'path', 'total_bytes', 'used_bytes', 'free_bytes', 'min_free_bytes'])
      : undefined;
    this.#run = config.run;
  }

  /** The storage file samples go to, or undefined with `storageFile: false`, as Scipion's `getStorageFilePath()`. */
  getStorageFilePath(): string | undefined {
    return this.#tsv?.path;
  }

  /** @deprecated The old name of `getStorageFilePath()`. */
  get tsvFile(): string | undefined {
    return this.#tsv?.path;
  }

  /** @deprecated The old name of `minFreeBytes`. */
  get minFree(): number {
    return this.minFreeBytes;
  }
  set minFree(bytes: number) {
    this.minFreeBytes = bytes;
  }

  /** The last sample taken. */
  get lastSample(): DiskUsage | undefined {
    return this.#last;
  }

  async step(): Promise<undefined> {
    const usage = await diskUsage(this.path);
    this.#last = usage;
    const time = new Date().toISOString();
    this.#run?.logMetrics({
      'disk.free_bytes': usage.free,
      'disk.used_bytes': usage.used,
      'disk.total_bytes': usage.total,
    });
    const stats = `Free: ${formatBytes(usage.free)}, Total: ${formatBytes(usage.total)}, Used: ${formatBytes(usage.used)}, Threshold: ${formatBytes(this.minFreeBytes)}`;
    if (usage.free < this.minFreeBytes && !this.#low) {
      this.#low = true;
      await this.notify(`WARNING: only ${formatBytes(usage.free)} left for ${this.path}`, stats);
    } else if (usage.free >= this.minFreeBytes && this.#low) {
      this.#low = false;
      await this.notify(`OK: ${formatBytes(usage.free)} free again for ${this.path}`, stats);
    }
    // Last, so a storage file that cannot be written (reported as a failed step) never holds back a warning.
    await this.#tsv?.append([time, this.path, usage.total, usage.used, usage.free, this.minFreeBytes]);
    return undefined;
  }
}

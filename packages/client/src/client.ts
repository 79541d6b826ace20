import type { EventLevel, EventView, FolderView, RunView, SeriesView } from '@simscope/protocol';
import { Unpackr } from 'msgpackr';
import {
  type ArtifactFilter,
  type ArtifactInfo,
  checkArtifactName,
  checkCategory,
  decodeObject,
  downloadArtifact,
  downloadBytes,
  downloadTarget,
  mapLimit,
} from './artifacts.js';
import { type ConnectionOptions, resolveConfig } from './config.js';
import { HttpTransport, type RetryOptions } from './http-transport.js';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** A run as the server returns it; times are microseconds since the epoch. */
export type RunInfo = RunView;
export type MetricInfo = SeriesView;
export type EventInfo = EventView;
export type FolderInfo = FolderView;

/** One metric of one run: x values on the chosen axis, and the values. */
export interface MetricValues {
  run: string;
  name: string;
  x: Float64Array;
  values: Float64Array;
}

interface Page<T> {
  items: T[];
  next: string | null;
}

function float64(bytes: Uint8Array): Float64Array {
  return new Float64Array(Uint8Array.prototype.slice.call(bytes).buffer);
}

function int64(bytes: Uint8Array): Float64Array {
  const words = new Int32Array(Uint8Array.prototype.slice.call(bytes).buffer);
  const out = new Float64Array(words.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = words[2 * i + 1]! * 4294967296 + (words[2 * i]! >>> 0);
  return out;
}

/** Reads and deletes runs, metrics, events and folders. */
export class Client {
  readonly #transport: HttpTransport;

  constructor(options: ConnectionOptions & { retries?: Partial<RetryOptions> } = {}) {
    this.#transport = new HttpTransport({ ...resolveConfig(options), retries: options.retries });
  }

  getRun(idOrName: string): Promise<RunInfo> {
    return this.#transport.request('GET', `/runs/${encodeURIComponent(idOrName)}`);
  }

  /** Runs matching a filter (the filter language of docs/filter-language.md), newest first unless `sort` says. */
  getRuns(filter = '', options: { sort?: string; limit?: number } = {}): Promise<RunInfo[]> {
    return this.#listAll<RunInfo>(
      '/runs',
      { filter: filter || undefined, sort: options.sort },
      options.limit ?? 100,
      1000,
    );
  }

  /** Pages through a list until it ends or `limit` items are in. */
  async #listAll<T>(
    path: string,
    query: Record<string, string | undefined>,
    limit: number,
    pageMax: number,
  ): Promise<T[]> {
    const out: T[] = [];
    let next: string | undefined;
    do {
      const page = await this.#transport.request<Page<T>>('GET', path, {
        query: { ...query, limit: Math.min(pageMax, limit - out.length), next },
      });
      out.push(...page.items);
      next = page.next ?? undefined;
    } while (next && out.length < limit);
    return out;
  }

  async getMetricNames(run: string): Promise<MetricInfo[]> {
    return (
      await this.#transport.request<Page<MetricInfo>>('GET', `/runs/${encodeURIComponent(run)}/metrics`)
    ).items;
  }

  /**
   * Values of metrics against `xaxis`, for each run and name. With `maxPoints`, long series come downsampled
   * (M4: first, last, min and max of each of `maxPoints / 4` buckets).
   */
  async getMetricValues(
    runs: string | string[],
    names: string | string[],
    options: { xaxis?: 'step' | 'time' | 'timestamp'; maxPoints?: number } = {},
  ): Promise<MetricValues[]> {
    const xaxis = options.xaxis ?? 'step';
    const column = xaxis === 'step' ? 'steps' : xaxis === 'time' ? 'times' : 'timestamps';
    const out: MetricValues[] = [];
    for (const run of [runs].flat()) {
      for (const name of [names].flat()) {
        const path = `/runs/${encodeURIComponent(run)}/metrics`;
        if (options.maxPoints) {
          const raw = await this.#transport.request<Uint8Array>('GET', `${path}/downsample`, {
            query: { name, x: xaxis, buckets: Math.max(1, Math.floor(options.maxPoints / 4)) },
            accept: 'application/msgpack',
          });
          out.push({ run, name, ...m4Points(unpackr.unpack(raw) as Record<string, Uint8Array>) });
          continue;
        }
        const xs: Float64Array[] = [];
        const ys: Float64Array[] = [];
        let next: string | undefined;
        do {
          const raw = await this.#transport.request<Uint8Array>('GET', `${path}/series`, {
            query: { name, columns: `${xaxis},value`, next },
            accept: 'application/msgpack',
          });
          const page = unpackr.unpack(raw) as Record<string, Uint8Array> & { next: string | null };
          const x = page[column]!;
          xs.push(column === 'times' ? float64(x) : int64(x));
          ys.push(float64(page.values!));
          next = page.next ?? undefined;
        } while (next);
        out.push({ run, name, x: concat(xs), values: concat(ys) });
      }
    }
    return out;
  }

  getEvents(
    run: string,
    options: { contains?: string; level?: EventLevel[]; limit?: number } = {},
  ): Promise<EventInfo[]> {
    const query = { q: options.contains, level: options.level?.join(',') };
    return this.#listAll<EventInfo>(
      `/runs/${encodeURIComponent(run)}/events`,
      query,
      options.limit ?? 1000,
      10_000,
    );
  }

  async deleteRun(run: string): Promise<void> {
    await this.#transport.request('DELETE', `/runs/${encodeURIComponent(run)}`);
  }

  async deleteRuns(runs: string[]): Promise<void> {
    for (const run of runs) await this.deleteRun(run);
  }

  /** A run's artifacts by name, all of them or those the filter picks. */
  listArtifacts(run: string, filter: ArtifactFilter = {}): Promise<ArtifactInfo[]> {
    return this.#listAll<ArtifactInfo>(
      `/runs/${encodeURIComponent(run)}/artifacts`,
      {
        category: filter.category === undefined ? undefined : checkCategory(filter.category),
        startsWith: filter.startsWith,
        contains: filter.contains,
        endsWith: filter.endsWith,
      },
      Number.MAX_SAFE_INTEGER,
      1000,
    );
  }

  /**
   * Downloads one artifact into `path` (default: the working directory), keeping the directories of its name
   * (`system/controlDict` goes to `PATH/system/controlDict`); returns the file's path.
   */
  async getArtifactAsFile(run: string, name: string, options: { path?: string } = {}): Promise<string> {
    return downloadArtifact(this.#transport, run, checkArtifactName(name), options.path ?? process.cwd());
  }

  /**
   * Downloads the artifacts the filter picks (all by default) into `path`, `concurrency` at a time (default 4);
   * returns the files' paths. Names are checked first: none can write outside `path`.
   */
  async getArtifactsAsFiles(
    run: string,
    options: ArtifactFilter & { path?: string; concurrency?: number } = {},
  ): Promise<string[]> {
    const dir = options.path ?? process.cwd();
    const artifacts = await this.listArtifacts(run, options);
    for (const a of artifacts) downloadTarget(dir, a.name);
    return mapLimit(artifacts, options.concurrency ?? 4, (a) =>
      downloadArtifact(this.#transport, run, a.name, dir),
    );
  }

  /** Reads an artifact into memory: JSON parsed, `.npy` as a typed array, anything else as bytes. */
  async getArtifactAsObject(run: string, name: string): Promise<unknown> {
    const { bytes, mimeType } = await downloadBytes(this.#transport, run, name);
    return decodeObject(bytes, mimeType);
  }

  async deleteArtifact(run: string, name: string): Promise<void> {
    await this.#transport.request('DELETE', `/runs/${encodeURIComponent(run)}/artifacts`, {
      query: { name: checkArtifactName(name) },
    });
  }

  getFolders(options: { prefix?: string; parent?: string; limit?: number } = {}): Promise<FolderInfo[]> {
    const query = { prefix: options.prefix, parent: options.parent };
    return this.#listAll<FolderInfo>('/folders', query, options.limit ?? 1000, 1000);
  }
}

function concat(parts: Float64Array[]): Float64Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float64Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The points of M4 buckets in x order, without repeats: what a chart draws. */
function m4Points(b: Record<string, Uint8Array>): { x: Float64Array; values: Float64Array } {
  const col = (k: string) => float64(b[k]!);
  const count = col('count');
  const [fx, fy, lx, ly, nx, ny, mx, my] = [
    'firstX',
    'firstY',
    'lastX',
    'lastY',
    'minX',
    'minY',
    'maxX',
    'maxY',
  ].map(col);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < count.length; i++) {
    if (count[i] === 0) continue;
    const pts: [number, number][] = [
      [fx![i]!, fy![i]!],
      [nx![i]!, ny![i]!],
      [mx![i]!, my![i]!],
      [lx![i]!, ly![i]!],
    ];
    pts.sort((a, c) => a[0] - c[0]);
    let last = Number.NaN;
    for (const [px, py] of pts) {
      if (Number.isNaN(px) || px === last) continue;
      x.push(px);
      y.push(py);
      last = px;
    }
  }
  return { x: Float64Array.from(x), values: Float64Array.from(y) };
}

import type { RunStatus, RunView, SeriesView } from '@simscope/protocol';
import { SimscopeError } from '@simscope/protocol';
import { Monitor, type MonitorConfig } from './monitor.js';
import { parseSeconds } from './units.js';

/** What a `RunsMonitor` reads runs with: `Client` from `@simscope/client` fits. */
export interface RunsClient {
  getRuns(filter?: string, options?: { limit?: number }): Promise<RunView[]>;
  getMetricNames(run: string): Promise<SeriesView[]>;
}

export interface RunsMonitorConfig extends MonitorConfig {
  client: RunsClient;
  /** The runs to watch, in the filter language (`folder = "/cfd" and tags contains "nightly"`); '' for all. */
  filter: string;
  /** Statuses to tell about when a run reaches one; default `failed` and `lost`. */
  statuses?: readonly RunStatus[];
  /** A metric every running run should keep reporting. */
  metric?: string;
  /** How long `metric` may stay silent on a running run: seconds or `'10m'`; needs `metric`. */
  staleSeconds?: number | string;
  /** Runs read per step, at most; default 1000. */
  limit?: number;
}

const DEFAULT_STATUSES: readonly RunStatus[] = ['failed', 'lost'];

/**
 * Watches other runs, as Scipion's `ProtMonitor` watches its input protocols: each step lists the runs matching
 * `filter` and tells once when one reaches a watched status (failed, lost), and when a running run has not
 * reported `metric` for `staleSeconds` (and once more when it reports again). Runs already in a watched status
 * at the first step are taken as they are, not told about.
 * @example
 * await new RunsMonitor({ client: new Client(), filter: 'tags contains "nightly"', metric: 'loss',
 *   staleSeconds: '10m', samplingSeconds: '1m', notifiers: [new ConsoleNotifier()] }).loop();
 */
export class RunsMonitor extends Monitor {
  readonly filter: string;
  readonly metric: string | undefined;
  readonly staleSeconds: number | undefined;
  readonly #client: RunsClient;
  readonly #statuses: ReadonlySet<RunStatus>;
  readonly #limit: number;
  /** Status last seen per run id; absent before the first step. */
  #seen: Map<string, RunStatus> | undefined;
  readonly #stale = new Set<string>();

  constructor(config: RunsMonitorConfig) {
    super(config);
    if (typeof config.filter !== 'string') {
      throw new SimscopeError(
        'invalid_field',
        'filter: give the runs to watch, e.g. \'tags contains "nightly"\'',
      );
    }
    if ((config.metric === undefined) !== (config.staleSeconds === undefined)) {
      throw new SimscopeError('invalid_field', 'staleSeconds: give metric and staleSeconds together');
    }
    this.#client = config.client;
    this.filter = config.filter;
    this.metric = config.metric;
    this.staleSeconds =
      config.staleSeconds === undefined ? undefined : parseSeconds(config.staleSeconds, 'staleSeconds');
    this.#statuses = new Set(config.statuses ?? DEFAULT_STATUSES);
    this.#limit = config.limit ?? 1000;
  }

  async step(): Promise<undefined> {
    const runs = await this.#client.getRuns(this.filter, { limit: this.#limit });
    const first = this.#seen === undefined;
    const seen = this.#seen ?? new Map<string, RunStatus>();
    for (const run of runs) {
      const before = seen.get(run.id);
      seen.set(run.id, run.status);
      if (!first && before !== run.status && this.#statuses.has(run.status)) {
        await this.notify(`WARNING: run ${run.name} is ${run.status}`, runSummary(run));
      }
    }
    this.#seen = seen;
    if (this.metric !== undefined && this.staleSeconds !== undefined) {
      await this.#checkMetric(
        runs.filter((r) => r.status === 'running'),
        this.metric,
        this.staleSeconds,
      );
    }
    return undefined;
  }

  async #checkMetric(runs: RunView[], metric: string, staleSeconds: number): Promise<void> {
    const now = Date.now() * 1000;
    const running = new Set(runs.map((r) => r.id));
    for (const id of this.#stale) if (!running.has(id)) this.#stale.delete(id);
    for (const run of runs) {
      const series = (await this.#client.getMetricNames(run.id)).find((s) => s.name === metric);
      const last = series?.last.timestamp ?? run.started ?? run.created;
      const silent = (now - last) / 1e6;
      if (silent >= staleSeconds && !this.#stale.has(run.id)) {
        this.#stale.add(run.id);
        const since = series ? `since ${new Date(last / 1000).toISOString()}` : 'since it started, never';
        await this.notify(
          `WARNING: run ${run.name} stopped reporting ${metric}`,
          `no ${metric} for ${Math.round(silent)} s (${since}); the limit is ${staleSeconds} s. ${runSummary(run)}`,
        );
      } else if (silent < staleSeconds && this.#stale.delete(run.id)) {
        await this.notify(`OK: run ${run.name} reports ${metric} again`, runSummary(run));
      }
    }
  }
}

function runSummary(run: RunView): string {
  const heartbeat = run.heartbeat === null ? 'none' : new Date(run.heartbeat / 1000).toISOString();
  return `Run ${run.name} (${run.id}) in ${run.folder}: status ${run.status}, last heartbeat ${heartbeat}`;
}

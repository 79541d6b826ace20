import type { AlertListItem, AlertView, RunAlertView } from '@simscope/protocol';
import { RUN_STATUSES, type RunStatus, SimscopeError } from '@simscope/protocol';
import { DiskSpaceMonitor } from './disk-space-monitor.js';
import { EmailNotifier, type SmtpSettings } from './email-notifier.js';
import type { LoopResult, MetricSink, Monitor } from './monitor.js';
import { ConsoleNotifier, type EventSink, type Notifier, RunNotifier } from './notifier.js';
import { type RunsClient, RunsMonitor } from './runs-monitor.js';
import { SystemMonitor, type SystemThresholds } from './system-monitor.js';
import { parseSeconds, parseSize } from './units.js';
import { WebhookNotifier } from './webhook-notifier.js';

type Output = { write(text: string): unknown };

/** A run the `--run` option logs to: `Run` from `@simscope/client` fits. */
export interface CommandRun extends MetricSink, EventSink {
  close(status?: 'completed' | 'terminated'): Promise<unknown>;
}

/** What a command gets from the program that runs it; everything has a default. */
export interface CommandContext {
  stdout?: Output;
  stderr?: Output;
  /** Where SMTP settings (`SIMSCOPE_SMTP_*`) and the webhook secret (`SIMSCOPE_WEBHOOK_SECRET`) are read. */
  env?: NodeJS.ProcessEnv;
  /** Stops the monitor (Ctrl-C); the run, if any, then ends `terminated`. */
  signal?: AbortSignal;
  /** Opens the run named by `--run`; default: `@simscope/client` takes it up, or creates it when there is none. */
  openRun?(name: string): Promise<CommandRun>;
}

/** Options both `simscope monitor` commands take, as the CLI parses them (strings as typed). */
export interface MonitorCommonOptions {
  /** Between samples: `60s` (default), `5m`, or seconds. */
  interval?: string | number;
  /** How long to watch: `24h`, `30m`, or seconds; default until interrupted. */
  for?: string | number;
  /** Addresses to email notifications to (needs `SIMSCOPE_SMTP_HOST`). */
  email?: string[];
  /** URLs to POST notifications to. */
  webhook?: string[];
  /** A run name: samples go to it as metrics, notifications as events. */
  run?: string;
  /** A TSV file each sample is appended to. */
  tsv?: string;
  /** No notifications on stdout. */
  quiet?: boolean;
}

/** `simscope monitor disk --path P --min-free 500GB …` */
export interface MonitorDiskOptions extends MonitorCommonOptions {
  path: string;
  /** Notify below this much free space: `500GB`, `1.5TiB`, or bytes. */
  minFree: string | number;
}

/** `simscope monitor system [--cpu 90] [--memory 90] …`: thresholds in percent (°C for GPU temperature). */
export interface MonitorSystemOptions extends MonitorCommonOptions {
  cpu?: string | number;
  memory?: string | number;
  swap?: string | number;
  gpu?: string | number;
  gpuMemory?: string | number;
  gpuTemperature?: string | number;
}

/** `simscope monitor runs --filter '…' [--status failed,lost] [--metric loss --stale 10m] …` */
export interface MonitorRunsOptions extends Omit<MonitorCommonOptions, 'tsv'> {
  /** The runs to watch, in the filter language; '' for all. */
  filter: string;
  /** Statuses to notify on, default `failed` and `lost`. */
  status?: string[];
  /** A metric running runs must keep reporting, with `stale`. */
  metric?: string;
  /** How long `metric` may stay silent: `10m`, `1h`, or seconds. */
  stale?: string | number;
}

/** SMTP settings from `SIMSCOPE_SMTP_HOST`, `_PORT`, `_TLS`, `_USER`, `_PASSWORD`, `_FROM`; null without a host. */
export function smtpFromEnv(env: NodeJS.ProcessEnv): SmtpSettings | null {
  const host = env.SIMSCOPE_SMTP_HOST;
  if (!host) return null;
  const tls = (env.SIMSCOPE_SMTP_TLS ?? 'opportunistic') as NonNullable<SmtpSettings['tls']>;
  if (!['implicit', 'starttls', 'opportunistic', 'none'].includes(tls)) {
    throw new SimscopeError(
      'invalid_field',
      `SIMSCOPE_SMTP_TLS: must be implicit, starttls, opportunistic or none, got '${tls}'`,
    );
  }
  const port = env.SIMSCOPE_SMTP_PORT ? Number(env.SIMSCOPE_SMTP_PORT) : undefined;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new SimscopeError(
      'invalid_field',
      `SIMSCOPE_SMTP_PORT: must be a port number, got '${env.SIMSCOPE_SMTP_PORT}'`,
    );
  }
  return {
    host,
    ...(port ? { port } : {}),
    tls,
    user: env.SIMSCOPE_SMTP_USER ?? null,
    password: env.SIMSCOPE_SMTP_PASSWORD ?? null,
    ...(env.SIMSCOPE_SMTP_FROM ? { from: env.SIMSCOPE_SMTP_FROM } : {}),
  };
}

/** A percentage (or °C) threshold: `90`, `90%`; undefined when not given. */
export function parseThreshold(value: string | number | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(value.trim().replace(/%$/, ''));
  if (!Number.isFinite(n) || n < 0) {
    throw new SimscopeError('invalid_field', `${field}: must be a number such as 90 or 90%, got '${value}'`);
  }
  return n;
}

async function openRunWithClient(name: string, stderr: Output): Promise<CommandRun> {
  const { Client, Run } = await import('@simscope/client');
  const config = {
    suppressErrors: false,
    onError: (error: unknown) => stderr.write(`simscope: ${(error as Error).message ?? String(error)}\n`),
  };
  try {
    const found = await new Client().getRun(name);
    return await Run.reconnect(found.id, config);
  } catch (error) {
    if ((error as { code?: string }).code !== 'not_found') throw error;
    return new Run().config(config).init({ name });
  }
}

interface Prepared {
  samplingInterval: number;
  monitorTime: number | null;
  notifiers: Notifier[];
  run: CommandRun | undefined;
  finish(result: LoopResult): Promise<void>;
}

function list(values: string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** Checks the common options and builds the notifiers; opens the run last, once everything else is valid. */
async function prepare(options: MonitorCommonOptions, context: CommandContext): Promise<Prepared> {
  const stdout = context.stdout ?? process.stdout;
  const stderr = context.stderr ?? process.stderr;
  const env = context.env ?? process.env;
  const samplingInterval = parseSeconds(options.interval ?? 60, '--interval');
  const monitorTime = options.for === undefined ? null : parseSeconds(options.for, '--for');
  const notifiers: Notifier[] = [];
  const closers: (() => Promise<void>)[] = [];
  if (!options.quiet) notifiers.push(new ConsoleNotifier(stdout));
  const emails = list(options.email);
  if (emails.length > 0) {
    const bad = emails.find((e) => !/^[^\s@]+@[^\s@]+$/.test(e));
    if (bad) throw new SimscopeError('invalid_field', `--email: '${bad}' is not an email address`);
    const smtp = smtpFromEnv(env);
    if (!smtp) {
      throw new SimscopeError(
        'invalid_field',
        '--email: needs a mail server; set SIMSCOPE_SMTP_HOST (and _PORT, _USER, …)',
      );
    }
    const email = new EmailNotifier({ smtp, to: emails });
    notifiers.push(email);
    closers.push(() => email.close());
  }
  for (const url of list(options.webhook)) {
    if (!/^https?:\/\/\S+$/.test(url)) {
      throw new SimscopeError('invalid_field', `--webhook: '${url}' is not an http:// or https:// URL`);
    }
    notifiers.push(new WebhookNotifier({ url, secret: env.SIMSCOPE_WEBHOOK_SECRET ?? null }));
  }
  let run: CommandRun | undefined;
  if (options.run !== undefined) {
    if (options.run.trim() === '') throw new SimscopeError('invalid_field', '--run: needs a run name');
    run = await (context.openRun ?? ((name) => openRunWithClient(name, stderr)))(options.run);
    notifiers.push(new RunNotifier(run));
  }
  return {
    samplingInterval,
    monitorTime,
    notifiers,
    run,
    async finish(result) {
      for (const close of closers) await close();
      await run?.close(result.reason === 'aborted' ? 'terminated' : 'completed');
    },
  };
}

async function runLoop(monitor: Monitor, prepared: Prepared, context: CommandContext): Promise<LoopResult> {
  let result: LoopResult = { steps: 0, reason: 'aborted' };
  try {
    result = await monitor.loop(context.signal ? { signal: context.signal } : {});
    return result;
  } finally {
    await prepared.finish(result);
  }
}

function onErrorTo(stderr: Output) {
  return (error: unknown, where: { step?: true }) =>
    stderr.write(
      `simscope monitor: ${where.step ? 'sampling' : 'a notifier'} failed: ${(error as Error)?.message ?? String(error)}\n`,
    );
}

/**
 * `simscope monitor disk`: samples the free space of `path` every interval, for the given time, and notifies
 * when it drops under `minFree` (and when it recovers).
 * @example
 * await monitorDisk({ path: '/scratch', minFree: '500GB', interval: '60s', for: '24h' }, { env: process.env });
 */
export async function monitorDisk(
  options: MonitorDiskOptions,
  context: CommandContext = {},
): Promise<LoopResult> {
  if (!options.path) throw new SimscopeError('invalid_field', '--path: the path to watch is required');
  const minFree = parseSize(options.minFree, '--min-free');
  const prepared = await prepare(options, context);
  const monitor = new DiskSpaceMonitor({
    path: options.path,
    minFreeBytes: minFree,
    samplingSeconds: prepared.samplingInterval,
    monitorSeconds: prepared.monitorTime,
    notifiers: prepared.notifiers,
    onError: onErrorTo(context.stderr ?? process.stderr),
    storageFile: options.tsv ? options.tsv : false,
    ...(prepared.run ? { run: prepared.run } : {}),
  });
  return runLoop(monitor, prepared, context);
}

/** `simscope monitor system`: samples CPU, memory, swap, network, disks and GPUs, and notifies past thresholds. */
export async function monitorSystem(
  options: MonitorSystemOptions,
  context: CommandContext = {},
): Promise<LoopResult> {
  const thresholds: SystemThresholds = {};
  const set = (key: keyof SystemThresholds, value: string | number | undefined, flag: string) => {
    const n = parseThreshold(value, flag);
    if (n !== undefined) thresholds[key] = n;
  };
  set('cpuPercent', options.cpu, '--cpu');
  set('memoryPercent', options.memory, '--memory');
  set('swapPercent', options.swap, '--swap');
  set('gpuPercent', options.gpu, '--gpu');
  set('gpuMemoryPercent', options.gpuMemory, '--gpu-memory');
  set('gpuTemperatureC', options.gpuTemperature, '--gpu-temperature');
  const prepared = await prepare(options, context);
  const monitor = new SystemMonitor({
    thresholds,
    samplingSeconds: prepared.samplingInterval,
    monitorSeconds: prepared.monitorTime,
    notifiers: prepared.notifiers,
    onError: onErrorTo(context.stderr ?? process.stderr),
    ...(options.tsv ? { tsvFile: options.tsv } : {}),
    ...(prepared.run ? { run: prepared.run } : {}),
  });
  return runLoop(monitor, prepared, context);
}

/**
 * `simscope monitor runs`: polls the runs matching `filter` every interval and notifies when one fails or goes
 * lost, or, with `metric` and `stale`, when a running one stops reporting the metric. Reads runs with the Node
 * Client (`context.client`, default one made from the environment and config files).
 * @example
 * await monitorRuns({ filter: 'tags contains "nightly"', metric: 'loss', stale: '10m', webhook: [url] });
 */
export async function monitorRuns(
  options: MonitorRunsOptions,
  context: CommandContext & { client?: RunsClient } = {},
): Promise<LoopResult> {
  if (typeof options.filter !== 'string') {
    throw new SimscopeError(
      'invalid_field',
      '--filter: give the runs to watch, e.g. --filter \'tags contains "nightly"\'',
    );
  }
  const statuses = list(options.status);
  const unknown = statuses.find((s) => !(RUN_STATUSES as readonly string[]).includes(s));
  if (unknown !== undefined) {
    throw new SimscopeError(
      'invalid_field',
      `--status: '${unknown}' is not a run status (${RUN_STATUSES.join(', ')})`,
    );
  }
  if ((options.metric === undefined) !== (options.stale === undefined)) {
    throw new SimscopeError('invalid_field', '--stale: give --metric and --stale together');
  }
  const stale = options.stale === undefined ? undefined : parseSeconds(options.stale, '--stale');
  const client = context.client ?? new (await import('@simscope/client')).Client();
  const prepared = await prepare(options, context);
  const monitor = new RunsMonitor({
    client,
    filter: options.filter,
    ...(statuses.length > 0 ? { statuses: statuses as RunStatus[] } : {}),
    ...(options.metric === undefined ? {} : { metric: options.metric, staleSeconds: stale }),
    samplingSeconds: prepared.samplingInterval,
    monitorSeconds: prepared.monitorTime,
    notifiers: prepared.notifiers,
    onError: onErrorTo(context.stderr ?? process.stderr),
  });
  return runLoop(monitor, prepared, context);
}

/** What `alertsList` reads alerts with: `Client` from `@simscope/client` fits. */
export interface AlertsClient {
  getAlerts(options: { run: string; critical?: boolean }): Promise<RunAlertView[]>;
  getAlerts(options?: { critical?: boolean }): Promise<AlertListItem[]>;
}

/** `simscope alerts list [--run NAME] [--critical] [--json]` */
export interface AlertsListOptions {
  run?: string;
  critical?: boolean;
  json?: boolean;
}

/** What an alert watches, in a few words: `average(loss) over 60s is above 0.5, every 30s`. */
export function describeAlert(a: AlertView): string {
  const s = (v: number | null) => `${v}s`;
  if (a.source === 'user') return 'set by the run';
  if (a.source === 'events') {
    const what = a.match === 'regex' ? `/${a.pattern}/` : `'${a.pattern}'`;
    return `events matching ${what} over ${s(a.window)}, every ${s(a.frequency)}`;
  }
  const limit =
    a.rule === 'is above' || a.rule === 'is below'
      ? `${a.rule} ${a.threshold}`
      : `${a.rule} [${a.rangeLow}, ${a.rangeHigh}]`;
  return `${a.aggregation}(${a.metric}) over ${s(a.window)} ${limit}, every ${s(a.frequency)}`;
}

function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const when = (micros: number) => new Date(Math.floor(micros / 1000)).toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * `simscope alerts list`: the workspace's alerts with their counts of runs and critical runs, or with `run`, that
 * run's alerts and states. Writes the table (or JSON) to stdout and returns it.
 */
export async function alertsList(
  options: AlertsListOptions,
  context: { stdout?: Output; client?: AlertsClient } = {},
): Promise<string> {
  const client: AlertsClient = context.client ?? new (await import('@simscope/client')).Client();
  const critical = options.critical === true;
  let text: string;
  if (options.run !== undefined) {
    const items = await client.getAlerts({ run: options.run, critical });
    text = options.json
      ? JSON.stringify(items, null, 2)
      : items.length === 0
        ? `no ${critical ? 'critical ' : ''}alerts on run '${options.run}'`
        : table([
            ['NAME', 'STATE', 'SINCE', 'VALUE', 'WATCHES'],
            ...items.map((i) => [
              i.alert.name,
              i.state,
              when(i.since),
              i.value === null ? '-' : String(i.value),
              describeAlert(i.alert),
            ]),
          ]);
  } else {
    const items = await client.getAlerts({ critical });
    text = options.json
      ? JSON.stringify(items, null, 2)
      : items.length === 0
        ? `no ${critical ? 'critical ' : ''}alerts`
        : table([
            ['NAME', 'SOURCE', 'RUNS', 'CRITICAL', 'NOTIFY', 'WATCHES'],
            ...items.map((a) => [
              a.name,
              a.source,
              String(a.runs),
              String(a.critical),
              a.notification.length === 0 ? 'none' : a.notification.join(','),
              describeAlert(a),
            ]),
          ]);
  }
  (context.stdout ?? process.stdout).write(`${text}\n`);
  return text;
}

import type { MetricInfo, RunInfo } from '@simscope/client';
import type { Command } from 'commander';
import { type CliContext, clientOf, intOption, withConnectionOptions, withExamples } from '../context.js';
import { UsageError } from '../errors.js';
import {
  cell,
  checkFormat,
  FORMATS,
  formatDuration,
  isoTime,
  localTime,
  renderCsv,
  renderFields,
  renderTable,
  toJson,
  valueAt,
} from '../output.js';
import { collectWithProgress } from '../progress.js';

/** A column of a run listing: its header and how to print a run's value for a table and for CSV. */
interface RunColumn {
  header: string;
  table(run: RunInfo): string;
  csv(run: RunInfo): string;
}

function duration(run: RunInfo, now: number): string {
  if (run.started === null) return '';
  return formatDuration(((run.ended ?? now) - run.started) / 1e6);
}

const TIME_FIELDS = ['created', 'started', 'ended', 'heartbeat'] as const;

function column(name: string, now: number): RunColumn {
  if ((TIME_FIELDS as readonly string[]).includes(name)) {
    const field = name as (typeof TIME_FIELDS)[number];
    return { header: name, table: (r) => localTime(r[field]), csv: (r) => isoTime(r[field]) };
  }
  if (name === 'duration') {
    return {
      header: name,
      table: (r) => duration(r, now),
      csv: (r) => (r.started === null ? '' : String(((r.ended ?? now) - r.started) / 1e6)),
    };
  }
  if (name === 'tags') {
    return { header: name, table: (r) => r.tags.join(','), csv: (r) => r.tags.join(',') };
  }
  return { header: name, table: (r) => cell(valueAt(r, name)), csv: (r) => cell(valueAt(r, name)) };
}

const TABLE_COLUMNS = 'name,id,status,folder,created,duration,tags';
const CSV_COLUMNS = 'id,name,status,folder,user,created,started,ended,tags,description';

/** Prints runs in the chosen format: the API's objects as JSON, or chosen columns as a table or CSV. */
export function renderRuns(runs: readonly RunInfo[], format: string, columns: string | undefined): string {
  if (format === 'json') return toJson(runs);
  const now = Date.now() * 1000;
  const cols = (columns ?? (format === 'csv' ? CSV_COLUMNS : TABLE_COLUMNS))
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '')
    .map((c) => column(c, now));
  const header = cols.map((c) => c.header);
  if (format === 'csv')
    return renderCsv(
      header,
      runs.map((r) => cols.map((c) => c.csv(r))),
    );
  return renderTable(
    header,
    runs.map((r) => cols.map((c) => c.table(r))),
  );
}

function showRun(run: RunInfo, metrics: readonly MetricInfo[]): string {
  const now = Date.now() * 1000;
  const fields: [string, string][] = [
    ['id', run.id],
    ['name', run.name],
    ['status', run.status],
    ['folder', run.folder],
    ['user', run.user ?? ''],
    ['description', run.description ?? ''],
    ['tags', run.tags.join(', ')],
    ['created', localTime(run.created)],
    ['started', localTime(run.started)],
    ['ended', localTime(run.ended)],
    ['duration', duration(run, now)],
    ['heartbeat', localTime(run.heartbeat)],
  ];
  if (run.abort.requested)
    fields.push(['abort', `requested ${localTime(run.abort.at)}: ${run.abort.reason ?? ''}`]);
  for (const [k, v] of Object.entries(run.metadata)) fields.push([`metadata.${k}`, cell(v)]);
  for (const [k, v] of Object.entries(run.system)) fields.push([`system.${k}`, cell(v)]);
  let out = renderFields(fields);
  if (metrics.length > 0) {
    out += `\n${renderTable(
      ['metric', 'count', 'last step', 'last', 'min', 'max'],
      metrics.map((m) => [
        m.name,
        String(m.count),
        cell(m.last.step),
        cell(m.last.value),
        cell(m.min),
        cell(m.max),
      ]),
    )}`;
  }
  return out;
}

async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** Asks before a destructive action on a terminal; elsewhere, `--yes` is required. */
export async function confirmOrYes(yes: boolean | undefined, question: string): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) throw new UsageError(`${question} Pass --yes to confirm.`);
  if (!(await confirm(question))) throw new UsageError('cancelled');
}

export function registerRunsCommands(program: Command, ctx: CliContext): void {
  const runs = withExamples(program.command('runs').description('list, show, abort and delete runs'), [
    'simscope runs list --filter "status == running"',
    'simscope runs show cavity-re100',
  ]);

  withExamples(
    withConnectionOptions(
      runs
        .command('list')
        .description('list runs, newest first')
        .option('-f, --filter <filter>', 'filter (docs/filter-language.md)')
        .option(
          '-s, --sort <field>',
          'created, started, ended, heartbeat, name or status; - for descending',
          '-created',
        )
        .option('-n, --limit <n>', 'at most this many runs', intOption('--limit'), 100)
        .option('-a, --all', 'every matching run (ignores --limit)')
        .option('--columns <list>', 'comma-separated columns for table and csv, e.g. name,status,metadata.re')
        .option('--format <format>', 'table, json or csv', 'table'),
    ),
    [
      'simscope runs list',
      'simscope runs list --filter "status == failed and created < 24h" --limit 20',
      "simscope runs list --filter 'metadata.re > 500' --sort name --all --format csv > runs.csv",
      'simscope runs list --columns name,status,metadata.re,duration',
      'simscope runs list --format json | jq -r ".[].id"',
    ],
  ).action(async (options, command: Command) => {
    const format = checkFormat(options.format, FORMATS);
    const pages = clientOf(ctx, command).pages('listRuns', {
      query: { filter: options.filter || undefined, sort: options.sort },
      limit: options.all ? Number.POSITIVE_INFINITY : options.limit,
      pageSize: 1000,
    });
    const items = await collectWithProgress(pages, 'runs', ctx.stderr);
    ctx.stdout.write(renderRuns(items, format, options.columns));
  });

  withExamples(
    withConnectionOptions(
      runs
        .command('show')
        .description("a run's details and its metrics")
        .argument('<run>', 'run id or name')
        .option('--format <format>', 'table or json', 'table'),
    ),
    ['simscope runs show cavity-re100', 'simscope runs show tOvV8XsHeall0I93 --format json | jq .metadata'],
  ).action(async (runArg: string, options, command: Command) => {
    const format = checkFormat(options.format, ['table', 'json'] as const);
    const client = clientOf(ctx, command);
    const run = await client.call('getRun', { params: { run: runArg } });
    const metrics = (await client.call('listMetricNames', { params: { run: run.id } })).items;
    ctx.stdout.write(format === 'json' ? toJson({ ...run, metrics }) : showRun(run, metrics));
  });

  withExamples(
    withConnectionOptions(
      runs
        .command('delete')
        .description('delete runs with all their metrics, events and files')
        .argument('<runs...>', 'run ids or names')
        .option('-y, --yes', 'do not ask for confirmation'),
    ),
    ['simscope runs delete cavity-re100', 'simscope runs delete run-a run-b --yes'],
  ).action(async (names: string[], options, command: Command) => {
    const client = clientOf(ctx, command);
    await confirmOrYes(
      options.yes,
      `Delete ${names.length === 1 ? `run ${names[0]}` : `${names.length} runs`}?`,
    );
    for (const name of names) {
      await client.call('deleteRun', { params: { run: name } });
      ctx.stdout.write(`deleted ${name}\n`);
    }
  });

  withExamples(
    withConnectionOptions(
      runs
        .command('abort')
        .description('ask a running run to stop (a sidecar passes SIGTERM to its program)')
        .argument('<run>', 'run id or name')
        .option('--reason <text>', 'why'),
    ),
    ['simscope runs abort cavity-re100 --reason "diverging"'],
  ).action(async (runArg: string, options, command: Command) => {
    await clientOf(ctx, command).call('requestAbort', {
      params: { run: runArg },
      body: options.reason ? { reason: options.reason } : {},
    });
    ctx.stdout.write(`abort requested for ${runArg}\n`);
  });
}

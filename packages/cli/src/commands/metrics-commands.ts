import { type JsonNumber, paginate } from '@simscope/protocol';
import type { Command } from 'commander';
import { type CliContext, clientOf, intOption, withConnectionOptions, withExamples } from '../context.js';
import { cell, checkFormat, renderCsv, renderTable, toJson } from '../output.js';

/** One metric's points, as the series route answers them in JSON. */
interface SeriesColumns {
  name: string;
  steps: number[];
  times: number[];
  timestamps: number[];
  values: JsonNumber[];
}

export function registerMetricsCommands(program: Command, ctx: CliContext): void {
  const metrics = withExamples(program.command('metrics').description("list and download a run's metrics"), [
    'simscope metrics list cavity-re100',
    'simscope metrics get cavity-re100 residual/p cfl --format csv > metrics.csv',
  ]);

  withExamples(
    withConnectionOptions(
      metrics
        .command('list')
        .description("a run's metrics: point count, last point, least and greatest value")
        .argument('<run>', 'run id or name')
        .option('--format <format>', 'table, json or csv', 'table'),
    ),
    ['simscope metrics list cavity-re100', 'simscope metrics list cavity-re100 --format json'],
  ).action(async (run: string, options, command: Command) => {
    const format = checkFormat(options.format, ['table', 'json', 'csv'] as const);
    const items = (await clientOf(ctx, command).call('listMetricNames', { params: { run } })).items;
    if (format === 'json') {
      ctx.stdout.write(toJson(items));
      return;
    }
    const header = ['name', 'count', 'last_step', 'last_time', 'last_value', 'min', 'max'];
    const rows = items.map((m) => [
      m.name,
      String(m.count),
      cell(m.last.step),
      cell(m.last.time),
      cell(m.last.value),
      cell(m.min),
      cell(m.max),
    ]);
    ctx.stdout.write(format === 'csv' ? renderCsv(header, rows) : renderTable(header, rows));
  });

  withExamples(
    withConnectionOptions(
      metrics
        .command('get')
        .description('every point of metrics: step, time (s since start), timestamp (µs), value')
        .argument('<run>', 'run id or name')
        .argument('<names...>', 'metric names')
        .option('--from <step>', 'first step (inclusive)', intOption('--from', 0))
        .option('--to <step>', 'last step (exclusive)', intOption('--to', 0))
        .option('--format <format>', 'csv (one row per point) or json (columns per metric)', 'csv'),
    ),
    [
      'simscope metrics get cavity-re100 residual/p',
      'simscope metrics get cavity-re100 residual/p cfl --from 100 --to 200',
      'simscope metrics get cavity-re100 energy --format json | jq ".[0].values | max"',
    ],
  ).action(async (run: string, names: string[], options, command: Command) => {
    const format = checkFormat(options.format, ['csv', 'json'] as const);
    const client = clientOf(ctx, command);
    const out: SeriesColumns[] = [];
    for (const name of names) {
      const series: SeriesColumns = { name, steps: [], times: [], timestamps: [], values: [] };
      const pages = paginate(async (next) => {
        const page = await client.call('readSeries', {
          params: { run },
          query: { name, from: options.from, to: options.to, next: next ?? undefined },
        });
        return { items: [page], next: page.next };
      });
      for await (const [page] of pages) {
        if (!page) continue;
        for (const [k, v] of [
          ['steps', page.steps],
          ['times', page.times],
          ['timestamps', page.timestamps],
          ['values', page.values],
        ] as const) {
          for (const x of v ?? []) (series[k] as JsonNumber[]).push(x);
        }
      }
      out.push(series);
    }
    if (format === 'json') {
      ctx.stdout.write(toJson(out));
      return;
    }
    const rows: string[][] = [];
    for (const s of out) {
      for (let i = 0; i < s.values.length; i++) {
        rows.push([
          s.name,
          String(s.steps[i]),
          String(s.times[i]),
          String(s.timestamps[i]),
          String(s.values[i]),
        ]);
      }
    }
    ctx.stdout.write(renderCsv(['name', 'step', 'time', 'timestamp', 'value'], rows));
  });
}

import { type ArtifactInfo, Client } from '@simscope/client';
import { ARTIFACT_CATEGORIES, type ArtifactCategory } from '@simscope/protocol';
import { type Command, Option } from 'commander';
import { type CliContext, connectionOf, withConnectionOptions, withExamples } from '../context.js';
import { checkFormat, FORMATS, localTime, renderCsv, renderTable, toJson } from '../output.js';

function withFilterOptions(command: Command): Command {
  return command
    .addOption(new Option('--category <category>', 'only this category').choices(ARTIFACT_CATEGORIES))
    .option('--startswith <text>', 'names that start with this')
    .option('--contains <text>', 'names that contain this')
    .option('--endswith <text>', 'names that end with this');
}

function filterOf(o: {
  category?: ArtifactCategory;
  startswith?: string;
  contains?: string;
  endswith?: string;
}) {
  return { category: o.category, startsWith: o.startswith, contains: o.contains, endsWith: o.endswith };
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

export function registerArtifactsCommands(program: Command, ctx: CliContext): void {
  const artifacts = withExamples(
    program.command('artifacts').description("list and download a run's files"),
    [
      'simscope artifacts list cavity-re100 --category output',
      'simscope artifacts get cavity-re100 --startswith system/ --out ./case',
    ],
  );

  withExamples(
    withConnectionOptions(
      withFilterOptions(
        artifacts.command('list').description("a run's artifacts").argument('<run>', 'run id or name'),
      ).option('--format <format>', 'table, json or csv', 'table'),
    ),
    ['simscope artifacts list cavity-re100 --endswith .vtk --format json'],
  ).action(async (run: string, o, command: Command) => {
    const format = checkFormat(o.format, FORMATS);
    const items: ArtifactInfo[] = await new Client(connectionOf(ctx, command)).listArtifacts(
      run,
      filterOf(o),
    );
    if (format === 'json') {
      ctx.stdout.write(toJson(items));
      return;
    }
    const header = ['name', 'category', 'type', 'size', 'created', 'sha256'];
    const rows = items.map((a) => [
      a.name,
      a.category,
      a.mimeType,
      format === 'csv' ? String(a.size) : bytes(a.size),
      format === 'csv' ? String(a.created) : localTime(a.created),
      a.sha256,
    ]);
    ctx.stdout.write(format === 'csv' ? renderCsv(header, rows) : renderTable(header, rows));
  });

  withExamples(
    withConnectionOptions(
      withFilterOptions(
        artifacts
          .command('get')
          .description("download a run's artifacts (all, or those the filters pick), keeping their paths")
          .argument('<run>', 'run id or name')
          .argument('[names...]', 'these artifacts only'),
      ).option('--out <dir>', 'where to write them', '.'),
    ),
    [
      'simscope artifacts get cavity-re100 result.dat',
      'simscope artifacts get cavity-re100 --category input --out in/',
    ],
  ).action(async (run: string, names: string[], o, command: Command) => {
    const client = new Client(connectionOf(ctx, command));
    const listed = await client.listArtifacts(run, filterOf(o));
    const wanted = names.length > 0 ? listed.filter((a) => names.includes(a.name)) : listed;
    const missing = names.filter((n) => !listed.some((a) => a.name === n));
    if (missing.length > 0)
      throw new Error(`run '${run}' has no artifact ${missing.map((n) => `'${n}'`).join(', ')}`);
    const total = wanted.reduce((sum, a) => sum + a.size, 0);
    const tty = ctx.stderr.isTTY === true;
    let done = 0;
    let doneBytes = 0;
    // One at a time keeps the progress line honest; each file streams at full speed.
    for (const a of wanted) {
      const path = await client.getArtifactAsFile(run, a.name, { path: o.out });
      done++;
      doneBytes += a.size;
      if (tty)
        ctx.stderr.write(
          `\r\x1b[2Kdownloaded ${done}/${wanted.length} files, ${bytes(doneBytes)} of ${bytes(total)}`,
        );
      else ctx.stdout.write(`${path}\n`);
    }
    if (tty && wanted.length > 0) ctx.stderr.write('\n');
    if (wanted.length === 0) ctx.stderr.write('simscope: no artifact matches\n');
  });
}

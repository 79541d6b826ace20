import type { Command } from 'commander';
import { type CliContext, clientOf, intOption, withConnectionOptions, withExamples } from '../context.js';
import {
  cell,
  checkFormat,
  FORMATS,
  localTime,
  renderCsv,
  renderFields,
  renderTable,
  toJson,
} from '../output.js';
import { collectWithProgress } from '../progress.js';
import { renderRuns } from './runs-commands.js';

/** A filter-language string literal. */
function filterString(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

export function registerFoldersCommands(program: Command, ctx: CliContext): void {
  const folders = withExamples(program.command('folders').description('list and show folders of runs'), [
    'simscope folders list --prefix /cfd',
    'simscope folders show /cfd/cavity',
  ]);

  withExamples(
    withConnectionOptions(
      folders
        .command('list')
        .description('folders by path')
        .option('--prefix <path>', 'this folder and everything below it')
        .option('--parent <path>', 'direct children of this folder')
        .option('-n, --limit <n>', 'at most this many', intOption('--limit'))
        .option('--format <format>', 'table, json or csv', 'table'),
    ),
    ['simscope folders list', 'simscope folders list --parent /cfd --format json'],
  ).action(async (options, command: Command) => {
    const format = checkFormat(options.format, FORMATS);
    const pages = clientOf(ctx, command).pages('listFolders', {
      query: { prefix: options.prefix, parent: options.parent },
      limit: options.limit ?? Number.POSITIVE_INFINITY,
      pageSize: 1000,
    });
    const items = await collectWithProgress(pages, 'folders', ctx.stderr);
    if (format === 'json') {
      ctx.stdout.write(toJson(items));
      return;
    }
    const header = ['path', 'id', 'description', 'tags', 'created'];
    const rows = items.map((f) => [
      f.path,
      f.id,
      f.description ?? '',
      f.tags.join(','),
      format === 'csv' ? String(f.created) : localTime(f.created),
    ]);
    ctx.stdout.write(format === 'csv' ? renderCsv(header, rows) : renderTable(header, rows));
  });

  withExamples(
    withConnectionOptions(
      folders
        .command('show')
        .description('a folder: description, tags, metadata, and its runs (newest first)')
        .argument('<folder>', 'folder path or id')
        .option('-n, --limit <n>', 'at most this many runs', intOption('--limit'), 100)
        .option('--format <format>', 'table or json', 'table'),
    ),
    ['simscope folders show /cfd/cavity', 'simscope folders show /cfd/cavity --format json'],
  ).action(async (folderArg: string, options, command: Command) => {
    const format = checkFormat(options.format, ['table', 'json'] as const);
    const client = clientOf(ctx, command);
    const folder = await client.call('getFolder', { params: { folder: folderArg } });
    const pages = client.pages('listRuns', {
      query: { filter: `folder == ${filterString(folder.path)}` },
      limit: options.limit,
      pageSize: 1000,
    });
    const runs = await collectWithProgress(pages, 'runs', ctx.stderr);
    if (format === 'json') {
      ctx.stdout.write(toJson({ ...folder, runs }));
      return;
    }
    const fields: [string, string][] = [
      ['path', folder.path],
      ['id', folder.id],
      ['description', folder.description ?? ''],
      ['tags', folder.tags.join(', ')],
      ['created', localTime(folder.created)],
    ];
    for (const [k, v] of Object.entries(folder.metadata)) fields.push([`metadata.${k}`, cell(v)]);
    ctx.stdout.write(renderFields(fields));
    ctx.stdout.write(runs.length > 0 ? `\n${renderRuns(runs, 'table', undefined)}` : '\nno runs\n');
  });
}

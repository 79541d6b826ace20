import { Client } from '@simscope/client';
import type { Command } from 'commander';
import { type CliContext, connectionOf, withConnectionOptions, withExamples } from '../context.js';
import { checkFormat, renderTable, toJson } from '../output.js';

export function registerSyncCommand(program: Command, ctx: CliContext): void {
  withExamples(
    withConnectionOptions(
      program
        .command('sync')
        .description(
          'upload the runs kept in the spool (offline runs, and what runs kept while the server was away), then remove them',
        )
        .option(
          '--spool-dir <dir>',
          'the spool (env SIMSCOPE_SPOOL_DIR; default ~/.local/share/simscope/spool)',
        )
        .option('--force', 'also upload spools whose writing process may still be running on another host')
        .option('--format <format>', 'table or json', 'table'),
    ),
    ['simscope sync', 'simscope sync --url http://hpc-login:5280 --format json'],
  ).action(async (o, command: Command) => {
    const format = checkFormat(o.format, ['table', 'json'] as const);
    const client = new Client({ ...connectionOf(ctx, command), spoolDir: o.spoolDir });
    const tty = ctx.stderr.isTTY === true;
    const results = await client.sync({
      force: o.force === true,
      onProgress: (p) => {
        if (tty) ctx.stderr.write(`\rsyncing ${p.runsDone}/${p.runsTotal} runs`);
      },
    });
    if (tty && results.length > 0) ctx.stderr.write('\n');
    if (format === 'json') {
      ctx.stdout.write(toJson(results));
    } else if (results.length === 0) {
      ctx.stdout.write('nothing to sync\n');
    } else {
      ctx.stdout.write(
        renderTable(
          ['run', 'outcome', 'points', 'events', 'refused', 'note'],
          results.map((r) => [
            r.runId,
            r.outcome,
            String(r.points),
            String(r.events),
            String(r.refused),
            r.reason ?? (r.torn > 0 ? `${r.torn} bytes of a record cut short were left out` : ''),
          ]),
        ),
      );
    }
    if (results.some((r) => r.outcome === 'failed')) ctx.exitCode = 1;
  });
}

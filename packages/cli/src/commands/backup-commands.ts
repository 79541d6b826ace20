import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type CliContext, withExamples } from '../context.js';
import { UsageError } from '../errors.js';
import { loadServerPackage, type ServerPackage } from '../server-package.js';
import { confirmOrYes } from './runs-commands.js';

/** The SQLite file of the server these options (or env, simscope.toml, the user config) name. */
function databaseFile(
  server: ServerPackage,
  options: { db?: string; dataDir?: string },
  ctx: CliContext,
): string {
  const argv = [
    ...(options.db ? ['--db', options.db] : []),
    ...(options.dataDir ? ['--data-dir', options.dataDir] : []),
  ];
  const config = server.loadServerConfig(argv, ctx.env, ctx.cwd);
  return resolve(ctx.cwd, server.sqliteFileOf(config.db, config.dataDir));
}

const DB_OPTIONS = [
  ['--db <file>', 'SQLite file (env SIMSCOPE_DB; default DATA_DIR/simscope.db)'],
  ['--data-dir <dir>', 'data directory (env SIMSCOPE_DATA_DIR; default ~/.local/share/simscope)'],
] as const;

/**
 * `simscope admin backup FILE` and `restore FILE`: they open the server's SQLite file directly (no token, no HTTP),
 * so a backup works the same whether the server runs or not, and a restore can only happen with it stopped.
 */
export function registerBackupCommands(program: Command, ctx: CliContext): void {
  const admin = program.commands.find((c) => c.name() === 'admin');
  if (!admin) throw new Error('the admin command must be registered first');
  const backup = admin
    .command('backup')
    .argument('<file>', 'new file to write the copy to')
    .description("copy the server's SQLite database while it runs (SQLite's online backup; consistent)");
  for (const [flag, help] of DB_OPTIONS) backup.option(flag, help);
  withExamples(backup, [
    'simscope admin backup /backups/simscope-$(date +%F).db',
    'simscope admin backup copy.db --data-dir /var/lib/simscope',
  ]).action(async (file: string, options: { db?: string; dataDir?: string }) => {
    const server = await loadServerPackage('simscope admin backup');
    const source = databaseFile(server, options, ctx);
    const dest = resolve(ctx.cwd, file);
    const { pages } = await server.backupSqlite(source, dest);
    ctx.stdout.write(`backed up ${source} to ${dest} (${pages} pages)\n`);
  });

  const restore = admin
    .command('restore')
    .argument('<file>', 'a file written by simscope admin backup')
    .description("replace the server's SQLite database by a backup (stop the server first)")
    .option('-y, --yes', 'do not ask for confirmation');
  for (const [flag, help] of DB_OPTIONS) restore.option(flag, help);
  withExamples(restore, [
    'simscope admin restore /backups/simscope-2026-01-31.db --data-dir /var/lib/simscope --yes',
  ]).action(async (file: string, options: { db?: string; dataDir?: string; yes?: boolean }) => {
    const server = await loadServerPackage('simscope admin restore');
    const target = databaseFile(server, options, ctx);
    const source = resolve(ctx.cwd, file);
    if (source === target) throw new UsageError('restore: the backup is the database itself');
    await confirmOrYes(options.yes, `Replace ${target} by ${source}?`);
    const { pages } = await server.restoreSqlite(source, target);
    ctx.stdout.write(`restored ${target} from ${source} (${pages} pages)\n`);
  });
}

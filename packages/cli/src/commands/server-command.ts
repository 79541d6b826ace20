import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { withExamples } from '../context.js';
import { loadServerPackage } from '../server-package.js';

const FLAGS = [
  ['host', 'host', 'address to listen on (env SIMSCOPE_HOST; default 127.0.0.1)'],
  ['port', 'port', 'port (env SIMSCOPE_PORT; default 5280; 0 picks a free one)'],
  ['data-dir', 'dir', 'data directory (env SIMSCOPE_DATA_DIR; default ~/.local/share/simscope)'],
  ['db', 'url|file', 'postgres://… URL or SQLite file (env SIMSCOPE_DB; default DATA_DIR/simscope.db)'],
  ['log-level', 'level', 'fatal, error, warn, info, debug, trace or silent (env SIMSCOPE_LOG_LEVEL)'],
  ['body-limit', 'bytes', 'largest request body (env SIMSCOPE_BODY_LIMIT; default 64 MiB)'],
] as const;

/** The server's argv from this command's options, for the server's own config reader. */
function serverArgv(options: Record<string, string | undefined>): string[] {
  const argv: string[] = [];
  for (const [flag] of FLAGS) {
    const key = flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    const value = options[key];
    if (value !== undefined) argv.push(`--${flag}`, value);
  }
  return argv;
}

export function registerServerCommand(program: Command, ctx: CliContext): void {
  const command = program
    .command('server')
    .description(
      'run the Simscope server (the one `npm start` runs); settings: flag > env > simscope.toml > user config',
    );
  for (const [flag, value, help] of FLAGS) command.option(`--${flag} <${value}>`, help);
  withExamples(command.option('--debug', 'print stack traces of errors'), [
    'simscope server',
    'simscope server --port 6000 --data-dir ./simscope-data',
    'simscope server --host 0.0.0.0 --db postgres://simscope:secret@db:5432/simscope',
  ]).action(async (options) => {
    const server = await loadServerPackage('simscope server');
    const config = server.loadServerConfig(serverArgv(options), ctx.env, ctx.cwd);
    await server.startServer(config, {
      bootstrapToken: ctx.env.SIMSCOPE_BOOTSTRAP_TOKEN,
      bootstrap: server.bootstrap,
      saveLocalProfile: server.saveLocalProfile,
      savedToken: server.savedToken,
    });
  });
}

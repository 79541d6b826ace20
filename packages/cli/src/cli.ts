import { SimscopeError } from '@simscope/protocol';
import { Command, CommanderError } from 'commander';
import { registerAdminCommands } from './commands/admin-commands.js';
import { registerArtifactsCommands } from './commands/artifacts-commands.js';
import { registerBackupCommands } from './commands/backup-commands.js';
import { registerEventsCommand } from './commands/events-command.js';
import { registerFoldersCommands } from './commands/folders-commands.js';
import { registerLoginCommands } from './commands/login-commands.js';
import { registerMembersCommands } from './commands/members-commands.js';
import { registerMetricsCommands } from './commands/metrics-commands.js';
import { registerAlertsCommands, registerMonitorCommands } from './commands/monitor-commands.js';
import { registerRunCommand } from './commands/run-command.js';
import { registerRunsCommands } from './commands/runs-commands.js';
import { registerServerCommand } from './commands/server-command.js';
import { registerSweepCommand } from './commands/sweep-command.js';
import { registerSyncCommand } from './commands/sync-command.js';
import { registerTelemetryCommand } from './commands/telemetry-command.js';
import { type CliContext, withConnectionOptions, withExamples } from './context.js';

/** The CLI's version, the same as the packages'. */
const CLI_VERSION = '0.1.0';

/** Builds the `simscope` program with every command. */
export function createProgram(ctx: CliContext): Command {
  const program = new Command('simscope')
    .description('Track any program as a sidecar, query runs from the terminal, and run the Simscope server.')
    .version(CLI_VERSION, '-V, --version')
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(text),
      writeErr: (text) => ctx.stderr.write(text),
    });
  withExamples(withConnectionOptions(program), [
    'simscope server',
    'simscope run --name cavity-re100 -- ./cavity input.nml',
    'simscope runs list --filter "status == running"',
    'simscope events cavity-re100 --follow',
    'simscope run --help',
  ]);
  registerServerCommand(program, ctx);
  registerRunCommand(program, ctx);
  registerSweepCommand(program, ctx);
  registerRunsCommands(program, ctx);
  registerMetricsCommands(program, ctx);
  registerEventsCommand(program, ctx);
  registerFoldersCommands(program, ctx);
  registerArtifactsCommands(program, ctx);
  registerAlertsCommands(program, ctx);
  registerMonitorCommands(program, ctx);
  registerSyncCommand(program, ctx);
  registerTelemetryCommand(program, ctx);
  registerAdminCommands(program, ctx);
  registerMembersCommands(program, ctx);
  registerBackupCommands(program, ctx);
  registerLoginCommands(program, ctx);
  return program;
}

/** The exit code for an error: its own when it has one, else 1. */
function exitCodeOf(error: unknown): number {
  const code = (error as { exitCode?: unknown })?.exitCode;
  return typeof code === 'number' && code > 0 ? code : 1;
}

/**
 * Runs `simscope` with `argv` (the arguments after the program name) and returns the exit code. A failure
 * is one line on stderr (`simscope: …`), with the stack when `--debug` is given or `SIMSCOPE_DEBUG=1`.
 */
export async function main(argv: readonly string[], ctx: CliContext): Promise<number> {
  const program = createProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode ?? 0;
  } catch (error) {
    // Commander has already printed its own message (or the help) to stderr.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const debug = argv.includes('--debug') || ctx.env.SIMSCOPE_DEBUG === '1';
    const message = error instanceof Error ? error.message : String(error);
    ctx.stderr.write(`simscope: ${message.split('\n')[0]}\n`);
    if (debug) {
      for (let e: unknown = error; e instanceof Error; e = e.cause) ctx.stderr.write(`${e.stack}\n`);
    }
    if (error instanceof SimscopeError || error instanceof Error) return exitCodeOf(error);
    return 1;
  }
}

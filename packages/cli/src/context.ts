import { Client, type ResolvedConnection } from '@simscope/client';
import { type Command, Option } from 'commander';
import { type ConnectionFlags, resolveConnection } from './connection.js';
import { CliError, UsageError } from './errors.js';

/** Where a command writes, and how it reaches the server; one per `simscope` invocation. */
export interface CliContext {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Set by a command that ends with a code other than 0 without an error (`simscope run`). */
  exitCode?: number;
  /** Set by `simscope run` when the program died of a signal that the sidecar should die of too. */
  exitSignal?: NodeJS.Signals;
}

/** The connection flags of a command, merged with the program's. */
export function flagsOf(command: Command): ConnectionFlags & { debug?: boolean } {
  return command.optsWithGlobals();
}

export function connectionOf(ctx: CliContext, command: Command): ResolvedConnection {
  return resolveConnection(flagsOf(command), ctx.env, ctx.cwd);
}

/** A client for the command's connection; refused without a token, as every API call needs one. */
export function clientOf(ctx: CliContext, command: Command): Client {
  return clientFor(connectionOf(ctx, command));
}

export function clientFor(connection: ResolvedConnection): Client {
  if (!connection.token) {
    throw new CliError(
      'unauthorized',
      `no token for ${connection.url}: run 'simscope login --url URL', set SIMSCOPE_TOKEN, or start the server once (it saves one to the user config)`,
    );
  }
  return new Client({ connection });
}

/** Adds `--url`, `--token`, `--workspace`, `--profile` and `--debug` to a command. */
export function withConnectionOptions(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'server URL (env SIMSCOPE_URL)'))
    .addOption(new Option('--token <token>', 'API token (env SIMSCOPE_TOKEN)'))
    .addOption(new Option('--workspace <name>', 'workspace to use (env SIMSCOPE_WORKSPACE)'))
    .addOption(new Option('--profile <name>', 'profile of the user config (env SIMSCOPE_PROFILE)'))
    .addOption(new Option('--debug', 'print stack traces of errors'));
}

/** Appends an Examples section to a command's help. */
export function withExamples(command: Command, examples: readonly string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
}

/** Collects a repeatable option's values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A whole number ≥ `min` from an option. */
export function intOption(name: string, min = 1): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min)
      throw new UsageError(`${name}: must be a whole number ≥ ${min}, got '${value}'`);
    return n;
  };
}

import { Client, type ConnectionOptions, Run } from '@simscope/client';
import { alertsList, type CommandRun, monitorDisk, monitorRuns, monitorSystem } from '@simscope/monitor';
import type { Command } from 'commander';
import { type CliContext, collect, connectionOf, withConnectionOptions, withExamples } from '../context.js';

/** Takes up the run named `name` on the CLI's server, or creates it. */
async function openRun(connection: ConnectionOptions, name: string, ctx: CliContext): Promise<CommandRun> {
  const config = {
    ...connection,
    suppressErrors: false,
    onError: (error: unknown) => ctx.stderr.write(`simscope: ${(error as Error).message ?? String(error)}\n`),
  };
  try {
    const found = await new Client(connection).getRun(name);
    return await Run.reconnect(found.id, config);
  } catch (error) {
    if ((error as { code?: string }).code !== 'not_found') throw error;
    return new Run().config(config).init({ name });
  }
}

function withMonitorOptions(command: Command, samples = true): Command {
  command
    .option('--interval <time>', 'between samples: 60s, 5m, or seconds', '60s')
    .option('--for <time>', 'how long to watch: 24h, 30m, or seconds (default: until Ctrl-C)')
    .option('--email <address>', 'email notifications here (needs SIMSCOPE_SMTP_HOST); repeatable', collect)
    .option('--webhook <url>', 'POST notifications here as JSON; repeatable', collect)
    .option('--run <name>', 'log samples to this run as metrics, notifications as events');
  if (samples) command.option('--tsv <file>', 'append each sample to this TSV file');
  return withConnectionOptions(command.option('--quiet', 'no notifications on stdout'));
}

export function registerMonitorCommands(program: Command, ctx: CliContext): void {
  const monitor = withExamples(
    program.command('monitor').description('watch disk space, the system or other runs, and notify'),
    [
      'simscope monitor disk --path /scratch --min-free 500GB --interval 60s --for 24h --email me@lab.org',
      'simscope monitor system --cpu 95 --memory 90 --webhook https://hooks.example.org/x --run node-17',
      'simscope monitor runs --filter \'tags contains "nightly"\' --metric loss --stale 10m --email me@lab.org',
    ],
  );
  const run = async (
    command: Command,
    body: (context: Parameters<typeof monitorDisk>[1]) => Promise<unknown>,
  ) => {
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const connection = connectionOf(ctx, command);
      await body({
        stdout: ctx.stdout,
        stderr: ctx.stderr,
        env: ctx.env,
        signal: stop.signal,
        openRun: (name) => openRun(connection, name, ctx),
      });
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  };

  withExamples(
    withMonitorOptions(
      monitor
        .command('disk')
        .description('free space of a path: notify when it drops below --min-free, and when it recovers')
        .requiredOption('--path <path>', 'the file system to watch, by any path on it')
        .requiredOption('--min-free <size>', 'notify below this much free space: 500GB, 1.5TiB, or bytes'),
    ),
    ['simscope monitor disk --path /scratch --min-free 500GB --for 24h --tsv disk.tsv'],
  ).action(async (o, command: Command) => {
    await run(command, (context) => monitorDisk({ ...o, path: o.path, minFree: o.minFree }, context));
  });

  withExamples(
    withMonitorOptions(
      monitor
        .command('system')
        .description('CPU, memory, swap, network, disks and GPUs: notify past the thresholds given')
        .option('--cpu <percent>', 'CPU use above this')
        .option('--memory <percent>', 'memory use above this')
        .option('--swap <percent>', 'swap use above this')
        .option('--gpu <percent>', 'GPU utilisation above this')
        .option('--gpu-memory <percent>', 'GPU memory use above this')
        .option('--gpu-temperature <celsius>', 'GPU temperature above this'),
    ),
    ['simscope monitor system --cpu 95 --memory 90 --interval 30s --for 8h'],
  ).action(async (o, command: Command) => {
    await run(command, (context) => monitorSystem(o, context));
  });

  withExamples(
    withMonitorOptions(
      monitor
        .command('runs')
        .description('other runs: notify when one fails or goes lost, or stops reporting a metric')
        .requiredOption('--filter <filter>', "the runs to watch, in the filter language ('' for all)")
        .option('--status <statuses>', 'statuses to notify on (default failed,lost); repeatable', collect)
        .option('--metric <name>', 'a metric running runs must keep reporting (with --stale)')
        .option('--stale <time>', 'how long --metric may stay silent: 10m, 1h, or seconds'),
      false,
    ),
    [
      'simscope monitor runs --filter \'folder = "/cfd"\' --interval 1m --webhook https://hooks.example.org/x',
    ],
  ).action(async (o, command: Command) => {
    const client = new Client(connectionOf(ctx, command));
    await run(command, (context) => monitorRuns(o, { ...context, client }));
  });
}

export function registerAlertsCommands(program: Command, ctx: CliContext): void {
  const alerts = withExamples(program.command('alerts').description('alerts and their states'), [
    'simscope alerts list',
    'simscope alerts list --run cavity-re100 --critical',
  ]);
  withExamples(
    withConnectionOptions(
      alerts
        .command('list')
        .description("the workspace's alerts with their runs, or one run's alerts and states")
        .option('--run <name>', "this run's alerts and their states")
        .option('--critical', 'only alerts that are critical')
        .option('--format <format>', 'table or json', 'table'),
    ),
    ['simscope alerts list --format json'],
  ).action(async (o, command: Command) => {
    const client = new Client(connectionOf(ctx, command));
    await alertsList(
      { run: o.run, critical: o.critical === true, json: o.format === 'json' },
      { stdout: ctx.stdout, client },
    );
  });
}

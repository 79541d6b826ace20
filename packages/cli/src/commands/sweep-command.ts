import { writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Client } from '@simscope/client';
import type { Json } from '@simscope/protocol';
import { type Command, Option } from 'commander';
import {
  type CliContext,
  clientFor,
  collect,
  connectionOf,
  intOption,
  withConnectionOptions,
  withExamples,
} from '../context.js';
import { UsageError } from '../errors.js';
import { EVENT_MODES } from '../sidecar/sidecar.js';
import { EMIT_TARGETS, pbsArrayScript, slurmArrayScript } from '../sweep/batch-scripts.js';
import { type PointOutcome, runSweepLocally } from '../sweep/local-sweep-runner.js';
import {
  expandPoints,
  groupsFromFlags,
  type ParameterGroup,
  readSweepFile,
  substituteCommand,
} from '../sweep/parameter-space.js';
import { type PointLaunch, type SweepSpec, sweepFromMetadata, sweepMetadata } from '../sweep/sweep-spec.js';

/** Run statuses after which a point counts as done; a point whose last run ended otherwise is rerun. */
const RERUN_STATUSES = new Set(['failed', 'lost', 'terminated']);

async function folderMetadata(client: Client, path: string): Promise<Record<string, Json> | null> {
  const [folder] = (await client.call('listFolders', { query: { path } })).items;
  return folder ? (folder.metadata as Record<string, Json>) : null;
}

/** For each point, its last run (highest attempt) in the sweep's folder. */
async function lastRuns(
  client: Client,
  spec: SweepSpec,
): Promise<Map<number, { status: string; attempt: number }>> {
  const runs = await client.runs.listAll({ folder: spec.folder });
  const last = new Map<number, { status: string; attempt: number }>();
  for (const run of runs.items) {
    const sweep = run.metadata.sweep as { point?: unknown; attempt?: unknown } | undefined;
    if (typeof sweep?.point !== 'number') continue;
    const attempt = typeof sweep.attempt === 'number' ? sweep.attempt : 0;
    const seen = last.get(sweep.point);
    if (!seen || attempt > seen.attempt) last.set(sweep.point, { status: run.status, attempt });
  }
  return last;
}

/** The points to launch again: those whose last run failed, was lost or terminated, or that never ran. */
async function failedLaunches(client: Client, spec: SweepSpec): Promise<PointLaunch[]> {
  const last = await lastRuns(client, spec);
  return expandPoints(spec.groups).flatMap((point) => {
    const run = last.get(point.index);
    if (run === undefined) return [{ point, attempt: 0 }];
    return RERUN_STATUSES.has(run.status) ? [{ point, attempt: run.attempt + 1 }] : [];
  });
}

function describePoint(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

function describeOutcome(o: PointOutcome): string {
  if (o.signal) return `killed by ${o.signal}`;
  return o.code === 0 ? 'completed' : `failed (exit code ${o.code})`;
}

export function registerSweepCommand(program: Command, ctx: CliContext): void {
  const command = program
    .command('sweep')
    .description(
      'run a program over a grid or list of parameters: each point a run in the sweep folder, locally N at a time or as a SLURM/PBS job array',
    )
    .argument(
      '[command...]',
      'the program and its arguments, with {name} for a parameter and {point} for the index',
    )
    .option(
      '-p, --param <name=values>',
      'a parameter and its values, comma-separated; repeat for more',
      collect,
    )
    .option('--file <path>', 'parameters from a TOML, YAML or JSON file (name = [values], [zip], [[points]])')
    .option('--zip', 'the -p parameters vary together (one point per position) instead of as a grid')
    .option(
      '--folder <path>',
      'the sweep folder: its metadata keeps the parameter space, its runs the points',
    )
    .option('--name <prefix>', "run names are <prefix>-<point> (default: the folder's last part)")
    .option(
      '-j, --parallel <n>',
      'points at a time (locally; with --emit slurm, array tasks at a time)',
      intOption('--parallel'),
    )
    .addOption(
      new Option('--emit <scheduler>', 'write a job-array script instead of running').choices(EMIT_TARGETS),
    )
    .option('-o, --output <file>', 'with --emit: write the script here (default: standard output)')
    .option(
      '--directive <text>',
      'with --emit: an extra #SBATCH or #PBS line, e.g. --time=02:00:00; repeat for more',
      collect,
    )
    .option(
      '--retry-failed',
      'launch again only the points whose last run failed, was lost or terminated, or never ran',
    )
    .option(
      '--log-dir <dir>',
      'keep the output of each point in <dir>/point-<i>.log (it is recorded as events anyway)',
    )
    .option('--dry-run', 'list the points and the command of each; start nothing, contact no server')
    .option('--tag <tag>', 'a tag on every run; repeat for more', collect)
    .option('--metrics-regex <pattern>', 'as for simscope run; repeat for more', collect)
    .addOption(new Option('--events <which>', 'as for simscope run').choices(EVENT_MODES))
    .passThroughOptions();
  withExamples(withConnectionOptions(command), [
    'simscope sweep --folder /cfd/cavity-re -p re=100,400,1000 -p mesh=64,128 -j 2 -- ./cavity --re {re} --n {mesh}',
    'simscope sweep --folder /cfd/cavity-re --file sweep.toml --emit slurm --directive --time=01:00:00 -o sweep.sbatch -- ./cavity {re} {mesh}',
    'simscope sweep --folder /cfd/cavity-re --retry-failed',
    '# sweep.toml:  re = [100, 400, 1000]   mesh = [64, 128]   [zip] dt = [0.1, 0.05]  cfl = [0.5, 0.25]',
  ]).action(async (argv: string[], o, cmd: Command) => {
    if (!o.folder) throw new UsageError('--folder: required (the folder that holds the sweep)');
    const folder: string = o.folder;
    let spec: SweepSpec | undefined;
    if (!o.retryFailed) {
      if (argv.length === 0) throw new UsageError('command: give the program to run after --');
      let groups: ParameterGroup[] = [];
      if (o.file) groups = await readSweepFile(o.file);
      if (o.param) groups = [...groups, ...groupsFromFlags(o.param, o.zip === true)];
      if (groups.length === 0) throw new UsageError('give parameters with -p NAME=V1,V2 or --file');
      const runOptions = [
        ...(o.tag ?? []).flatMap((t: string) => ['--tag', t]),
        ...(o.metricsRegex ?? []).flatMap((p: string) => ['--metrics-regex', p]),
        ...(o.events ? ['--events', o.events] : []),
      ];
      spec = { folder, name: o.name ?? posix.basename(folder), groups, command: argv, runOptions };
      const points = expandPoints(groups);
      // Every placeholder is checked before a run starts.
      for (const point of points) substituteCommand(argv, point);
      if (o.dryRun) {
        for (const point of points) {
          ctx.stdout.write(
            `${point.index}\t${describePoint(point.values)}\t${substituteCommand(argv, point).join(' ')}\n`,
          );
        }
        return;
      }
    } else if (o.param || o.file || argv.length > 0) {
      throw new UsageError(
        '--retry-failed: takes the parameters and command from the sweep folder; give neither',
      );
    }

    const connection = connectionOf(ctx, cmd);
    const client = clientFor(connection);
    const existing = await folderMetadata(client, folder);
    let launches: PointLaunch[];
    if (spec === undefined) {
      if (existing === null) throw new UsageError(`--folder ${folder}: no such folder`);
      spec = sweepFromMetadata(folder, existing);
      launches = await failedLaunches(client, spec);
      if (launches.length === 0) {
        ctx.stderr.write(`simscope: sweep ${folder}: no failed points\n`);
        return;
      }
    } else {
      if (existing?.sweep !== undefined) {
        throw new UsageError(
          `--folder ${folder}: already holds a sweep; --retry-failed reruns its failed points, or choose another folder`,
        );
      }
      await client.call('createFolder', { body: { path: folder, metadata: sweepMetadata(spec) } });
      launches = expandPoints(spec.groups).map((point) => ({ point, attempt: 0 }));
    }

    if (o.emit) {
      const options = { parallel: o.parallel, directives: o.directive ?? [] };
      const script =
        o.emit === 'slurm'
          ? slurmArrayScript(spec, launches, options)
          : pbsArrayScript(spec, launches, options);
      if (o.output) await writeFile(o.output, script, { mode: 0o755 });
      else ctx.stdout.write(script);
      ctx.stderr.write(`simscope: sweep ${folder}: ${launches.length} points in the ${o.emit} script\n`);
      return;
    }

    const env: NodeJS.ProcessEnv = { ...ctx.env, SIMSCOPE_URL: connection.url };
    if (connection.token) env.SIMSCOPE_TOKEN = connection.token;
    if (connection.workspace) env.SIMSCOPE_WORKSPACE = connection.workspace;
    const outcomes = await runSweepLocally(spec, launches, {
      parallel: o.parallel ?? 1,
      env,
      cwd: ctx.cwd,
      logDir: o.logDir,
      onDone: (outcome, done, total) => {
        const { point } = outcome.launch;
        ctx.stderr.write(
          `simscope: [${done}/${total}] point ${point.index} (${describePoint(point.values)}): ${describeOutcome(outcome)} in ${outcome.seconds.toFixed(1)} s\n`,
        );
      },
    });
    const failed = outcomes.filter((x) => x.code !== 0);
    const summary = `${outcomes.length - failed.length} completed, ${failed.length} failed`;
    if (failed.length === 0) ctx.stderr.write(`simscope: sweep ${folder}: ${summary}\n`);
    else {
      ctx.stderr.write(
        `simscope: sweep ${folder}: ${summary} (points ${failed.map((x) => x.launch.point.index).join(', ')}); rerun them with: simscope sweep --folder ${folder} --retry-failed\n`,
      );
      ctx.exitCode = 1;
    }
  });
}

import { constants } from 'node:os';
import type { Json, RunStatus } from '@simscope/protocol';
import { parseDuration } from '@simscope/protocol';
import { type Command, Option } from 'commander';
import { glob } from 'tinyglobby';
import {
  type CliContext,
  collect,
  connectionOf,
  intOption,
  withConnectionOptions,
  withExamples,
} from '../context.js';
import { UsageError } from '../errors.js';
import { parseMetadataArgs } from '../metadata-args.js';
import { type ChildExit, LINE_MODES } from '../sidecar/child-launcher.js';
import { compileMetricPattern } from '../sidecar/metric-parser.js';
import { EVENT_MODES, Sidecar, type SidecarResult } from '../sidecar/sidecar.js';

/** Signals whose default action is a core dump: the sidecar exits 128 + n rather than dump its own core. */
const CORE_SIGNALS = new Set([
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGSEGV',
  'SIGSYS',
]);

function describeExit(exit: ChildExit): string {
  if (exit.error !== undefined) return `could not start: ${exit.error}`;
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

/** `--metadata-json '{"re":100}'`: a JSON object, merged over the `--metadata` pairs. */
function parseMetadataJson(texts: readonly string[]): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const text of texts) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`--metadata-json: ${(error as Error).message}`, { cause: error });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new UsageError(`--metadata-json: expected a JSON object, got ${text}`);
    }
    Object.assign(out, value);
  }
  return out;
}

function compileEventPattern(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    throw new UsageError(`--event-regex '${source}': ${(error as Error).message}`, { cause: error });
  }
}

function seconds(name: string, text: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw new UsageError(`${name}: ${(error as Error).message}`, { cause: error });
  }
}

export function registerRunCommand(program: Command, ctx: CliContext): void {
  const command = program
    .command('run')
    .description(
      'run a program and track it: every output line as an event, metrics from its output and files, CPU and memory, exit status',
    )
    .argument('<command...>', 'the program and its arguments (after --, or after the last option)')
    .option('--name <name>', 'run name (default: generated)')
    .option('--folder <path>', 'folder, e.g. /cfd/cavity (created if missing)')
    .option('--tag <tag>', 'a tag; repeat for more', collect)
    .option(
      '--metadata <key=value>',
      'metadata; numbers and true/false are stored as such; repeat for more',
      collect,
    )
    .option(
      '--metadata-json <object>',
      'metadata as a JSON object, merged over --metadata (keeps "064" a string); repeat for more',
      collect,
    )
    .option('--description <text>', 'description')
    .option(
      '--metrics-regex <pattern>',
      'pattern with named groups: (?<step>…) is the step, any other group a metric; Python (?P<x>…) works too; repeat for more',
      collect,
    )
    .option(
      '--metrics-file <path>',
      'follow a CSV (with a header) or JSON-lines file of metrics; repeat for more',
      collect,
    )
    .addOption(
      new Option(
        '--events <which>',
        'output lines kept as events: all, matched (those giving metrics or matching --event-regex), none',
      )
        .choices(EVENT_MODES)
        .default('all'),
    )
    .option(
      '--event-regex <pattern>',
      'with --events matched: also keep lines matching this pattern; repeat for more',
      collect,
    )
    .option(
      '--walltime-warning <duration>',
      "in a SLURM or PBS job: log a warning event this long before its wall-time limit; 'none': never",
      '10m',
    )
    .option(
      '--resources-interval <duration>',
      'CPU and memory of the process tree every so often; 0 turns it off',
      '5s',
    )
    .addOption(
      new Option('--line-mode <mode>', 'how output reaches the sidecar line by line (see docs/cli.md)')
        .choices(LINE_MODES)
        .default('auto'),
    )
    .option(
      '--heartbeat-interval <duration>',
      'how often the sidecar beats and looks for an abort request',
      '15s',
    )
    .option(
      '--heartbeat-timeout <duration>',
      "mark the run lost when the sidecar is silent this long (a killed sidecar, a lost node); 'none': never",
      '5m',
    )
    .option(
      '--save-input <glob>',
      'save matching files as input artifacts at the start; repeat for more',
      collect,
    )
    .option(
      '--save-code <glob>',
      'save matching files as code artifacts at the start; repeat for more',
      collect,
    )
    .option(
      '--save-output <glob>',
      'save matching files as output artifacts at the end; repeat for more',
      collect,
    )
    .option(
      '--resume <run>',
      'continue this run (id or name) as a new segment instead of making a run: a job restarting it from a checkpoint',
    )
    .option(
      '--rewind-to <step>',
      "with --resume: the checkpoint's step; earlier segments' points after it are superseded",
      intOption('--rewind-to', 0),
    )
    .option('--offline', 'do not contact the server: keep the run in the spool for `simscope sync`')
    .option('-q, --quiet', 'no start and end lines on stderr (shown only on a terminal anyway)')
    .passThroughOptions();
  withExamples(withConnectionOptions(command), [
    'simscope run -- ./solver input.nml',
    'simscope run --name cavity-re100 --folder /cfd/cavity --tag baseline --metadata re=100 -- ./cavity',
    'simscope run --metrics-regex "it=(?<step>\\d+) res=(?<residual>\\S+)" -- mpirun -n 4 ./solver',
    'simscope run --metrics-file history.csv --resources-interval 10s -- python train.py',
    'simscope run --save-input "*.nml" --save-code src/solver.f90 --save-output "out/*.vtk" -- ./solver',
    "# in the program's output:  @simscope step=12 energy=-3.2 residual=1e-6",
  ]).action(async (argv: string[], o, cmd: Command) => {
    if (o.rewindTo !== undefined && !o.resume) throw new UsageError('--rewind-to: only with --resume');
    if (o.resume) {
      const given = ['name', 'folder', 'description', 'tag', 'metadata', 'metadataJson', 'offline'].filter(
        (k) => o[k] !== undefined,
      );
      if (given.length > 0) {
        throw new UsageError(
          `--resume: the run keeps what it has; leave out ${given.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`,
        );
      }
    }
    const patterns = (o.metricsRegex ?? []).map(compileMetricPattern);
    const metadata = { ...parseMetadataArgs(o.metadata ?? []), ...parseMetadataJson(o.metadataJson ?? []) };
    const eventPatterns = (o.eventRegex ?? []).map(compileEventPattern);
    const walltimeMargin =
      o.walltimeWarning === 'none' ? null : seconds('--walltime-warning', o.walltimeWarning);
    const resourcesInterval = seconds('--resources-interval', o.resourcesInterval);
    const heartbeatInterval = seconds('--heartbeat-interval', o.heartbeatInterval);
    if (!(heartbeatInterval > 0)) throw new UsageError('--heartbeat-interval: must be more than 0');
    const heartbeatTimeout =
      o.heartbeatTimeout === 'none' ? null : seconds('--heartbeat-timeout', o.heartbeatTimeout);
    if (heartbeatTimeout !== null && !(heartbeatTimeout > heartbeatInterval)) {
      throw new UsageError(
        `--heartbeat-timeout: must be longer than --heartbeat-interval (${heartbeatInterval} s), got ${o.heartbeatTimeout}`,
      );
    }
    const connection = connectionOf(ctx, cmd);
    const childEnv = { ...ctx.env };
    // The client reads these first, so flags given here win over the environment.
    process.env.SIMSCOPE_URL = connection.url;
    if (connection.token) process.env.SIMSCOPE_TOKEN = connection.token;
    if (connection.workspace) process.env.SIMSCOPE_WORKSPACE = connection.workspace;

    const warn = (message: string) => ctx.stderr.write(`simscope: ${message}\n`);
    const seen = new Set<string>();
    const warnOnce = (message: string) => {
      if (!seen.has(message)) {
        seen.add(message);
        warn(message);
      }
    };
    const talk = !o.quiet && ctx.stderr.isTTY === true;

    const { Run, schedulerInfo } = await import('@simscope/client');
    const job = schedulerInfo(ctx.env);
    const deadline =
      job?.deadline && walltimeMargin !== null
        ? { atMs: Date.parse(job.deadline), marginMs: walltimeMargin * 1000 }
        : undefined;
    let sidecar: Sidecar | undefined;
    const config = {
      mode: o.offline ? ('offline' as const) : ('online' as const),
      queueSize: 1_000_000,
      heartbeatIntervalMs: Math.max(1, Math.round(heartbeatInterval * 1000)),
      onError: (error: unknown) => warnOnce((error as Error)?.message ?? String(error)),
      onAbort: (r: InstanceType<typeof Run>, reason: string | null) => {
        r.logEvent(`simscope: abort requested${reason ? `: ${reason}` : ''}; sending SIGTERM`, {
          level: 'warning',
        });
        sidecar?.kill('SIGTERM');
      },
    };
    const run = o.resume
      ? await Run.resume(o.resume, { ...config, rewindTo: o.rewindTo })
      : await new Run().config(config).init({
          name: o.name,
          folder: o.folder,
          tags: o.tag,
          metadata,
          description: o.description,
          heartbeatTimeout,
        });
    if (run.id === null) warn('this run is not tracked (see above); the program runs all the same');
    else {
      childEnv.SIMSCOPE_RUN_ID = run.id;
      childEnv.SIMSCOPE_RUN_NAME = run.name ?? '';
      if (talk) warn(`tracking run ${run.name} (${run.id}) at ${connection.url}`);
    }

    // Globs are relative to the working directory, and names keep their relative paths (`out/field.vtk`).
    const save = async (globs: string[] | undefined, category: 'input' | 'code' | 'output') => {
      if (!globs?.length || run.id === null) return;
      const files = await glob(globs, { cwd: ctx.cwd, onlyFiles: true, dot: false });
      if (files.length === 0) {
        warn(`--save-${category}: nothing matches ${globs.join(' ')}`);
        return;
      }
      // Paths as the glob gives them, relative to the working directory, which is this process's own.
      const saved = await run.saveAll(files, category, { preservePath: true });
      if (talk) warn(`saved ${saved.length} ${category} file${saved.length === 1 ? '' : 's'}`);
    };
    await save(o.saveInput, 'input');
    await save(o.saveCode, 'code');

    sidecar = new Sidecar(run, {
      argv,
      env: childEnv,
      lineMode: o.lineMode,
      metricPatterns: patterns,
      events: o.events,
      eventPatterns,
      deadline,
      metricsFiles: o.metricsFile ?? [],
      metricsFileIntervalMs: 500,
      resourcesIntervalMs: resourcesInterval * 1000,
      stdout: process.stdout,
      stderr: process.stderr,
      warn,
      columns: process.stdout.isTTY ? process.stdout.columns : undefined,
      rows: process.stdout.isTTY ? process.stdout.rows : undefined,
    });
    // The run's own system info describes this sidecar (node, its pid); the program it runs is recorded beside it.
    const command = { argv: [...argv], cwd: ctx.cwd };
    await run.updateSystem({ command });
    const result: SidecarResult = await sidecar.run();
    await run.updateSystem({
      command: {
        ...command,
        pid: result.pid ?? null,
        exitCode: result.exit.code,
        signal: result.exit.signal,
        seconds: Math.round(result.seconds * 1000) / 1000,
      },
    });
    if (result.exit.error !== undefined) warn(`${argv[0]}: ${result.exit.error}`);
    run.logEvent(`simscope: ${argv[0]} ${describeExit(result.exit)}`, {
      level: result.status === 'completed' ? 'info' : 'error',
    });
    await save(o.saveOutput, 'output');
    const closed = await run.close(result.status as RunStatus);
    if (closed.droppedPoints > 0) warn(`${closed.droppedPoints} metric points were dropped (queue full)`);
    if (closed.droppedEvents > 0)
      warn(`${closed.droppedEvents} output lines were dropped (event queue full)`);
    if (closed.failedPoints > 0 || closed.failedEvents > 0) {
      warn(`${closed.failedPoints} metric points and ${closed.failedEvents} events could not be sent`);
    }
    if (closed.spooledPoints > 0 || closed.spooledEvents > 0) {
      warn(
        `${closed.spooledPoints} metric points and ${closed.spooledEvents} events are kept in the spool; \`simscope sync\` uploads them once the server is reachable`,
      );
    }
    if (talk && run.id !== null) warn(`run ${run.name} ${result.status} (${describeExit(result.exit)})`);

    ctx.exitCode = result.exitCode;
    const signal = result.exit.signal;
    if (signal && !CORE_SIGNALS.has(signal) && constants.signals[signal] !== undefined)
      ctx.exitSignal = signal;
  });
}

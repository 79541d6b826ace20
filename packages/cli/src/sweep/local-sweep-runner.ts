import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PointLaunch, pointRunArgs, type SweepSpec } from './sweep-spec.js';

/** How one point's `simscope run` ended: its exit code (the program's), or the signal that ended it. */
export interface PointOutcome {
  launch: PointLaunch;
  code: number | null;
  signal: NodeJS.Signals | null;
  seconds: number;
}

interface LocalSweepOptions {
  /** Points at a time. */
  parallel: number;
  /** Environment of each `simscope run` (the connection in `SIMSCOPE_*`). */
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Where each point's output goes, as `point-<i>.log`; none: it is dropped (each run keeps it as events). */
  logDir?: string;
  onDone(outcome: PointOutcome, done: number, total: number): void;
}

/** This very CLI, so that every point runs under the same `simscope` as the sweep. */
const CLI_MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

function runPoint(spec: SweepSpec, launch: PointLaunch, options: LocalSweepOptions): Promise<PointOutcome> {
  const started = performance.now();
  const log =
    options.logDir === undefined
      ? 'ignore'
      : openSync(
          join(
            options.logDir,
            `point-${launch.point.index}${launch.attempt > 0 ? `.r${launch.attempt}` : ''}.log`,
          ),
          'w',
        );
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...pointRunArgs(spec, launch)], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', log, log],
    });
    const finish = (code: number | null, signal: NodeJS.Signals | null) =>
      resolve({ launch, code, signal, seconds: (performance.now() - started) / 1000 });
    child.once('error', () => finish(127, null));
    child.once('exit', finish);
  });
}

/** Runs the launches under `simscope run`, `parallel` at a time, in order; resolves with every outcome. */
export async function runSweepLocally(
  spec: SweepSpec,
  launches: readonly PointLaunch[],
  options: LocalSweepOptions,
): Promise<PointOutcome[]> {
  if (options.logDir !== undefined) await mkdir(options.logDir, { recursive: true });
  const outcomes: PointOutcome[] = [];
  let next = 0;
  const worker = async () => {
    while (next < launches.length) {
      const launch = launches[next++] as PointLaunch;
      const outcome = await runPoint(spec, launch, options);
      outcomes.push(outcome);
      options.onDone(outcome, outcomes.length, launches.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.parallel, launches.length) }, worker));
  return outcomes.sort((a, b) => a.launch.point.index - b.launch.point.index);
}

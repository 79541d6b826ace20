// CLI benchmarks: `simscope run` as a sidecar of a program printing 1M lines, and of a solver printing a line
// per millisecond of work, each against the same program writing into a drained pseudo-terminal.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_TOKEN, startServer } from './server-process.js';

const LINES = 1_000_000;
// awk is on every Unix; it prints through C stdio, like the simulation codes the sidecar is for.
const CHILD = [
  'awk',
  `BEGIN { for (i = 0; i < ${LINES}; i++) printf "step %d residual %.6e cfl 0.45\\n", i, 1 / (i + 1) }`,
];
const SOLVER_LINES = 20_000;
// A line after each millisecond of CPU time, as a solver reporting every iteration would.
const SOLVER = `#include <stdio.h>
#include <time.h>
static double cpu(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}
int main(void) {
  volatile double x = 1.0;
  for (int i = 0; i < ${SOLVER_LINES}; i++) {
    double until = cpu() + 1e-3;
    while (cpu() < until) x = x * 1.0000001 + 1e-9;
    printf("@simscope step=%d residual=%.6e\\n", i, 1.0 / (i + 1));
  }
  return x > 0 ? 0 : 1;
}
`;

/** CPU seconds (user + system) of a command and everything it started, read from GNU time's report. */
async function cpuSeconds(argv, env, expected, work) {
  const report = join(work, 'time.txt');
  const { seconds, lines } = await timed(['/usr/bin/time', '-f', '%U %S', '-o', report, ...argv], env);
  if (lines !== expected) throw new Error(`expected ${expected} lines, got ${lines}`);
  const [user, system] = readFileSync(report, 'utf8').trim().split(' ').map(Number);
  return { wall: seconds, cpu: user + system };
}

/** Runs a command with stdout drained through a pipe; resolves with its wall time in seconds and line count. */
function timed(argv, env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], env });
    let lines = 0;
    child.stdout.on('data', (chunk) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`${argv.join(' ')} exited with ${code}`));
      else resolve({ seconds: (performance.now() - t0) / 1000, lines });
    });
  });
}

/** The shortest wall time of `times` runs: the least disturbed by the rest of a shared machine. */
async function best(times, argv, env, expected) {
  const seconds = [];
  for (let i = 0; i < times; i++) {
    const { seconds: s, lines } = await timed(argv, env);
    if (lines !== expected) throw new Error(`expected ${expected} lines, got ${lines}`);
    seconds.push(s);
  }
  return Math.min(...seconds);
}

const quote = (word) => `'${word.replaceAll("'", "'\\''")}'`;

/** The program alone, its stdout a pseudo-terminal (made as the sidecar makes it) that is read to the end. */
const inPty = (argv) => [
  'script',
  '-qefc',
  `stty -opost -echo; exec ${argv.map(quote).join(' ')}`,
  '/dev/null',
];

export async function run({ log }) {
  const results = {};
  const put = (name, value, unit) => {
    results[name] = { value: Number(value.toPrecision(4)), unit };
  };
  const work = mkdtempSync(join(tmpdir(), 'simscope-cli-bench-'));
  const server = await startServer();
  try {
    const env = { ...process.env, SIMSCOPE_URL: server.url, SIMSCOPE_TOKEN: BENCH_TOKEN };
    const sidecar = (child, ...options) => [
      process.execPath,
      'packages/cli/dist/main.js',
      'run',
      '--quiet',
      '--resources-interval',
      '1',
      ...options,
      '--',
      ...child,
    ];

    const bare = await best(3, CHILD, env, LINES);
    log(`  bare program, ${LINES / 1e6}M lines into a pipe (block-buffered): ${bare.toFixed(2)} s`);
    put('cli.sidecar.bare_lines_per_s', LINES / bare, 'lines/s');
    // The program alone and under --events matched, alternated five times: the best of each is the least
    // disturbed by a busy machine, and the CPU time added does not depend on the load.
    const ptyRuns = [];
    const matchedRuns = [];
    for (let i = 0; i < 5; i++) {
      ptyRuns.push(await cpuSeconds(inPty(CHILD), env, LINES, work));
      matchedRuns.push(await cpuSeconds(sidecar(CHILD, '--events', 'matched'), env, LINES, work));
    }
    const barePty = Math.min(...ptyRuns.map((r) => r.wall));
    const matched = Math.min(...matchedRuns.map((r) => r.wall));
    const matchedCpu = Math.min(...matchedRuns.map((r) => r.cpu)) - Math.min(...ptyRuns.map((r) => r.cpu));
    log(
      `  bare program into a drained pseudo-terminal (a line at a time): ${barePty.toFixed(2)} s (load average ${loadavg()[0].toFixed(1)})`,
    );
    put('cli.sidecar.bare_pty_lines_per_s', LINES / barePty, 'lines/s');
    log(`  simscope run --events matched (no line matches): ${matched.toFixed(2)} s`);
    put('cli.sidecar.matched_lines_per_s', LINES / matched, 'lines/s');
    log(`  CPU time --events matched adds for 1M lines: ${matchedCpu.toFixed(2)} s`);
    put('cli.sidecar.matched_extra_cpu_s', matchedCpu, 's');

    const all = await best(2, sidecar(CHILD), env, LINES);
    log(`  simscope run (pseudo-terminal), --events all (every line an event): ${all.toFixed(2)} s`);
    put('cli.sidecar.lines_per_s', LINES / all, 'lines/s');
    const withPipe = await best(2, sidecar(CHILD, '--line-mode', 'pipe'), env, LINES);
    log(
      `  simscope run --line-mode pipe (the program's own buffering), all events: ${withPipe.toFixed(2)} s`,
    );
    put('cli.sidecar.pipe_lines_per_s', LINES / withPipe, 'lines/s');

    log(
      `  overhead against the pseudo-terminal: ${(matched / barePty).toFixed(2)}x (matched), ${(all / barePty).toFixed(2)}x (all); pipe mode against a pipe: ${(withPipe / bare).toFixed(2)}x`,
    );
    put('cli.sidecar.overhead_ratio', matched / barePty, 'x');
    put('cli.sidecar.overhead_ratio_all', all / barePty, 'x');
    put('cli.sidecar.pipe_overhead_ratio', withPipe / bare, 'x');

    const solver = join(work, 'solver');
    writeFileSync(`${solver}.c`, SOLVER);
    execFileSync('gcc', ['-O2', '-o', solver, `${solver}.c`]);
    // Alternated, so that a change in the machine's load touches both alike; the best of each. The CPU time
    // the sidecar adds does not depend on the load, so it is given too.
    const bareRuns = [];
    const sidecarRuns = [];
    for (let i = 0; i < 2; i++) {
      bareRuns.push(await cpuSeconds(inPty([solver]), env, SOLVER_LINES, work));
      sidecarRuns.push(await cpuSeconds(sidecar([solver]), env, SOLVER_LINES, work));
    }
    const solverBare = Math.min(...bareRuns.map((r) => r.wall));
    const solverRun = Math.min(...sidecarRuns.map((r) => r.wall));
    const extraCpu = Math.min(...sidecarRuns.map((r) => r.cpu)) - Math.min(...bareRuns.map((r) => r.cpu));
    log(
      `  solver, ${SOLVER_LINES} lines after 1 ms of CPU each, into a pseudo-terminal: ${solverBare.toFixed(2)} s (load average ${loadavg()[0].toFixed(1)})`,
    );
    put('cli.sidecar.solver_bare_s', solverBare, 's');
    log(`  the same under simscope run (every line an event and a metric point): ${solverRun.toFixed(2)} s`);
    put('cli.sidecar.solver_s', solverRun, 's');
    log(
      `  CPU time the sidecar adds (its process tree, start-up and sending included): ${extraCpu.toFixed(2)} s`,
    );
    put('cli.sidecar.solver_extra_cpu_s', extraCpu, 's');
    log(`  solver overhead: ${(solverRun / solverBare).toFixed(3)}x`);
    put('cli.sidecar.solver_overhead_ratio', solverRun / solverBare, 'x');
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
  return results;
}

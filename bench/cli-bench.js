// CLI benchmarks: `simscope run` as a sidecar of a program printing 1M lines, against the bare program.
import { spawn } from 'node:child_process';
import { BENCH_TOKEN, startServer } from './server-process.js';

const LINES = 1_000_000;
// awk is on every Unix; it prints through C stdio, like the simulation codes the sidecar is for.
const CHILD = [
  'awk',
  `BEGIN { for (i = 0; i < ${LINES}; i++) printf "step %d residual %.6e cfl 0.45\\n", i, 1 / (i + 1) }`,
];

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
async function best(times, argv, env) {
  const seconds = [];
  for (let i = 0; i < times; i++) {
    const { seconds: s, lines } = await timed(argv, env);
    if (lines !== LINES) throw new Error(`expected ${LINES} lines, got ${lines}`);
    seconds.push(s);
  }
  return Math.min(...seconds);
}

export async function run({ log }) {
  const results = {};
  const put = (name, value, unit) => {
    results[name] = { value: Number(value.toPrecision(4)), unit };
  };
  const server = await startServer();
  try {
    const env = { ...process.env, SIMSCOPE_URL: server.url, SIMSCOPE_TOKEN: BENCH_TOKEN };
    const sidecar = (mode) => [
      process.execPath,
      'packages/cli/dist/main.js',
      'run',
      '--quiet',
      '--line-mode',
      mode,
      '--resources-interval',
      '1',
      '--',
      ...CHILD,
    ];

    const bare = await best(3, CHILD, env);
    log(`  bare program, ${LINES / 1e6}M lines into a pipe: ${bare.toFixed(2)} s`);
    put('cli.sidecar.bare_lines_per_s', LINES / bare, 'lines/s');

    const withPty = await best(2, sidecar('auto'), env);
    log(
      `  simscope run (default: pseudo-terminal, a line at a time), every line an event: ${withPty.toFixed(2)} s`,
    );
    put('cli.sidecar.lines_per_s', LINES / withPty, 'lines/s');

    const withPipe = await best(2, sidecar('pipe'), env);
    log(`  simscope run --line-mode pipe (the program's own buffering): ${withPipe.toFixed(2)} s`);
    put('cli.sidecar.pipe_lines_per_s', LINES / withPipe, 'lines/s');

    log(
      `  overhead: ${(withPty / bare).toFixed(1)}x (pty), ${(withPipe / bare).toFixed(1)}x (pipe), wall time with / without`,
    );
    put('cli.sidecar.overhead_ratio', withPty / bare, 'x');
    put('cli.sidecar.pipe_overhead_ratio', withPipe / bare, 'x');
  } finally {
    await server.stop();
  }
  return results;
}

// Starts the built server as a child process for benchmarks and reads its URL from its first line.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BENCH_TOKEN = 'ssk_bench_token_0000000000000000000000000000';

/** @returns {Promise<{ url: string, pid: number, stop(): Promise<void> }>} */
export async function startServer({ dataDir, db, env = {} } = {}) {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'simscope-bench-'));
  // A data dir made here goes when the server stops; one passed in is the caller's.
  const removeDir = () => {
    if (dataDir === undefined) rmSync(dir, { recursive: true, force: true });
  };
  const args = ['packages/server/dist/main.js', '--port', '0', '--data-dir', dir, '--log-level', 'warn'];
  if (db) args.push('--db', db);
  const child = spawn(
    process.execPath,
    [...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : []), ...args],
    {
      env: {
        ...process.env,
        XDG_CONFIG_HOME: join(dir, 'config'),
        SIMSCOPE_BOOTSTRAP_TOKEN: BENCH_TOKEN,
        SIMSCOPE_BENCH_SINK: '1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  child.stdout.resume();
  return {
    url,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        const done = () => {
          removeDir();
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
}

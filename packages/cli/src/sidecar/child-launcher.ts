import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fstatSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { PTY_CHILD_SOURCE } from './pty-child-source.js';

/**
 * How the program's output reaches the sidecar line by line. `pty`: stdout is a pseudo-terminal (made by
 * util-linux `script`), so C, C++ and Fortran runtimes flush each line as on a screen; stderr stays a pipe.
 * `stdbuf`: pipes, with `stdbuf -oL -eL` (glibc stdio) and `PYTHONUNBUFFERED=1`,
 * `GFORTRAN_UNBUFFERED_PRECONNECTED=y`. `pipe`: plain pipes; the program's own buffering decides.
 * `auto`: `pty` where `script` from util-linux is found, else `stdbuf` where `stdbuf` is, else `pipe`.
 */
export const LINE_MODES = ['auto', 'pty', 'stdbuf', 'pipe'] as const;
export type LineMode = (typeof LINE_MODES)[number];

/** How the program ended: an exit code, a signal, or a start that failed (`error`). */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: string;
}

export interface LaunchOptions {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  mode: Exclude<LineMode, 'auto'>;
  /** Terminal size to give the pseudo-terminal (default 80×24). */
  columns?: number;
  rows?: number;
}

/** A started program: its output streams, its pid once known, a way to signal it, and its exit. */
export interface LaunchedChild {
  readonly mode: Exclude<LineMode, 'auto'>;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Extra output of the launcher itself (`script`'s own errors), shown as stderr but not recorded. */
  readonly launcherStderr: Readable | null;
  /** The program's pid, once it runs (`undefined` when it could not start). */
  readonly pid: Promise<number | undefined>;
  /** Sends a signal to the program's process group. */
  kill(signal: NodeJS.Signals): void;
  readonly exit: Promise<ChildExit>;
}

function onPath(command: string, args: string[], expect?: RegExp): boolean {
  const out = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (out.error || out.status !== 0) return false;
  return expect ? expect.test(out.stdout) : true;
}

/** The mode `auto` stands for on this machine. */
export function resolveLineMode(mode: LineMode): Exclude<LineMode, 'auto'> {
  if (mode !== 'auto') return mode;
  if (process.platform === 'linux' && onPath('script', ['--version'], /util-linux/)) return 'pty';
  if (onPath('stdbuf', ['--version'])) return 'stdbuf';
  return 'pipe';
}

/** Quotes a word for `sh`. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** The sidecar's own stdin, given to the program as it is; nothing when it is closed. */
function stdinFd(): 0 | 'ignore' {
  try {
    fstatSync(0);
    return 0;
  } catch {
    return 'ignore';
  }
}

function spawnErrorExit(error: NodeJS.ErrnoException): ChildExit {
  return { code: error.code === 'EACCES' ? 126 : 127, signal: null, error: error.message };
}

function groupKill(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function launchPipe(options: LaunchOptions): LaunchedChild {
  let argv = [...options.argv];
  const env = { ...options.env };
  if (options.mode === 'stdbuf') {
    argv = ['stdbuf', '-oL', '-eL', ...argv];
    env.PYTHONUNBUFFERED ??= '1';
    env.GFORTRAN_UNBUFFERED_PRECONNECTED ??= 'y';
  }
  // A session of its own: a Ctrl-C at the terminal reaches only the sidecar, which passes it on once.
  const program = argv[0];
  if (program === undefined) throw new Error('simscope run: no program to run');
  const child = spawn(program, argv.slice(1), { stdio: [stdinFd(), 'pipe', 'pipe'], env, detached: true });
  const exit = new Promise<ChildExit>((resolve) => {
    child.once('error', (error) => resolve(spawnErrorExit(error)));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const pid = new Promise<number | undefined>((resolve) => {
    child.once('spawn', () => resolve(child.pid));
    child.once('error', () => resolve(undefined));
  });
  const { stdout, stderr } = child;
  if (!stdout || !stderr) throw new Error('the program has no stdout or stderr pipe');
  return {
    mode: options.mode,
    stdout,
    stderr,
    launcherStderr: null,
    pid,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) groupKill(child.pid, signal);
    },
    exit,
  };
}

function launchPty(options: LaunchOptions): LaunchedChild {
  const size = ` cols ${options.columns || 80} rows ${options.rows || 24}`;
  // -opost: bytes pass as written (no \n → \r\n); -echo: nothing typed is echoed back into the output.
  const inner = `stty -opost -echo${size} 2>/dev/null; exec ${shellQuote(process.execPath)} -e ${shellQuote(PTY_CHILD_SOURCE)}`;
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    // `script` runs the command with $SHELL -c; the program gets the user's SHELL back.
    SHELL: '/bin/sh',
    SIMSCOPE_SIDECAR_SPEC: JSON.stringify({ argv: options.argv, shell: options.env.SHELL ?? null }),
  };
  const script: ChildProcess = spawn('script', ['-qefc', inner, '/dev/null'], {
    stdio: ['ignore', 'pipe', 'pipe', stdinFd(), 'pipe', 'pipe'],
    env,
    detached: true,
  });
  let reported: ChildExit | undefined;
  let group: number | undefined;
  const pending: NodeJS.Signals[] = [];
  let resolvePid: (pid: number | undefined) => void = () => {};
  const pid = new Promise<number | undefined>((resolve) => {
    resolvePid = resolve;
  });
  let buffered = '';
  const control = (script.stdio as unknown as Readable[])[5];
  if (!control) throw new Error('script has no control pipe (fd 5)');
  control.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
      const message = JSON.parse(buffered.slice(0, nl)) as {
        pid?: number;
        pgid?: number;
        code?: number | null;
        signal?: NodeJS.Signals | null;
        error?: string;
        message?: string;
      };
      buffered = buffered.slice(nl + 1);
      if (message.pid !== undefined) {
        group = message.pgid;
        resolvePid(message.pid);
        for (const signal of pending.splice(0)) groupKill(group, signal);
      } else if (message.error !== undefined) {
        reported = spawnErrorExit({ code: message.error, message: message.message } as NodeJS.ErrnoException);
        resolvePid(undefined);
      } else {
        reported = { code: message.code ?? null, signal: message.signal ?? null };
      }
    }
  });
  const exit = new Promise<ChildExit>((resolve) => {
    script.once('error', (error) => {
      resolvePid(undefined);
      resolve(spawnErrorExit(error));
    });
    script.once('exit', (code, signal) => {
      resolvePid(undefined);
      const done = () => resolve(reported ?? { code, signal });
      // The report may still be in flight on fd 5 when `script` exits.
      if (reported || control.readableEnded) done();
      else {
        control.once('end', done);
        control.once('close', done);
      }
    });
  });
  const output = script.stdout;
  const errors = (script.stdio as unknown as Readable[])[4];
  if (!output || !errors) throw new Error('script has no output pipes');
  return {
    mode: 'pty',
    stdout: output,
    stderr: errors,
    launcherStderr: script.stderr,
    pid,
    kill: (signal) => {
      if (reported) return;
      if (group === undefined) pending.push(signal);
      else groupKill(group, signal);
    },
    exit,
  };
}

/** Starts the program in a session of its own, its output read line by line as `options.mode` says. */
export function launchChild(options: LaunchOptions): LaunchedChild {
  if (options.argv.length === 0) throw new Error('no command to run');
  return options.mode === 'pty' ? launchPty(options) : launchPipe(options);
}

/** The exit code a shell would report: the code, or 128 + the signal number. */
export function shellExitCode(exit: ChildExit): number {
  if (exit.signal) return 128 + (constants.signals[exit.signal] ?? 0);
  return exit.code ?? 1;
}

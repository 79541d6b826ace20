import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'packages', 'server', 'dist', 'main.js');

/** The admin token every server started here bootstraps with. */
export const E2E_TOKEN = 'ssk_e2e_admin_token_0000000000000000000000000';

/** Builds protocol and server into `dist` (incremental, a few seconds at most), so `main.js` is current. */
export function buildServer(): void {
  try {
    execFileSync(
      join(ROOT, 'node_modules', '.bin', 'tsc'),
      ['-b', 'packages/protocol/tsconfig.json', 'packages/server/tsconfig.json'],
      { cwd: ROOT, stdio: 'pipe' },
    );
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`building the server failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: error });
  }
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing after the build`);
}

export interface ServerProcessOptions {
  /** Holds the XDG config and data dirs (and so the default SQLite data dir); reuse it to restart on the same data. */
  home: string;
  /** `--db`: a SQLite file or a `postgres://` URL; unset for `$XDG_DATA_HOME/simscope/simscope.db`. */
  db?: string;
  /** Port to listen on; 0 (default) for a free one. A restart on the same port lets clients carry on. */
  port?: number;
  /** Milliseconds to wait for the "listening on" line. */
  startTimeout?: number;
  /** More command-line flags, such as `--alert-interval 0.2`. */
  args?: string[];
  /** Flags for node itself, such as `--expose-gc`. */
  nodeArgs?: string[];
  /** More environment variables, such as `SIMSCOPE_SWEEP_INTERVAL` (set after the defaults, so they win). */
  env?: Record<string, string>;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A real `simscope` server in a child process, listening on a free loopback port. */
export class ServerProcess {
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #exit: Promise<Exit>;
  readonly #output: string[];

  private constructor(child: ChildProcess, url: string, exit: Promise<Exit>, output: string[]) {
    this.#child = child;
    this.url = url;
    this.#exit = exit;
    this.#output = output;
  }

  /** Starts `node packages/server/dist/main.js --port 0` and resolves once it prints its URL. */
  static start(options: ServerProcessOptions): Promise<ServerProcess> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run buildServer() (or npm run build) first`);
    const config = join(options.home, 'config');
    const data = join(options.home, 'data');
    mkdirSync(config, { recursive: true });
    mkdirSync(data, { recursive: true });
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (!key.startsWith('SIMSCOPE_')) env[key] = value;
    }
    Object.assign(env, {
      XDG_CONFIG_HOME: config,
      XDG_DATA_HOME: data,
      SIMSCOPE_BOOTSTRAP_TOKEN: E2E_TOKEN,
      SIMSCOPE_LOG_LEVEL: 'warn',
      ...options.env,
    });
    const port = String(options.port ?? 0);
    const args = [
      ...(options.nodeArgs ?? []),
      MAIN,
      '--host',
      '127.0.0.1',
      '--port',
      port,
      ...(options.db ? ['--db', options.db] : []),
      ...(options.args ?? []),
    ];
    // cwd is the home so that no simscope.toml of the checkout is picked up.
    const child = spawn(process.execPath, args, {
      cwd: options.home,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const exit = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    return new Promise((resolve, reject) => {
      let pending = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new Error(
            `server did not print its URL within ${options.startTimeout ?? 20_000} ms:\n${output.join('')}`,
          ),
        );
      }, options.startTimeout ?? 20_000);
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        output.push(chunk);
        pending += chunk;
        const match = /listening on (http:\/\/\S+)/.exec(pending);
        if (match) {
          clearTimeout(timer);
          pending = '';
          resolve(new ServerProcess(child, match[1]!, exit, output));
        }
      });
      exit.then((e) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${e.signal ?? e.code}) before listening:\n${output.join('')}`));
      });
    });
  }

  /** Everything the process wrote to stdout and stderr so far. */
  get output(): string {
    return this.#output.join('');
  }

  /** The process id (to read its memory from /proc). */
  get pid(): number {
    return this.#child.pid!;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Sends `signal` (at once: no waiting, no flushing). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.#child.kill(signal);
  }

  /** Resolves when the process has exited, with its code or signal. */
  waitForExit(): Promise<Exit> {
    return this.#exit;
  }
}

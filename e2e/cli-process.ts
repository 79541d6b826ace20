import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The built `simscope` command. */
export const CLI_MAIN = join(ROOT, 'packages', 'cli', 'dist', 'main.js');

/** Builds protocol, client, server and cli into `dist` (incremental), so `simscope` is current. */
export function buildCli(): void {
  try {
    execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-b', 'packages/cli/tsconfig.json'], {
      cwd: ROOT,
      stdio: 'pipe',
    });
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`building the CLI failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: error });
  }
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing after the build`);
}

/** The environment of this process without any SIMSCOPE_ variable, plus `extra`. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('SIMSCOPE_')) env[key] = value;
  return { ...env, ...extra };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Written to stdin, which is then closed; stdin is /dev/null without it. */
  input?: string;
  /** Called with each chunk of stdout as it comes, and the child (to signal it). */
  onStdout?(chunk: string, child: { pid: number | undefined; kill(signal: NodeJS.Signals): void }): void;
  timeoutMs?: number;
}

/** Runs `node packages/cli/dist/main.js ...args` and collects its output and exit. */
export function runCli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    options.onStdout?.(chunk, { pid: child.pid, kill: (s) => child.kill(s) });
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `simscope ${args.join(' ')} ran past ${options.timeoutMs ?? 30_000} ms:\n${stdout}\n${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 30_000);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

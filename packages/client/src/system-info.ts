import { type ChildProcess, execFile } from 'node:child_process';
import * as os from 'node:os';
import { resolve } from 'node:path';
import { type GpuInfo, NVIDIA_SMI_INFO_ARGS, parseNvidiaSmi } from '@simscope/protocol';
import { type SchedulerInfo, schedulerInfo } from './scheduler-info.js';

export { parseNvidiaSmi };

const DEFAULT_TIMEOUT_MS = 2000;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const MAX_OUTPUT_BYTES = 1024 * 1024;
const GIT_SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
const URL_USER_INFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i;

/** The git checkout a run started from; `branch` is null on a detached HEAD, `remote` carries no credentials. */
interface GitInfo {
  commit: string;
  branch: string | null;
  dirty: boolean;
  remote: string | null;
}

/** Where a run ran: host, OS, hardware, runtime and source checkout, as plain JSON. */
export interface SystemInfo {
  host: string | null;
  user: string | null;
  cwd: string;
  platform: string;
  osRelease: string | null;
  arch: string;
  cpu: { model: string | null; cores: number | null };
  memory: { totalBytes: number | null };
  runtime: { name: 'node'; version: string; v8: string };
  pid: number;
  gpus: GpuInfo[];
  git: GitInfo | null;
  /** The SLURM or PBS job the run is part of, from the environment (`env`); null outside one. */
  scheduler: SchedulerInfo | null;
}

/** Options of {@link collectSystemInfo}. */
export interface CollectSystemInfoOptions {
  /** Directory whose git checkout is recorded; defaults to `process.cwd()`. */
  cwd?: string;
  /** Upper bound on the whole collection in milliseconds; defaults to 2000. */
  timeoutMs?: number;
  /** Environment of the child processes, `PATH` included (used to find `git` and `nvidia-smi`), and of the batch job; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
}

type RunTool = (file: string, args: readonly string[], keepTruncated?: boolean) => Promise<string | null>;

/**
 * Describes the machine, runtime, GPUs and git checkout a run starts in; never rejects, and resolves
 * within `timeoutMs`: a tool that fails or hangs leaves its field null (`gpus`: empty).
 *
 * @example
 * const info = await collectSystemInfo({ cwd: projectDir, timeoutMs: 1000 });
 */
export async function collectSystemInfo(options: CollectSystemInfoOptions = {}): Promise<SystemInfo> {
  const cwd = attempt(() => resolve(options.cwd ?? process.cwd()), options.cwd ?? '');
  const env = options.env ?? process.env;
  const requested = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeoutMs = Number.isFinite(requested)
    ? Math.min(Math.max(0, requested), MAX_TIMEOUT_MS)
    : DEFAULT_TIMEOUT_MS;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const run: RunTool = (file, args, keepTruncated = false) =>
    runTool(file, args, { cwd, env, signal: deadline.signal, keepTruncated });
  try {
    const [gpus, git] = await Promise.all([collectGpus(run), collectGit(run)]);
    return { ...describeHost(cwd), gpus, git, scheduler: schedulerInfo(env) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Removes credentials from a git remote URL: all user info of an http(s) URL, only the password
 * elsewhere (`ssh://git@host/x.git` keeps `git`); scp-like and local remotes are returned as they are.
 *
 * @example
 * stripUrlCredentials('https://user:secret@example.org/x.git'); // 'https://example.org/x.git'
 */
export function stripUrlCredentials(url: string): string {
  const match = URL_USER_INFO.exec(url);
  if (!match) return url;
  const [whole, scheme = '', userInfo = ''] = match;
  const user = userInfo.split(':', 1)[0] ?? '';
  const kept = /^https?:/i.test(scheme) || user === '' ? '' : `${user}@`;
  return `${scheme}${kept}${url.slice(whole.length)}`;
}

async function collectGpus(run: RunTool): Promise<GpuInfo[]> {
  const output = await run('nvidia-smi', NVIDIA_SMI_INFO_ARGS);
  return output === null ? [] : parseNvidiaSmi(output);
}

async function collectGit(run: RunTool): Promise<GitInfo | null> {
  const [commit, branch, status, remote] = await Promise.all([
    run('git', ['rev-parse', 'HEAD']),
    run('git', ['rev-parse', '--abbrev-ref', 'HEAD']),
    // Output past the buffer limit still proves the tree is dirty; no optional locks so a concurrent git is not disturbed.
    run('git', ['--no-optional-locks', 'status', '--porcelain'], true),
    run('git', ['config', '--get', 'remote.origin.url']),
  ]);
  const sha = commit?.trim() ?? '';
  if (!GIT_SHA.test(sha) || branch === null || status === null) return null;
  const branchName = branch.trim();
  const remoteUrl = remote?.trim() ?? '';
  return {
    commit: sha,
    branch: branchName === '' || branchName === 'HEAD' ? null : branchName,
    dirty: status.trim() !== '',
    remote: remoteUrl === '' ? null : stripUrlCredentials(remoteUrl),
  };
}

function describeHost(cwd: string): Omit<SystemInfo, 'gpus' | 'git' | 'scheduler'> {
  const cpus = attempt(() => os.cpus(), []);
  return {
    host: attempt(() => os.hostname(), null),
    user: attempt(() => os.userInfo().username, null),
    cwd,
    platform: process.platform,
    osRelease: attempt(() => os.release(), null),
    arch: process.arch,
    cpu: { model: cpus[0]?.model.trim() || null, cores: cpus.length === 0 ? null : cpus.length },
    memory: { totalBytes: attempt(() => os.totalmem(), null) },
    runtime: { name: 'node', version: process.version, v8: process.versions.v8 },
    pid: process.pid,
  };
}

function runTool(
  file: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; signal: AbortSignal; keepTruncated: boolean },
): Promise<string | null> {
  const { signal } = options;
  return new Promise((settle) => {
    if (signal.aborted) {
      settle(null);
      return;
    }
    let child: ChildProcess | undefined;
    const finish = (output: string | null): void => {
      signal.removeEventListener('abort', onAbort);
      settle(output);
    };
    function onAbort(): void {
      finish(null);
      if (!child) return;
      child.kill('SIGKILL');
      // A killed tool's own children can keep its pipes open; closing our ends stops anything waiting on them.
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.unref();
    }
    try {
      child = execFile(
        file,
        args,
        {
          cwd: options.cwd,
          env: options.env,
          encoding: 'utf8',
          maxBuffer: MAX_OUTPUT_BYTES,
          windowsHide: true,
        },
        (error, stdout) => {
          if (!error) finish(stdout);
          else
            finish(
              options.keepTruncated && error.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER' ? stdout : null,
            );
        },
      );
    } catch {
      settle(null);
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function attempt<T, F>(read: () => T, fallback: F): T | F {
  try {
    return read();
  } catch {
    return fallback;
  }
}

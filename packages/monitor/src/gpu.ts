import { execFile } from 'node:child_process';
import { type GpuStats, NVIDIA_SMI_STATS_ARGS, parseNvidiaSmiStats } from '@simscope/protocol';

/**
 * Each GPU's utilisation, memory and temperature from `nvidia-smi`; null when the tool is missing, fails or
 * takes longer than `timeoutMs`.
 */
export function readGpus(
  options: { command?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<GpuStats[] | null> {
  return new Promise((resolve) => {
    try {
      execFile(
        options.command ?? 'nvidia-smi',
        [...NVIDIA_SMI_STATS_ARGS],
        {
          encoding: 'utf8',
          timeout: options.timeoutMs ?? 2000,
          killSignal: 'SIGKILL',
          maxBuffer: 1024 * 1024,
          windowsHide: true,
          env: options.env ?? process.env,
        },
        (error, stdout) => resolve(error ? null : parseNvidiaSmiStats(stdout)),
      );
    } catch {
      resolve(null);
    }
  });
}

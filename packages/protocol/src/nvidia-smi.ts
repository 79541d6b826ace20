/** One GPU as `nvidia-smi` reports it; `memoryMiB` is null where the driver gives no number. */
export interface GpuInfo {
  name: string;
  memoryMiB: number | null;
  driver: string;
  uuid: string;
}

/** One GPU's load at one moment; a field is null where the driver reports `[N/A]` or nothing. */
export interface GpuStats {
  index: number;
  utilizationPercent: number | null;
  memoryUsedMiB: number | null;
  memoryTotalMiB: number | null;
  temperatureC: number | null;
}

/** Arguments of `nvidia-smi` whose output {@link parseNvidiaSmi} reads. */
export const NVIDIA_SMI_INFO_ARGS = [
  '--query-gpu=name,memory.total,driver_version,uuid',
  '--format=csv,noheader,nounits',
] as const;

/** Arguments of `nvidia-smi` whose output {@link parseNvidiaSmiStats} reads. */
export const NVIDIA_SMI_STATS_ARGS = [
  '--query-gpu=index,utilization.gpu,memory.used,memory.total,temperature.gpu',
  '--format=csv,noheader,nounits',
] as const;

const GPU_LINE = /^(.+),([^,]*),([^,]*),([^,]*)$/;
const NUMBER = /^-?\d+(?:\.\d+)?$/;

const numberOrNull = (text: string | undefined): number | null => {
  const t = text?.trim() ?? '';
  return NUMBER.test(t) ? Number(t) : null;
};

/**
 * Parses `nvidia-smi` output for {@link NVIDIA_SMI_INFO_ARGS}, one GPU a line; lines that do not have the four
 * fields are skipped.
 */
export function parseNvidiaSmi(text: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of text.split(/\r?\n/)) {
    // The name is matched greedily so that a comma inside it does not shift the other fields.
    const [, name = '', memory = '', driver = '', uuid = ''] = GPU_LINE.exec(line.trim()) ?? [];
    if (name.trim() === '') continue;
    gpus.push({
      name: name.trim(),
      memoryMiB: numberOrNull(memory),
      driver: driver.trim(),
      uuid: uuid.trim(),
    });
  }
  return gpus;
}

/**
 * Parses `nvidia-smi` output for {@link NVIDIA_SMI_STATS_ARGS}, one GPU a line; lines without five fields or
 * without a GPU index are skipped.
 */
export function parseNvidiaSmiStats(text: string): GpuStats[] {
  const gpus: GpuStats[] = [];
  for (const line of text.split(/\r?\n/)) {
    const fields = line.split(',');
    if (fields.length !== 5) continue;
    const index = numberOrNull(fields[0]);
    if (index === null || !Number.isInteger(index)) continue;
    gpus.push({
      index,
      utilizationPercent: numberOrNull(fields[1]),
      memoryUsedMiB: numberOrNull(fields[2]),
      memoryTotalMiB: numberOrNull(fields[3]),
      temperatureC: numberOrNull(fields[4]),
    });
  }
  return gpus;
}

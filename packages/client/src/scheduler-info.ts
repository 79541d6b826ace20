/** The batch schedulers whose jobs a run recognises from its environment. */
const SCHEDULERS = ['slurm', 'pbs'] as const;
type Scheduler = (typeof SCHEDULERS)[number];

/** The batch job a run is part of, as the scheduler describes it in the environment; unknown facts are null. */
export interface SchedulerInfo {
  scheduler: Scheduler;
  jobId: string;
  jobName: string | null;
  /** The job array's own id, and this task's index in it. */
  arrayJobId: string | null;
  arrayTaskId: number | null;
  /** SLURM partition or PBS queue. */
  partition: string | null;
  nodes: number | null;
  tasks: number | null;
  account: string | null;
  /** The job's wall-time limit in seconds. */
  wallTimeSeconds: number | null;
  /** When the scheduler ends the job, ISO 8601: its end time, or its start plus the limit. */
  deadline: string | null;
  submitDir: string | null;
}

type Env = Readonly<Record<string, string | undefined>>;

function text(env: Env, ...names: string[]): string | null {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return null;
}

function whole(env: Env, ...names: string[]): number | null {
  const value = text(env, ...names);
  if (value === null || !/^\d+$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * A SLURM time limit in seconds: `minutes`, `minutes:seconds`, `hours:minutes:seconds`, `days-hours`,
 * `days-hours:minutes` or `days-hours:minutes:seconds`; null for `UNLIMITED` and anything unreadable.
 */
export function parseSlurmTime(value: string): number | null {
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(value.trim());
  if (!m) return null;
  const [, days, a = '0', b, c] = m;
  const parts = [a, b, c].filter((p) => p !== undefined).map(Number);
  let h = 0;
  let min = 0;
  let s = 0;
  if (days !== undefined) [h = 0, min = 0, s = 0] = parts;
  else if (parts.length === 3) [h = 0, min = 0, s = 0] = parts;
  else [min = 0, s = 0] = parts;
  return ((Number(days ?? 0) * 24 + h) * 60 + min) * 60 + s;
}

function deadlineOf(endSeconds: number | null, startSeconds: number, limit: number | null): string | null {
  if (endSeconds !== null && endSeconds > 0) return new Date(endSeconds * 1000).toISOString();
  return limit === null ? null : new Date((startSeconds + limit) * 1000).toISOString();
}

function slurm(env: Env, nowSeconds: number): SchedulerInfo | null {
  const jobId = text(env, 'SLURM_JOB_ID', 'SLURM_JOBID');
  if (jobId === null) return null;
  const limitText = text(env, 'SLURM_JOB_TIME_LIMIT', 'SLURM_TIMELIMIT', 'SBATCH_TIMELIMIT');
  const limit = limitText === null ? null : parseSlurmTime(limitText);
  return {
    scheduler: 'slurm',
    jobId,
    jobName: text(env, 'SLURM_JOB_NAME'),
    arrayJobId: text(env, 'SLURM_ARRAY_JOB_ID'),
    arrayTaskId: whole(env, 'SLURM_ARRAY_TASK_ID'),
    partition: text(env, 'SLURM_JOB_PARTITION'),
    nodes: whole(env, 'SLURM_JOB_NUM_NODES', 'SLURM_NNODES'),
    tasks: whole(env, 'SLURM_NTASKS', 'SLURM_NPROCS'),
    account: text(env, 'SLURM_JOB_ACCOUNT'),
    wallTimeSeconds: limit,
    deadline: deadlineOf(
      whole(env, 'SLURM_JOB_END_TIME'),
      whole(env, 'SLURM_JOB_START_TIME') ?? nowSeconds,
      limit,
    ),
    submitDir: text(env, 'SLURM_SUBMIT_DIR'),
  };
}

/** PBS Professional and Torque: `PBS_ARRAY_INDEX`/`PBS_ARRAY_ID` are PBS Pro's, `PBS_ARRAYID`/`PBS_NUM_NODES`/`PBS_WALLTIME` Torque's. */
function pbs(env: Env, nowSeconds: number): SchedulerInfo | null {
  const jobId = text(env, 'PBS_JOBID');
  if (jobId === null) return null;
  const limit = whole(env, 'PBS_WALLTIME');
  const arrayTaskId = whole(env, 'PBS_ARRAY_INDEX', 'PBS_ARRAYID');
  return {
    scheduler: 'pbs',
    jobId,
    jobName: text(env, 'PBS_JOBNAME'),
    // Torque names an array task `123[4].host` and gives no separate array id; the part before `[` is it.
    arrayJobId:
      text(env, 'PBS_ARRAY_ID') ?? (arrayTaskId === null ? null : jobId.replace(/\[\d*\].*$/, '[]')),
    arrayTaskId,
    partition: text(env, 'PBS_QUEUE'),
    nodes: whole(env, 'PBS_NUM_NODES'),
    tasks: whole(env, 'PBS_NP', 'PBS_TASKNUM'),
    account: text(env, 'PBS_ACCOUNT'),
    wallTimeSeconds: limit,
    deadline: deadlineOf(null, nowSeconds, limit),
    submitDir: text(env, 'PBS_O_WORKDIR'),
  };
}

/**
 * The SLURM or PBS/Torque job this process runs in, read from the variables the scheduler sets; null outside
 * a batch job. Without an end time the deadline counts the limit from `nowMs` (the job's start, near enough).
 *
 * @example
 * const job = schedulerInfo(process.env); // { scheduler: 'slurm', jobId: '4242', deadline: '2026-…', … }
 */
export function schedulerInfo(env: Env, nowMs: number = Date.now()): SchedulerInfo | null {
  const nowSeconds = Math.floor(nowMs / 1000);
  return slurm(env, nowSeconds) ?? pbs(env, nowSeconds);
}

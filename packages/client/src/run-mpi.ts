import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClientError } from './errors.js';

/** This process's place in an MPI job. */
interface MpiRank {
  rank: number;
  size: number;
}

type Env = Record<string, string | undefined>;

function whole(env: Env, names: readonly string[]): number | null {
  for (const name of names) {
    const v = env[name];
    if (v !== undefined && /^\d+$/.test(v)) return Number(v);
  }
  return null;
}

/**
 * The rank and size of this process: as given, else from Open MPI, PMI (MPICH, Intel MPI) or SLURM's environment.
 * A job of one task found in the environment is no MPI job (every srun job has SLURM_PROCID), so it is null.
 */
function mpiRank(given: { rank?: number | null; size?: number | null }, env: Env = process.env) {
  const found = whole(env, ['OMPI_COMM_WORLD_RANK', 'PMI_RANK', 'PMIX_RANK', 'SLURM_PROCID']);
  const rank = given.rank ?? found;
  if (rank === null || rank === undefined) return null;
  const size = given.size ?? whole(env, ['OMPI_COMM_WORLD_SIZE', 'PMI_SIZE', 'SLURM_NTASKS']) ?? 1;
  if ((given.rank === null || given.rank === undefined) && size <= 1) return null;
  return { rank, size } satisfies MpiRank;
}

/** The file in the working directory through which rank 0 tells the other ranks of this job the run's id. */
function idFile(env: Env, cwd: string): string {
  const slurm = env.SLURM_JOB_ID && `${env.SLURM_JOB_ID}.${env.SLURM_STEP_ID ?? 0}`;
  const job =
    slurm || env.PMIX_NAMESPACE || env.OMPI_MCA_ess_base_jobid || env.PBS_JOBID || `ppid-${process.ppid}`;
  return join(cwd, `.simscope-run-${job.replace(/[^\w.-]/g, '_')}`);
}

/** Files older than this, before this process started, belong to an earlier job of the same key. */
const STALE_MS = 300_000;

/**
 * The run an MPI rank attaches to: `SIMSCOPE_RUN_ID` when set; else, on ranks other than 0, the id rank 0 writes
 * (waiting up to `waitMs` for it); null on rank 0, which creates the run and then calls `publishRunId`.
 */
async function sharedRunId(
  mpi: MpiRank,
  options: { env?: Env; cwd?: string; waitMs?: number } = {},
): Promise<string | null> {
  const env = options.env ?? process.env;
  if (env.SIMSCOPE_RUN_ID) return env.SIMSCOPE_RUN_ID;
  if (mpi.rank === 0 || mpi.size <= 1) return null;
  const file = idFile(env, options.cwd ?? process.cwd());
  const started = Date.now() - process.uptime() * 1000;
  const deadline = Date.now() + (options.waitMs ?? 60_000);
  while (Date.now() < deadline) {
    try {
      if (statSync(file).mtimeMs >= started - STALE_MS) {
        const id = readFileSync(file, 'utf8').trim();
        if (id) return id;
      }
    } catch {
      // Not written yet.
    }
    await sleep(100);
  }
  throw new ClientError('unavailable', `rank ${mpi.rank}: no run id from rank 0 in ${file}`, 0);
}

/** Rank 0 of a job without `SIMSCOPE_RUN_ID`: writes the run's id for the other ranks (atomically). */
export function publishRunId(mpi: MpiRank, id: string, options: { env?: Env; cwd?: string } = {}): void {
  const env = options.env ?? process.env;
  if (mpi.rank !== 0 || mpi.size <= 1 || env.SIMSCOPE_RUN_ID) return;
  const file = idFile(env, options.cwd ?? process.cwd());
  writeFileSync(`${file}.${process.pid}`, `${id}\n`);
  renameSync(`${file}.${process.pid}`, file);
}

/**
 * Joins this process to its MPI job, if it is in one: its metrics are named `NAME@rank=R`, and `runId` is the run
 * to attach to (null on rank 0, which creates the run and then calls `publishRunId`).
 */
export async function joinMpiJob(
  config: { rank?: number | null; size?: number | null },
  queue: { suffix: string },
): Promise<(MpiRank & { runId: string | null }) | null> {
  const mpi = mpiRank(config);
  queue.suffix = mpi ? `@rank=${mpi.rank}` : '';
  return mpi && { ...mpi, runId: await sharedRunId(mpi) };
}

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RunView } from '@simscope/protocol';
import type { HttpTransport } from './http-transport.js';

export { joinMpiJob, publishRunId } from './run-mpi.js';

/** How `Run.reconnect` takes up a run: as a new segment (a job restarting it), or by attaching to it. */
export interface ReconnectOptions {
  /** The checkpoint step this job restarts from: earlier segments' points at later steps are superseded. */
  rewindTo?: number;
  /** The batch job's id (default: SLURM_JOB_ID or PBS_JOBID). */
  jobId?: string;
  /** Default: this host's name. */
  host?: string;
  /**
   * Append a segment (default: when `rewindTo` or `jobId` is given, or the run has ended); false only attaches,
   * as a monitor or an MPI rank does.
   */
  newSegment?: boolean;
}

/**
 * Takes up run `runId`: a new segment when asked or when the run has ended; a `created` run is marked running;
 * otherwise (an MPI rank after rank 0 ended the run, with `newSegment: false`) it is attached to as it is.
 */
export async function takeUpRun(
  transport: HttpTransport,
  runId: string,
  options: ReconnectOptions,
  env: Record<string, string | undefined> = process.env,
): Promise<RunView> {
  const found = await transport.call('getRun', { params: { run: runId } });
  const ended = found.status !== 'running' && found.status !== 'created';
  const asked = options.rewindTo !== undefined || options.jobId !== undefined;
  if (options.newSegment ?? (asked || ended)) {
    const jobId = options.jobId ?? env.SLURM_JOB_ID ?? env.PBS_JOBID;
    const body = {
      ...(options.rewindTo === undefined ? {} : { rewindTo: options.rewindTo }),
      ...(jobId === undefined ? {} : { jobId }),
      host: options.host ?? hostname(),
    };
    const params = { run: found.id };
    return (await transport.call('startSegment', { params, body, idempotencyKey: randomUUID() })).run;
  }
  if (found.status !== 'created') return found;
  return transport.call('updateRun', { params: { run: found.id }, body: { status: 'running' } });
}

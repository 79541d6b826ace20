import type { RunStatus } from '../schemas.js';
import type { JsonNumber, RunView } from '../views.js';
import type { RouteSpec } from './routes.js';

/** One job's part of a run: a restart from a checkpoint appends a segment. Times in µs since the epoch. */
export interface SegmentView {
  number: number;
  jobId: string | null;
  host: string | null;
  /** The checkpoint step it restarted from: earlier segments' points at later steps are superseded. */
  rewindTo: number | null;
  started: number;
  ended: number | null;
  status: RunStatus;
}

/** A metric logged by MPI ranks, as series `NAME@rank=R`, with the ranks that logged it. */
export interface RankedMetricView {
  name: string;
  ranks: number[];
}

/** One metric across ranks, per step: the extremes, mean and which rank held each extreme (the lowest on ties). */
export interface RankSeriesView {
  name: string;
  ranks: number[];
  steps: number[];
  /** Ranks that logged each step. */
  count: number[];
  min: JsonNumber[];
  mean: JsonNumber[];
  max: JsonNumber[];
  argmin: (number | null)[];
  argmax: (number | null)[];
  /** The `from` of the next page, or null at the end. */
  next: number | null;
}

/** Per rank, the wall time per step of one metric; ranks slower than `factor` × the median are stragglers. */
export interface StragglerView {
  name: string;
  factor: number;
  /** Median seconds per step over the ranks. */
  median: number | null;
  ranks: {
    rank: number;
    steps: number;
    seconds: number;
    secondsPerStep: number | null;
    /** secondsPerStep / median. */
    ratio: number | null;
    straggler: boolean;
  }[];
}

/** Routes of HPC runs: restart segments and MPI ranks. */
export const HPC_ROUTES = {
  startSegment: {
    method: 'POST',
    path: '/runs/:run/segments',
    scope: 'write',
    summary:
      'Continue a run in a new job: appends a segment (job id, host, and rewindTo, the checkpoint step it restarts from) and marks the run running',
  },
  listSegments: {
    method: 'GET',
    path: '/runs/:run/segments',
    scope: 'read',
    summary: 'The segments of a run in order: number, job id, host, rewind step, start, end and status',
  },
  listRankedMetrics: {
    method: 'GET',
    path: '/runs/:run/ranks',
    scope: 'read',
    summary: 'Metrics logged by MPI ranks (series NAME@rank=R) and the ranks of each',
  },
  readRankSeries: {
    method: 'GET',
    path: '/runs/:run/ranks/series',
    scope: 'read',
    summary: 'One metric across MPI ranks per step: min, mean, max and the rank of the min and of the max',
    query: {
      name: 'metric name without @rank=',
      from: 'first step (inclusive)',
      to: 'last step (exclusive)',
      limit: 'steps per page, 1 to 50000 (default 10000; fewer when there are over 80 ranks)',
      ranks: "only these ranks, such as '0,2,5' (default: all)",
      includeSuperseded: "'true' also reads points a later segment's rewind superseded",
    },
  },
  readStragglers: {
    method: 'GET',
    path: '/runs/:run/ranks/stragglers',
    scope: 'read',
    summary:
      'Wall time per step of each MPI rank for one metric, and the ranks slower than the median by a factor',
    query: { name: 'metric name without @rank=', factor: 'how much slower than the median (default 1.5)' },
  },
} as const satisfies Record<string, RouteSpec>;

export interface HpcRouteResponses {
  startSegment: { run: RunView; segment: SegmentView };
  listSegments: { segments: SegmentView[] };
  listRankedMetrics: { metrics: RankedMetricView[] };
  readRankSeries: RankSeriesView;
  readStragglers: StragglerView;
}

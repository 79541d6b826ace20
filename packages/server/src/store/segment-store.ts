import type { RunStatus } from '@simscope/protocol';

/** One job's part of a run: a run continues across jobs (restarts from checkpoints) as numbered segments. */
export interface SegmentRecord {
  number: number;
  jobId: string | null;
  host: string | null;
  /** The checkpoint step this segment restarted from: earlier segments' points past it are superseded. */
  rewindTo: number | null;
  startedAt: number;
  endedAt: number | null;
  status: RunStatus;
}

export interface NewSegment {
  jobId: string | null;
  host: string | null;
  rewindTo: number | null;
  at: number;
}

/** A run's segments; part of `Store`. */
export interface SegmentStore {
  /**
   * Appends a segment and makes it the run's current one (the run `running` again). The first call also records
   * segment 1 from the run; a previous segment still `running` becomes `lost` (it ended without closing). With
   * `rewindTo`, earlier segments' points past that step are hidden; returns the series whose points were.
   */
  startSegment(runPk: number, segment: NewSegment): Promise<{ segment: SegmentRecord; rewound: number[] }>;
  /** The run's segments in order; one made from the run itself when it never restarted. */
  listSegments(runPk: number): Promise<SegmentRecord[]>;
}

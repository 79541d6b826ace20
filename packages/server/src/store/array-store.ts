import type { ArrayAxis, ArrayDtype, MetricSeries } from '@simscope/protocol';
import type { BatchKey, MetricClock } from './metric-store.js';

/** One deflated chunk of an array step's elements, stored as a blob. */
export interface ArrayChunk {
  sha256: string;
  /** Compressed bytes. */
  size: number;
}

/** One step of an array series: its index and summary; the elements are its chunks, in order. */
export interface ArrayStepRecord {
  pk: number;
  runPk: number;
  name: string;
  step: number;
  time: number | null;
  shape: number[];
  dtype: ArrayDtype;
  axes: ArrayAxis[] | null;
  min: number | null;
  max: number | null;
  mean: number | null;
  storedBytes: number;
  createdAt: number;
}

export type NewArrayStep = Omit<ArrayStepRecord, 'pk' | 'storedBytes'>;

/** One array series of a run, as listed. */
export interface ArraySeriesRecord {
  name: string;
  steps: number;
  firstStep: number;
  lastStep: number;
  dtype: ArrayDtype;
  shape: number[];
}

/** Metric points stored in the transaction that saves an array step (its summary, as metrics). */
export interface StepMetrics {
  key: BatchKey;
  series: readonly MetricSeries[];
  clock: MetricClock;
}

/** Array steps and their chunk index; part of `Store`. */
export interface ArrayStore {
  /**
   * Saves a step with its chunks (whose bytes are already in the blob store), replacing any step of that
   * (run, name, step); the replaced step's blobs are queued for collection. The metrics `metricsOf` gives for
   * the saved step are appended in the same transaction: the step and they are stored together or not at all.
   */
  saveArrayStep(
    step: NewArrayStep,
    chunks: readonly ArrayChunk[],
    metricsOf?: (saved: ArrayStepRecord) => StepMetrics | null,
  ): Promise<ArrayStepRecord>;
  /** The step, or with `nearest` the stored step nearest to it (the lower on a tie); null step: the last. */
  getArrayStep(
    runPk: number,
    name: string,
    step: number | null,
    nearest?: boolean,
  ): Promise<ArrayStepRecord | undefined>;
  /** Chunks of a step in order. */
  arrayChunks(stepPk: number): Promise<ArrayChunk[]>;
  /** Array series of a run by name, after `after`. */
  listArraySeries(runPk: number, after: string | null, limit: number): Promise<ArraySeriesRecord[]>;
  /** Steps of one series in step order, after step `after`. */
  listArraySteps(
    runPk: number,
    name: string,
    after: number | null,
    limit: number,
  ): Promise<ArrayStepRecord[]>;
}

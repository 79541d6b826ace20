import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type ArrayExportView, DTYPE_BYTES, elementCount, SimscopeError } from '@simscope/protocol';
import type { BlobStore } from '../blob/blob-store.js';
import type { ArrayStepRecord } from '../store/array-store.js';
import type { RunRecord } from '../store/store.js';
import { splitLevels } from './array-levels.js';
import { blobStoreOf, typedView, wholeChunks } from './array-service.js';
import type { ServiceContext } from './context.js';
import { NotFoundError } from './errors.js';
import { Hdf5Writer } from './hdf5-writer.js';

interface ExportJob {
  view: ArrayExportView;
  runPk: number;
  dir: string;
  path: string;
}

/** Finished exports are kept this long for their download, then deleted. */
const EXPORT_KEEP_MS = 60 * 60 * 1000;
/** Exports held at once (running or waiting to be fetched); the oldest finished one goes first. */
const MAX_EXPORTS = 16;
const STEP_PAGE = 1000;

/**
 * HDF5 exports of whole array series, written in the background into a temporary file in the recorder's layout:
 * `NAME/data` (steps × shape, the series' dtype), `NAME/step` (int64) and `NAME/time` (float64, NaN when none).
 */
export class ArrayExportService {
  readonly #blobs: BlobStore | null;
  readonly #jobs = new Map<string, ExportJob>();

  constructor(options: { blobs: BlobStore | null | undefined }) {
    this.#blobs = options.blobs ?? null;
  }

  async start(ctx: ServiceContext, run: RunRecord, name: string): Promise<ArrayExportView> {
    const blobs = blobStoreOf(this.#blobs);
    const [first] = await ctx.store.arrays.listArraySteps(run.pk, name, null, 1);
    if (!first) throw new NotFoundError('run', run.name, `has no array '${name}'`);
    const series = await ctx.store.arrays.listArraySeries(run.pk, null, Number.MAX_SAFE_INTEGER);
    const steps = series.find((s) => s.name === name)?.steps ?? 0;
    this.#makeRoom();
    const dir = await mkdtemp(join(tmpdir(), 'simscope-export-'));
    const id = randomUUID();
    const job: ExportJob = {
      view: { id, name, state: 'running', written: 0, steps, bytes: null, error: null },
      runPk: run.pk,
      dir,
      path: join(dir, 'export.h5'),
    };
    this.#jobs.set(id, job);
    this.#write(ctx, blobs, run, job)
      .then(async () => {
        job.view = { ...job.view, state: 'done', bytes: (await stat(job.path)).size };
      })
      .catch((error: unknown) => {
        job.view = {
          ...job.view,
          state: 'failed',
          error: error instanceof Error ? error.message : String(error),
        };
      })
      .finally(() => {
        setTimeout(() => {
          if (this.#jobs.get(id) === job) this.#drop(job);
        }, EXPORT_KEEP_MS).unref();
      });
    return { ...job.view };
  }

  view(run: RunRecord, id: string): ArrayExportView {
    return { ...this.#job(run, id).view };
  }

  /** The finished file as a stream and its size. */
  file(run: RunRecord, id: string): { stream: Readable; bytes: number; name: string } {
    const job = this.#job(run, id);
    if (job.view.state !== 'done' || job.view.bytes === null) {
      throw new SimscopeError(
        'conflict',
        job.view.state === 'failed'
          ? `export ${id} failed: ${job.view.error}`
          : `export ${id} is still running (${job.view.written} of ${job.view.steps} steps written)`,
      );
    }
    return { stream: createReadStream(job.path), bytes: job.view.bytes, name: job.view.name };
  }

  #job(run: RunRecord, id: string): ExportJob {
    const job = this.#jobs.get(id);
    if (!job || job.runPk !== run.pk) throw new NotFoundError('export', id);
    return job;
  }

  #makeRoom(): void {
    if (this.#jobs.size < MAX_EXPORTS) return;
    const finished = [...this.#jobs.values()].find((j) => j.view.state !== 'running');
    if (!finished)
      throw new SimscopeError('unavailable', `${MAX_EXPORTS} exports are running; try again later`);
    this.#drop(finished);
  }

  #drop(job: ExportJob): void {
    this.#jobs.delete(job.view.id);
    rm(job.dir, { recursive: true, force: true }).catch(() => {});
  }

  async #write(ctx: ServiceContext, blobs: BlobStore, run: RunRecord, job: ExportJob): Promise<void> {
    const file = await Hdf5Writer.open(job.path);
    try {
      const name = job.view.name;
      for (let after: number | null = null; ; ) {
        const page: ArrayStepRecord[] = await ctx.store.arrays.listArraySteps(run.pk, name, after, STEP_PAGE);
        for (const step of page) {
          const data = await stepElements(ctx, blobs, step);
          await file.record(
            [
              [`${name}/data`, { data, shape: step.shape }],
              [`${name}/step`, BigInt(step.step)],
              [`${name}/time`, step.time ?? Number.NaN],
            ],
            [data.buffer as ArrayBuffer],
          );
          job.view = {
            ...job.view,
            written: job.view.written + 1,
            steps: Math.max(job.view.steps, job.view.written + 1),
          };
        }
        const last = page[page.length - 1];
        if (page.length < STEP_PAGE || !last) break;
        after = last.step;
      }
    } finally {
      await file.close();
    }
  }
}

async function stepElements(ctx: ServiceContext, blobs: BlobStore, step: ArrayStepRecord) {
  const { main } = splitLevels(step.shape, step.dtype, await ctx.store.arrays.arrayChunks(step.pk));
  // Memory of its own (never Buffer's shared pool), filled as the chunks are decoded: it is handed over to the
  // writer's thread.
  const bytes = new Uint8Array(elementCount(step.shape) * DTYPE_BYTES[step.dtype]);
  let at = 0;
  for await (const part of wholeChunks(blobs, main, DTYPE_BYTES[step.dtype])) {
    bytes.set(part, at);
    at += part.length;
  }
  return typedView(step.dtype, Buffer.from(bytes.buffer));
}

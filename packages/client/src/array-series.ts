import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type ArrayDtype, type ArrayExportView, paginate } from '@simscope/protocol';
import type { HttpTransport } from './http-transport.js';

/** One element of an array series through its steps (`client.getArrayCell`). */
export interface ArrayCellSeries {
  dtype: ArrayDtype | null;
  steps: number[];
  times: (number | null)[];
  /** NaN where the value is NaN, or where a step's shape does not hold the cell. */
  values: Float64Array;
}

/** Reads the value of element `cell` at every step of an array series (from step `from`), all pages. */
export async function readArrayCell(
  transport: HttpTransport,
  run: string,
  name: string,
  cell: readonly number[],
  from: number | undefined,
): Promise<ArrayCellSeries> {
  const out: { dtype: ArrayDtype | null; steps: number[]; times: (number | null)[]; values: number[] } = {
    dtype: null,
    steps: [],
    times: [],
    values: [],
  };
  const pages = paginate(async (next) => {
    const page = await transport.call('readArrayCell', {
      params: { run },
      query: { name, cell: cell.join(','), from, next: next ?? undefined },
    });
    return { items: [page], next: page.next };
  });
  for await (const [page] of pages) {
    if (!page) continue;
    out.dtype ??= page.dtype;
    out.steps.push(...page.steps);
    out.times.push(...page.times);
    out.values.push(...page.values.map((v) => (v === null ? Number.NaN : Number(v))));
  }
  return { ...out, values: Float64Array.from(out.values) };
}

/** How often an export's progress is asked for. */
const EXPORT_POLL_MS = 250;

/**
 * Has the server write array series `name` of `run` to HDF5, reporting progress, and saves the file at `path`
 * (through a temporary file beside it); returns the absolute path.
 */
export async function exportArrays(
  transport: HttpTransport,
  run: string,
  name: string,
  path: string,
  onProgress: ((view: ArrayExportView) => void) | undefined,
): Promise<string> {
  let view = await transport.call('exportArrays', { params: { run }, query: { name } });
  onProgress?.(view);
  while (view.state === 'running') {
    await new Promise((r) => setTimeout(r, EXPORT_POLL_MS));
    view = await transport.call('getArrayExport', { params: { run, export: view.id } });
    onProgress?.(view);
  }
  if (view.state === 'failed') throw new Error(`export of ${name} failed: ${view.error}`);
  const target = resolve(path);
  await mkdir(dirname(target), { recursive: true });
  const temp = `${target}.${view.id}.part`;
  try {
    const res = await transport.streamCall('readArrayExport', { params: { run, export: view.id } });
    await pipeline(Readable.from(res.body as AsyncIterable<Buffer>), createWriteStream(temp));
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return target;
}

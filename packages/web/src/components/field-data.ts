import type { ArrayDataView, ArrayStepView } from '@simscope/protocol';
import { useEffect, useState } from 'react';
import type { Api } from '../api.js';

/** Elements a view asks for at most per dimension: the server strides the field down to it. */
const VIEW_SIDE = 512;
const LINE_POINTS = 4096;

/** Sides from which the server keeps a coarse level of a 2-D step (every 4th element): views stride by 4s there. */
const LEVEL_SIDE = 2048;
const LEVEL_STEP = 4;

/** The stride that brings a side of `n` of `shape` within the view; a multiple of 4 where the server keeps a level. */
function viewStride(n: number, shape: readonly number[]): number {
  const stride = Math.max(1, Math.ceil(n / VIEW_SIDE));
  const levelled = shape.length === 2 && shape.every((side) => side >= LEVEL_SIDE);
  return levelled ? Math.ceil(stride / LEVEL_STEP) * LEVEL_STEP : stride;
}

/** The rows and columns of the whole field between two of the view's. */
export function viewStrides(shape: readonly number[]): [number, number] {
  const [sy = 1, sx = 1] = shape.slice(-2).map((n) => viewStride(n, shape));
  return [sy, sx];
}

/** The region that shows a field within the view: strides for big dimensions, the middle slab of a 3-D one. */
function viewRegion(shape: readonly number[]): string {
  if (shape.length === 1) return `::${Math.max(1, Math.ceil((shape[0] ?? 1) / LINE_POINTS))}`;
  const dims = shape.length === 3 ? shape.slice(1) : shape;
  const parts = dims.map((n) => `::${viewStride(n, shape)}`);
  return shape.length === 3 ? [String(Math.floor((shape[0] ?? 0) / 2)), ...parts].join(',') : parts.join(',');
}

/** The view of `step` of `run` (null until read, or when there is no step); errors go to `onError`. */
export function useArrayView(
  api: Api,
  run: string | null,
  step: ArrayStepView | undefined,
  onError: (message: string) => void,
): ArrayDataView | null {
  const [data, setData] = useState<ArrayDataView | null>(null);
  useEffect(() => {
    if (!step || run === null) {
      setData(null);
      return;
    }
    const abort = new AbortController();
    api
      .call('readArray', {
        params: { run },
        query: { name: step.name, step: step.step, region: viewRegion(step.shape), format: 'json' },
        signal: abort.signal,
      })
      .then(
        (d) => setData(d as ArrayDataView),
        (e: unknown) => abort.signal.aborted || onError(String(e)),
      );
    return () => abort.abort();
  }, [api, run, step, onError]);
  return data;
}

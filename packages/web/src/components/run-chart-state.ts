import { useEffect, useState } from 'react';
import type { Api } from '../api.js';
import { type ChartOverlay, OVERLAY_CAP } from './chart-metric-picker.js';

/** Metrics added to each chart of a run, by the chart's own metric. */
export type Overlays = Readonly<Record<string, readonly ChartOverlay[]>>;

/**
 * The `with` parameter: `[[chart, added, right], …]` as JSON (metric names may hold any character), e.g.
 * `[["loss","val_loss",0],["loss","lr",1]]`; anything malformed is left out.
 */
export function overlaysFromQuery(text: string | null): Overlays {
  if (!text) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return {};
  }
  if (!Array.isArray(raw)) return {};
  const out: Record<string, ChartOverlay[]> = {};
  for (const item of raw) {
    if (!Array.isArray(item)) continue;
    const [chart, metric, right] = item as unknown[];
    if (typeof chart !== 'string' || typeof metric !== 'string' || chart === metric) continue;
    const list = out[chart] ?? [];
    out[chart] = list;
    if (list.length < OVERLAY_CAP && !list.some((o) => o.metric === metric)) {
      list.push({ metric, right: right === 1 || right === true });
    }
  }
  return out;
}

export function overlaysToQuery(overlays: Overlays): string | null {
  const flat = Object.entries(overlays).flatMap(([chart, list]) =>
    list.map((o) => [chart, o.metric, o.right ? 1 : 0]),
  );
  return flat.length > 0 ? JSON.stringify(flat) : null;
}

/** Whether the run has any events at all (asked once, and again on live ticks until it has). */
export function useHasEvents(api: Api, run: string, tick: number): boolean {
  const [has, setHas] = useState(false);
  useEffect(() => {
    if (has) return;
    const abort = new AbortController();
    api.events(run, { limit: 1 }, abort.signal).then(
      (page) => !abort.signal.aborted && setHas(page.items.length > 0),
      () => {},
    );
    return () => abort.abort();
  }, [api, run, tick, has]);
  return has;
}

/** `value`, once it has stayed the same for `ms` (typing in a filter box asks the server once). */
export function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

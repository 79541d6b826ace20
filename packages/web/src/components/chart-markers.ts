import { type EventView, LIMITS } from '@simscope/protocol';
import { MSGPACK_TYPE, paginate } from '@simscope/protocol/api';
import { Unpackr } from 'msgpackr';
import { type RefObject, useEffect, useRef, useState } from 'react';
import type { Api } from '../api.js';
import {
  type Clock,
  clockOf,
  type PlacedMarkers,
  placeMarkers,
  timestampOfX,
} from '../chart/event-markers.js';
import type { LineChart, XAxis } from '../chart/line-chart.js';

/** The run's events a chart shows as markers: whose, and the text they must contain. */
export interface ChartEvents {
  run: string;
  filter: string;
}

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
const TWO_32 = 2 ** 32;

/** A msgpack binary column of little-endian int64 (steps, timestamps) as numbers. */
function int64Column(bytes: Uint8Array): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(bytes.byteLength / 8);
  for (let i = 0; i < out.length; i++) {
    out[i] = view.getInt32(i * 8 + 4, true) * TWO_32 + view.getUint32(i * 8, true);
  }
  return out;
}

function float64Column(bytes: Uint8Array): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(bytes.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

/** One page of `readSeries` in msgpack with the asked columns. */
interface ClockPage {
  steps?: Uint8Array;
  times?: Uint8Array;
  timestamps?: Uint8Array;
  next: string | null;
}

/** A metric's x (step or time) and timestamp columns, all pages, as binary msgpack columns. */
async function loadClock(api: Api, run: string, metric: string, axis: 'step' | 'time', signal: AbortSignal) {
  const xs: Float64Array[] = [];
  const ts: Float64Array[] = [];
  const pages = paginate(async (next) => {
    const query = { name: metric, columns: `${axis},timestamp`, ...(next ? { next } : {}) };
    const res = await fetch(api.routeUrl('readSeries', { params: { run }, query }), {
      headers: api.headers({ accept: MSGPACK_TYPE }),
      signal,
    });
    if (!res.ok)
      throw new Error(`events on the chart: the ${axis}s of ${metric} answered HTTP ${res.status}`);
    const page = unpackr.unpack(new Uint8Array(await res.arrayBuffer())) as ClockPage;
    return { items: [page], next: page.next };
  });
  for await (const [page] of pages) {
    if (!page) continue;
    const x = axis === 'step' ? page.steps : page.times;
    xs.push(x ? (axis === 'step' ? int64Column(x) : float64Column(x)) : new Float64Array(0));
    ts.push(page.timestamps ? int64Column(page.timestamps) : new Float64Array(0));
  }
  return clockOf(join(xs), join(ts));
}

function join(parts: Float64Array[]): Float64Array {
  if (parts.length === 1) return parts[0] ?? new Float64Array(0);
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The events in view: one page (the server's largest) of those containing `filter`, from the range's start. */
async function loadEvents(
  api: Api,
  events: ChartEvents,
  span: [number, number] | null,
  signal: AbortSignal,
): Promise<{ items: EventView[]; next: string | null }> {
  const query = {
    q: events.filter || undefined,
    order: 'asc' as const,
    limit: LIMITS.pageSize,
    ...(span ? { from: Math.floor(span[0]), to: Math.ceil(span[1]) + 1 } : {}),
  };
  return api.events(events.run, query, signal);
}

/**
 * The markers of a chart's run events over its x range: placed through the metric's clock on a step or time axis
 * (loaded once per metric and axis, and again on a live tick when some events fell past it), capped, and counted.
 */
export function useChartMarkers(args: {
  api: Api;
  events: ChartEvents | null;
  metric: string;
  axis: XAxis;
  /** The chart's data: its x range, and its sequence number (each new drawing gets the markers again). */
  loaded: { range: [number, number]; zoomed: boolean; seq: number } | null;
  liveTick: number;
  /** The chart to draw the markers on. */
  chartRef: RefObject<LineChart | null>;
}): PlacedMarkers | null {
  const { api, events, metric, axis, loaded, liveTick, chartRef } = args;
  const range = loaded?.range ?? null;
  const zoomed = loaded?.zoomed ?? false;
  const seq = loaded?.seq ?? 0;
  const [placed, setPlaced] = useState<PlacedMarkers | null>(null);
  const clocks = useRef(new Map<string, Clock>());
  const run = events?.run ?? null;
  const filter = events?.filter ?? '';
  const from = range?.[0];
  const to = range?.[1];

  const unmapped = useRef(false);
  useEffect(() => {
    if (liveTick > 0 && unmapped.current) clocks.current.clear();
  }, [liveTick]);

  useEffect(() => {
    if (run === null || from === undefined || to === undefined) {
      setPlaced(null);
      return;
    }
    const abort = new AbortController();
    const view: [number, number] = [from, to];
    const load = async () => {
      let clock: Clock | null = null;
      if (axis !== 'timestamp') {
        const key = `${run}\n${metric}\n${axis}`;
        clock = clocks.current.get(key) ?? (await loadClock(api, run, metric, axis, abort.signal));
        clocks.current.set(key, clock);
      }
      let span: [number, number] | null = null;
      if (zoomed) {
        const a = clock ? timestampOfX(clock, view[0]) : view[0];
        const b = clock ? timestampOfX(clock, view[1]) : view[1];
        span = a !== null && b !== null ? [a, b] : null;
      }
      const page = await loadEvents(api, { run, filter }, span, abort.signal);
      const out = placeMarkers(page.items, axis, clock, view);
      unmapped.current = out.unmapped > 0;
      return { ...out, moreUnknown: page.next !== null };
    };
    load().then(
      (got) => !abort.signal.aborted && setPlaced(got),
      () => !abort.signal.aborted && setPlaced(null),
    );
    return () => abort.abort();
  }, [api, run, filter, metric, axis, from, to, zoomed, liveTick]);

  useEffect(() => {
    chartRef.current?.setMarkers(placed ? placed.markers.map((m) => m.x) : []);
  }, [placed, seq]);
  return placed;
}

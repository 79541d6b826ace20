import type { ArtifactView, RunTablePage } from '@simscope/protocol';
import { LIMITS, M4_COLUMNS } from '@simscope/protocol';
// The route table through the zod-free subpath: paths, methods and answer types, no schemas.
import {
  API_PREFIX,
  type LiveClosed,
  type LiveMessage,
  type Me,
  MSGPACK_TYPE,
  type Page,
  paginate,
  pathOf,
  ROUTES,
  type RouteName,
  type RouteParams,
  type RouteResponse,
  WORKSPACE_HEADER,
} from '@simscope/protocol/api';
import { Unpackr } from 'msgpackr';
import type { Buckets } from './chart/columns.js';
import type { XAxis } from './chart/line-chart.js';
import { csrfOf } from './web-session.js';

/** An error answer of the API: its stable code, the message naming the field, and details. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: { position?: number; [key: string]: unknown },
  ) {
    super(message);
  }
}

export type { LiveClosed, LiveMessage, Me, RunTablePage };

export interface Downsampled extends Buckets {
  name: string;
  x: XAxis;
}

type Query = Record<string, string | number | boolean | undefined | null>;

/** One call of a route of the table: its `:name` parameters (where its path has some), query and JSON body. */
type CallInput<R extends RouteName> = (keyof RouteParams<R> extends never
  ? { params?: undefined }
  : { params: RouteParams<R> }) & { query?: Query; body?: unknown; signal?: AbortSignal | undefined };

/** The input argument of a call: optional where the route has no path parameters. */
type CallArgs<R extends RouteName> = keyof RouteParams<R> extends never
  ? [input?: CallInput<R>]
  : [input: CallInput<R>];

/** The routes of the table that answer a page of a listing. */
type ListRoute = { [R in RouteName]: RouteResponse<R> extends Page<unknown> ? R : never }[RouteName];
type ListItem<R extends ListRoute> = RouteResponse<R> extends Page<infer T> ? T : never;

/** JSON numbers with NaN and infinities as the strings the API uses. */
export function num(v: number | string | null | undefined): number {
  if (typeof v === 'number') return v;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return Number.NaN;
}

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A msgpack binary column of little-endian float64 as an array (copied: the bytes may sit unaligned). */
function float64Column(bytes: Uint8Array): Float64Array {
  if (LITTLE_ENDIAN) return new Float64Array(bytes.slice().buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(bytes.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

/** The REST API as the signed-in user sees it. */
export class Api {
  constructor(
    readonly token: string,
    readonly workspace: string | null = null,
    /** Called once when the server ends the session's live stream for good (a revoked or expired token…). */
    readonly onSessionEnded: (closed: LiveClosed) => void = () => {},
  ) {}

  /** The URL of a path under the API prefix (a route's, from `pathOf`), with the query's non-empty values. */
  url(path: string, query: Query = {}): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
    }
    const q = params.toString();
    return `${API_PREFIX}${path}${q ? `?${q}` : ''}`;
  }

  /** The URL of a route of the table with its parameters filled in. */
  routeUrl<R extends RouteName>(route: R, ...[input]: CallArgs<R>): string {
    return this.url(pathOf(ROUTES[route], (input?.params ?? {}) as Record<string, string>), input?.query);
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const csrf = csrfOf(this.token);
    const h: Record<string, string> =
      csrf === null
        ? { authorization: `Bearer ${this.token}`, ...extra }
        : { 'x-simscope-csrf': csrf, ...extra };
    if (this.workspace) h[WORKSPACE_HEADER] = this.workspace;
    return h;
  }

  /**
   * Calls a route of the table: the path from the route and `params`, the query in the URL, `body` as JSON; the
   * answer has the route's type.
   * @example const run = await api.call('getRun', { params: { run: id }, signal });
   */
  call<R extends RouteName>(route: R, ...[input]: CallArgs<R>): Promise<RouteResponse<R>> {
    const spec = ROUTES[route];
    const path = pathOf(spec, (input?.params ?? {}) as Record<string, string>);
    return this.request(spec.method, path, input?.query, input?.body, input?.signal);
  }

  /** A listing route page by page (the protocol's paginator), following each page's cursor. */
  pages<R extends ListRoute>(route: R, ...[input]: CallArgs<R>): AsyncGenerator<ListItem<R>[]> {
    return paginate((next) => {
      const paged = { ...input, query: { ...input?.query, next } } as CallInput<R>;
      return this.call(route, ...([paged] as CallArgs<R>)) as Promise<Page<ListItem<R>>>;
    });
  }

  async request<T>(
    method: string,
    path: string,
    query: Query = {},
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<T> {
    const res = await fetch(this.url(path, query), {
      method,
      headers: this.headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(signal ? { signal } : {}),
    });
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiError(res.status, 'bad_answer', `the server answered ${res.status} with no JSON`);
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code: string; message: string; details?: never } })?.error;
      throw new ApiError(res.status, e?.code ?? 'error', e?.message ?? `HTTP ${res.status}`, e?.details);
    }
    return parsed as T;
  }

  me(): Promise<Me> {
    return this.call('me');
  }

  run(id: string, signal?: AbortSignal): Promise<RouteResponse<'getRun'>> {
    return this.call('getRun', { params: { run: id }, signal });
  }

  patchRun(id: string, body: Record<string, unknown>): Promise<RouteResponse<'updateRun'>> {
    return this.call('updateRun', { params: { run: id }, body });
  }

  deleteRun(id: string): Promise<void> {
    return this.call('deleteRun', { params: { run: id } });
  }

  abortRun(id: string, reason: string | null): Promise<unknown> {
    return this.call('requestAbort', { params: { run: id }, body: reason ? { reason } : {} });
  }

  /** The runs where an alert is critical, by run name. */
  criticalRuns(
    alert: string,
    next: string | null,
    signal?: AbortSignal,
  ): Promise<RouteResponse<'listAlertRuns'>> {
    const query = { critical: true, limit: 1000, next };
    return this.call('listAlertRuns', { params: { alert }, query, signal });
  }

  runTable(
    query: {
      filter?: string;
      columns?: string[];
      limit?: number;
      next?: string | null;
      metricNames?: boolean;
      folderCounts?: boolean;
    },
    signal?: AbortSignal,
  ): Promise<RunTablePage> {
    return this.call('runTable', {
      query: {
        filter: query.filter,
        columns: query.columns && query.columns.length > 0 ? JSON.stringify(query.columns) : undefined,
        limit: query.limit,
        next: query.next,
        metricNames: query.metricNames ? 'true' : undefined,
        folderCounts: query.folderCounts ? 'true' : undefined,
      },
      signal,
    });
  }

  /**
   * Every page of the run table through the protocol's paginator: the first `first` rows (default `limit`), then
   * `limit` a page. With `prefetch`, the next page is asked for as soon as a page arrives, so the server makes it
   * while the caller adds this one.
   */
  async *runTablePages(
    query: { filter?: string; columns?: string[]; limit: number; first?: number; prefetch?: boolean },
    signal?: AbortSignal,
  ): AsyncGenerator<RunTablePage> {
    const { first, prefetch, ...rest } = query;
    const fetchPage = (next: string | null) =>
      this.runTable({ ...rest, limit: next === null ? (first ?? rest.limit) : rest.limit, next }, signal);
    let ahead: { next: string; page: Promise<RunTablePage> } | null = null;
    const pages = paginate(async (next) => {
      const page = await (ahead && ahead.next === next ? ahead.page : fetchPage(next));
      ahead = prefetch && page.next ? { next: page.next, page: fetchPage(page.next) } : null;
      ahead?.page.catch(() => {});
      return { items: [page], next: page.next };
    });
    for await (const items of pages) yield* items;
  }

  metrics(run: string, signal?: AbortSignal): Promise<RouteResponse<'listMetricNames'>> {
    return this.call('listMetricNames', { params: { run }, signal });
  }

  /**
   * One metric of many runs in M4 buckets on one grid (without `from` and `to`, the span of all of them), in as few
   * requests as the server's limits allow; null for a run that lacks the metric.
   */
  async downsampleRuns(
    runs: readonly string[],
    name: string,
    axis: XAxis,
    range: { from: number; to: number; buckets: number } | { buckets: number },
    signal?: AbortSignal,
  ): Promise<(Downsampled | null)[]> {
    const per = Math.max(
      1,
      Math.min(LIMITS.downsampleRuns, Math.floor(LIMITS.downsampleTotalBuckets / range.buckets)),
    );
    const out: (Downsampled | null)[] = [];
    for (let start = 0; start < runs.length; start += per) {
      const part = runs.slice(start, start + per);
      // msgpack: the columns come as binary float64, with nothing to parse.
      const res = await fetch(this.routeUrl('downsampleRuns'), {
        method: ROUTES.downsampleRuns.method,
        headers: this.headers({ accept: MSGPACK_TYPE, 'content-type': 'application/json' }),
        body: JSON.stringify({ runs: part, name, x: axis, ...range }),
        ...(signal ? { signal } : {}),
      });
      if (!res.ok) {
        const e = (
          (await res.json().catch(() => undefined)) as
            | { error?: { code: string; message: string } }
            | undefined
        )?.error;
        throw new ApiError(res.status, e?.code ?? 'error', e?.message ?? `HTTP ${res.status}`);
      }
      const raw = unpackr.unpack(new Uint8Array(await res.arrayBuffer())) as {
        from: number;
        to: number;
        runs: Record<string, unknown>[];
      };
      for (const item of raw.runs) {
        if (item.error) {
          out.push(null);
          continue;
        }
        const columns = Object.fromEntries(M4_COLUMNS.map((k) => [k, float64Column(item[k] as Uint8Array)]));
        out.push({
          name,
          x: axis,
          from: raw.from,
          to: raw.to,
          ...(columns as Record<(typeof M4_COLUMNS)[number], Float64Array>),
        });
      }
    }
    return out;
  }

  /** Every point of a metric with x in `[from, to)` on the step axis (all pages). */
  async series(
    run: string,
    name: string,
    axis: XAxis,
    signal?: AbortSignal,
  ): Promise<{ x: Float64Array; y: Float64Array }> {
    const column = axis === 'step' ? 'step' : axis === 'time' ? 'time' : 'timestamp';
    const key = axis === 'step' ? 'steps' : axis === 'time' ? 'times' : 'timestamps';
    const xs: number[] = [];
    const ys: number[] = [];
    const query = { name, columns: `${column},value` };
    const pages = paginate(async (next) => {
      const page = await this.call('readSeries', { params: { run }, query: { ...query, next }, signal });
      return { items: [page], next: page.next };
    });
    for await (const items of pages) {
      for (const page of items) {
        const px = page[key] ?? [];
        for (let i = 0; i < px.length; i++) {
          xs.push(px[i] ?? Number.NaN);
          ys.push(num(page.values?.[i]));
        }
      }
    }
    // Sorted by step; time and timestamp nearly always follow, but sort to be sure.
    const order = xs.map((_, i) => i);
    const at = (values: number[], i: number) => values[i] ?? Number.NaN;
    if (axis !== 'step') order.sort((a, b) => at(xs, a) - at(xs, b));
    return { x: Float64Array.from(order, (i) => at(xs, i)), y: Float64Array.from(order, (i) => at(ys, i)) };
  }

  events(
    run: string,
    query: {
      q?: string;
      level?: string;
      order?: 'asc' | 'desc';
      limit?: number;
      next?: string | null;
      from?: number;
    },
    signal?: AbortSignal,
  ): Promise<RouteResponse<'listEvents'>> {
    return this.call('listEvents', { params: { run }, query, signal });
  }

  folder(idOrPath: string): Promise<RouteResponse<'getFolder'>> {
    return this.call('getFolder', { params: { folder: idOrPath } });
  }

  patchFolder(idOrPath: string, body: Record<string, unknown>): Promise<RouteResponse<'updateFolder'>> {
    return this.call('updateFolder', { params: { folder: idOrPath }, body });
  }

  /**
   * An artifact's bytes as a Blob of its type, fetched with the token in a header (a plain link could not
   * send it); `maxBytes` asks for the first bytes only (a range), for a preview.
   */
  async artifactContent(
    run: string,
    artifact: ArtifactView,
    maxBytes?: number,
    signal?: AbortSignal,
  ): Promise<Blob> {
    const ranged = maxBytes !== undefined && artifact.size > maxBytes;
    const res = await fetch(
      this.routeUrl('readArtifact', { params: { run }, query: { name: artifact.name } }),
      {
        headers: this.headers(ranged ? { range: `bytes=0-${maxBytes - 1}` } : {}),
        ...(signal ? { signal } : {}),
      },
    );
    if (!res.ok) {
      const e = (
        (await res.json().catch(() => undefined)) as { error?: { code: string; message: string } } | undefined
      )?.error;
      throw new ApiError(res.status, e?.code ?? 'error', e?.message ?? `HTTP ${res.status}`);
    }
    return new Blob([await res.arrayBuffer()], { type: artifact.mimeType });
  }

  runAlerts(
    run: string,
    signal?: AbortSignal,
    query: { critical?: boolean } = {},
  ): Promise<RouteResponse<'listRunAlerts'>> {
    return this.call('listRunAlerts', { params: { run }, query, signal });
  }

  alertHistory(run: string, alert: string, signal?: AbortSignal): Promise<RouteResponse<'alertHistory'>> {
    return this.call('alertHistory', { params: { run, alert }, query: { limit: 100 }, signal });
  }

  telemetryServices(signal?: AbortSignal): Promise<RouteResponse<'telemetryServices'>> {
    return this.call('telemetryServices', { signal });
  }

  telemetryUsage(
    query: { service: string; from?: number; to?: number; bucket?: string },
    signal?: AbortSignal,
  ): Promise<RouteResponse<'telemetryUsage'>> {
    return this.call('telemetryUsage', { query, signal });
  }

  telemetryRecords(
    query: { service: string; order?: 'asc' | 'desc'; limit?: number; function?: string },
    signal?: AbortSignal,
  ): Promise<RouteResponse<'telemetryRecords'>> {
    return this.call('telemetryRecords', { query, signal });
  }

  /**
   * Follows `GET /live` (server-sent events read with fetch, so the token travels in a header, never in a
   * URL) and reconnects after a drop until `signal` aborts. After `event: closed` (the token or membership no longer
   * lets it read) it stops and tells `onSessionEnded` instead of reconnecting.
   */
  async live(
    runs: string[] | null,
    onMessage: (m: LiveMessage) => void,
    onReady: () => void,
    signal: AbortSignal,
  ): Promise<void> {
    while (!signal.aborted) {
      try {
        const res = await fetch(
          this.routeUrl('live', { query: { runs: runs ? runs.join(',') : undefined } }),
          {
            headers: this.headers({ accept: 'text/event-stream' }),
            signal,
          },
        );
        if (!res.ok || !res.body)
          throw new ApiError(res.status, 'live', `live stream answered ${res.status}`);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut = buffer.indexOf('\n\n');
          while (cut >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            cut = buffer.indexOf('\n\n');
            let event = 'message';
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (event === 'ready') onReady();
            else if (event === 'closed') {
              if (!signal.aborted) this.onSessionEnded(JSON.parse(data) as LiveClosed);
              return;
            } else if (data) onMessage(JSON.parse(data) as LiveMessage);
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

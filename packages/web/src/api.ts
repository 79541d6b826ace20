import type {
  AlertListItem,
  AlertTransitionView,
  ArtifactView,
  EventView,
  FolderView,
  RunAlertView,
  RunTablePage,
  RunView,
  SeriesView,
  TelemetryRecordView,
  TelemetryServiceView,
  TelemetryUsageView,
} from '@simscope/protocol';
import { LIMITS, M4_COLUMNS } from '@simscope/protocol';
import { Unpackr } from 'msgpackr';
import type { Buckets } from './chart/columns.js';
import type { XAxis } from './chart/line-chart.js';

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

export interface Me {
  user: { id: string; name: string; email: string | null; admin: boolean };
  token: { id: string; name: string; scopes: string[]; expires: number | null };
  workspace: { id: string; name: string };
  workspaces: { id: string; name: string }[];
}

export type { RunTablePage };

export interface Downsampled extends Buckets {
  name: string;
  x: XAxis;
}

export interface SeriesPage {
  steps?: number[];
  times?: number[];
  timestamps?: number[];
  values: (number | string)[];
  next: string | null;
}

export type LiveMessage =
  | { type: 'run'; run: RunView }
  | { type: 'deleted'; run: string }
  | { type: 'metrics'; run: string; names: string[] }
  | { type: 'events'; run: string }
  | { type: 'folder'; path: string };

/** Why the server ended a live stream for good (`event: closed`): the token or membership no longer lets it read. */
export interface LiveClosed {
  reason: 'token_revoked' | 'token_expired' | 'membership_removed' | 'user_deleted';
  message: string;
}

type Query = Record<string, string | number | boolean | undefined | null>;

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

  url(path: string, query: Query = {}): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
    }
    const q = params.toString();
    return `/api/v1${path}${q ? `?${q}` : ''}`;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { authorization: `Bearer ${this.token}`, ...extra };
    if (this.workspace) h['simscope-workspace'] = this.workspace;
    return h;
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

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, query, undefined, signal);
  }

  me(): Promise<Me> {
    return this.get('/me');
  }

  run(id: string, signal?: AbortSignal): Promise<RunView> {
    return this.get(`/runs/${encodeURIComponent(id)}`, {}, signal);
  }

  patchRun(id: string, body: Record<string, unknown>): Promise<RunView> {
    return this.request('PATCH', `/runs/${encodeURIComponent(id)}`, {}, body);
  }

  deleteRun(id: string): Promise<void> {
    return this.request('DELETE', `/runs/${encodeURIComponent(id)}`);
  }

  abortRun(id: string, reason: string | null): Promise<unknown> {
    return this.request('POST', `/runs/${encodeURIComponent(id)}/abort`, {}, reason ? { reason } : {});
  }

  alerts(
    next: string | null,
    signal?: AbortSignal,
  ): Promise<{ items: AlertListItem[]; next: string | null }> {
    return this.get('/alerts', { limit: 1000, next }, signal);
  }

  /** The runs where an alert is critical, by run name. */
  criticalRuns(
    alert: string,
    next: string | null,
    signal?: AbortSignal,
  ): Promise<{ items: RunAlertView[]; next: string | null }> {
    return this.get(
      `/alerts/${encodeURIComponent(alert)}/runs`,
      { critical: true, limit: 1000, next },
      signal,
    );
  }

  runTable(
    query: {
      filter?: string;
      columns?: string[];
      limit?: number;
      next?: string | null;
      metricNames?: boolean;
    },
    signal?: AbortSignal,
  ): Promise<RunTablePage> {
    return this.get(
      '/run-table',
      {
        filter: query.filter,
        columns: query.columns && query.columns.length > 0 ? JSON.stringify(query.columns) : undefined,
        limit: query.limit,
        next: query.next,
        metricNames: query.metricNames ? 'true' : undefined,
      },
      signal,
    );
  }

  metrics(run: string, signal?: AbortSignal): Promise<{ items: SeriesView[] }> {
    return this.get(`/runs/${encodeURIComponent(run)}/metrics`, {}, signal);
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
      const res = await fetch(this.url('/metrics/downsample'), {
        method: 'POST',
        headers: this.headers({ accept: 'application/msgpack', 'content-type': 'application/json' }),
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
    let next: string | null = null;
    do {
      const page: SeriesPage = await this.get(
        `/runs/${encodeURIComponent(run)}/metrics/series`,
        { name, columns: `${column},value`, next },
        signal,
      );
      const px = page[key] ?? [];
      for (let i = 0; i < px.length; i++) {
        xs.push(px[i]!);
        ys.push(num(page.values[i]));
      }
      next = page.next;
    } while (next);
    // Sorted by step; time and timestamp nearly always follow, but sort to be sure.
    const order = xs.map((_, i) => i);
    if (axis !== 'step') order.sort((a, b) => xs[a]! - xs[b]!);
    return { x: Float64Array.from(order, (i) => xs[i]!), y: Float64Array.from(order, (i) => ys[i]!) };
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
  ): Promise<{ items: EventView[]; next: string | null }> {
    return this.get(`/runs/${encodeURIComponent(run)}/events`, query, signal);
  }

  folders(
    query: { prefix?: string; path?: string; next?: string | null; limit?: number } = {},
  ): Promise<{ items: FolderView[]; next: string | null }> {
    return this.get('/folders', query);
  }

  folder(idOrPath: string): Promise<FolderView> {
    return this.get(`/folders/${encodeURIComponent(idOrPath)}`);
  }

  patchFolder(idOrPath: string, body: Record<string, unknown>): Promise<FolderView> {
    return this.request('PATCH', `/folders/${encodeURIComponent(idOrPath)}`, {}, body);
  }

  artifacts(
    run: string,
    next: string | null,
    signal?: AbortSignal,
  ): Promise<{ items: ArtifactView[]; next: string | null }> {
    return this.get(`/runs/${encodeURIComponent(run)}/artifacts`, { limit: 1000, next }, signal);
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
      this.url(`/runs/${encodeURIComponent(run)}/artifacts/content`, { name: artifact.name }),
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
  ): Promise<{ items: RunAlertView[] }> {
    return this.get(`/runs/${encodeURIComponent(run)}/alerts`, query, signal);
  }

  alertHistory(
    run: string,
    alert: string,
    signal?: AbortSignal,
  ): Promise<{ items: AlertTransitionView[]; next: string | null }> {
    return this.get(
      `/runs/${encodeURIComponent(run)}/alerts/${encodeURIComponent(alert)}/history`,
      { limit: 100 },
      signal,
    );
  }

  telemetryServices(signal?: AbortSignal): Promise<{ items: TelemetryServiceView[] }> {
    return this.get('/telemetry/services', {}, signal);
  }

  telemetryUsage(
    query: { service: string; from?: number; to?: number; bucket?: string },
    signal?: AbortSignal,
  ): Promise<TelemetryUsageView> {
    return this.get('/telemetry/usage', query, signal);
  }

  telemetryRecords(
    query: { service: string; order?: 'asc' | 'desc'; limit?: number; function?: string },
    signal?: AbortSignal,
  ): Promise<{ items: TelemetryRecordView[]; next: string | null }> {
    return this.get('/telemetry/records', query, signal);
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
        const res = await fetch(this.url('/live', { runs: runs ? runs.join(',') : undefined }), {
          headers: this.headers({ accept: 'text/event-stream' }),
          signal,
        });
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

import type { Json } from '@simscope/protocol';

/** A microsecond timestamp as local date and time, to the second. */
export function formatTime(us: number | null | undefined): string {
  if (us === null || us === undefined) return '—';
  const d = new Date(us / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Seconds as `1h 02m`, `3m 04s`, `5.2s`. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m ${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/**
 * When a run stopped, for its duration: its end, or for a `lost` run its last heartbeat (it stopped reporting
 * then; it did not end), else null while it runs.
 */
export function runEnd(run: {
  status: string;
  started: number | null;
  ended: number | null;
  heartbeat: number | null;
}): number | null {
  return run.status === 'lost' ? (run.ended ?? run.heartbeat ?? run.started) : run.ended;
}

/** How long a run ran (or has been running), in seconds. */
export function runDuration(
  started: number | null,
  ended: number | null,
  now = Date.now() * 1000,
): number | null {
  if (started === null) return null;
  return ((ended ?? now) - started) / 1e6;
}

/** A number for a table cell: short, exact enough to compare. */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(4);
  return String(+v.toPrecision(6));
}

/** Any JSON value as text for a cell (strings as they are; never HTML). */
export function formatValue(v: Json | undefined): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return formatNumber(v);
  if (v === 'Infinity' || v === '-Infinity' || v === 'NaN') return formatNumber(Number(v));
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Nested metadata as dotted paths to leaf values. */
export function flatten(value: Json, prefix = '', out: Record<string, Json> = {}): Record<string, Json> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = value;
  }
  return out;
}

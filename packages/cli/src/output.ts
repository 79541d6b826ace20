import type { Json } from '@simscope/protocol';
import { microsToIso } from '@simscope/protocol';
import { UsageError } from './errors.js';

export const FORMATS = ['table', 'json', 'csv'] as const;

/** Checks a `--format` value against the ones a command offers. */
export function checkFormat<T extends string>(value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--format: must be one of ${allowed.join(', ')}, got '${value}'`);
  }
  return value as T;
}

/** Stable JSON for scripts: two-space indented, one trailing newline. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Pads columns to line up; the header is the first row. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

function csvCell(text: string): string {
  return /[",\r\n]/.test(text) || text.startsWith(' ') || text.endsWith(' ')
    ? `"${text.replaceAll('"', '""')}"`
    : text;
}

/** RFC 4180 CSV rows. */
export function csvRows(rows: readonly (readonly string[])[]): string {
  return rows.map((r) => `${r.map(csvCell).join(',')}\n`).join('');
}

/** RFC 4180 CSV with a header row. */
export function renderCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return csvRows([header, ...rows]);
}

/** Key-value lines, keys lined up: for one object. */
export function renderFields(fields: readonly [string, string][]): string {
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${k.padEnd(width)}  ${v}\n`).join('');
}

/** A timestamp (µs) as local `YYYY-MM-DD HH:MM:SS`, for tables. */
export function localTime(micros: number | null): string {
  if (micros === null) return '';
  const d = new Date(micros / 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A timestamp (µs) as ISO 8601 UTC, for CSV. */
export function isoTime(micros: number | null): string {
  return micros === null ? '' : microsToIso(micros);
}

/** Seconds as `850ms`, `12.3s`, `4m05s`, `2h03m`, `3d04h`. */
export function formatDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.floor(seconds);
  const p = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${p(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${p(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${p(Math.floor((s % 86_400) / 3600))}h`;
}

/** A JSON value as one table or CSV cell: text as is, anything else as JSON. */
export function cell(value: Json | undefined): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** The value at a dotted path: `metadata.solver.dt`. */
export function valueAt(obj: unknown, path: string): Json | undefined {
  let at: unknown = obj;
  for (const key of path.split('.')) {
    if (at === null || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at as Json | undefined;
}

/** Summaries of a metric the run table serves (`min:metrics.loss`; the last value is plain `metrics.loss`). */
export const METRIC_STATS = ['last', 'min', 'max', 'mean'] as const;
export type MetricStat = (typeof METRIC_STATS)[number];

/** Columns every run has; the name is not among them, it is always shown, pinned at the left. */
export const FIXED_COLUMNS = ['status', 'folder', 'tags', 'created', 'duration', 'alerts'] as const;
export type FixedColumn = (typeof FIXED_COLUMNS)[number];

const FIXED_LABELS: Record<FixedColumn, string> = {
  status: 'Status',
  folder: 'Folder',
  tags: 'Tags',
  created: 'Created',
  duration: 'Duration',
  alerts: 'Alerts',
};

const FIXED_WIDTHS: Record<FixedColumn, number> = {
  status: 110,
  folder: 160,
  tags: 160,
  created: 160,
  duration: 100,
  alerts: 120,
};

export const NAME_WIDTH = 220;
export const MIN_WIDTH = 48;

export function isFixed(id: string): id is FixedColumn {
  return (FIXED_COLUMNS as readonly string[]).includes(id);
}

/** A column the server fills: `metadata.PATH`, `metrics.NAME` (last value) or `STAT:metrics.NAME`. */
export function isDataColumn(id: string): boolean {
  return !isFixed(id);
}

/** The summary and metric of a metric column, or null for other columns. */
export function metricOf(id: string): { stat: MetricStat; metric: string } | null {
  if (id.startsWith('metrics.')) return { stat: 'last', metric: id.slice(8) };
  const colon = id.indexOf(':');
  const stat = id.slice(0, colon) as MetricStat;
  if (colon > 0 && METRIC_STATS.includes(stat) && id.startsWith('metrics.', colon + 1)) {
    return { stat, metric: id.slice(colon + 9) };
  }
  return null;
}

/** The id of a metric column for a summary (`metrics.loss` for the last value, `min:metrics.loss` …). */
export function metricColumn(metric: string, stat: MetricStat): string {
  return stat === 'last' ? `metrics.${metric}` : `${stat}:metrics.${metric}`;
}

/** A column's header text: metadata paths and metric names as they are, a summary after its metric. */
export function columnLabel(id: string): string {
  if (isFixed(id)) return FIXED_LABELS[id];
  if (id.startsWith('metadata.')) return id.slice(9);
  const m = metricOf(id);
  if (!m) return id;
  return m.stat === 'last' ? m.metric : `${m.metric} (${m.stat})`;
}

export function defaultWidth(id: string): number {
  return isFixed(id) ? FIXED_WIDTHS[id] : 130;
}

/** The columns shown when the address names none and none were stored: the fixed ones, alerts last. */
export const DEFAULT_COLUMNS: readonly string[] = [...FIXED_COLUMNS];

/** Adds a column: before a trailing alerts column, so picked columns sit beside the run's own ones. */
export function addColumn(columns: readonly string[], id: string): string[] {
  if (columns.includes(id)) return [...columns];
  const alerts = columns.at(-1) === 'alerts';
  return alerts ? [...columns.slice(0, -1), id, 'alerts'] : [...columns, id];
}

/** Moves a column one place left (-1) or right (+1). */
export function moveColumn(columns: readonly string[], id: string, by: -1 | 1): string[] {
  const out = [...columns];
  const i = out.indexOf(id);
  const j = i + by;
  const a = out[i];
  const b = out[j];
  if (a === undefined || b === undefined) return out;
  out[i] = b;
  out[j] = a;
  return out;
}

/** Puts column `id` where `before` is (drag and drop), or last when `before` is null. */
export function placeColumn(columns: readonly string[], id: string, before: string | null): string[] {
  if (id === before) return [...columns];
  const out = columns.filter((c) => c !== id);
  const at = before === null ? out.length : out.indexOf(before);
  out.splice(at < 0 ? out.length : at, 0, id);
  return out;
}

// Column ids may hold commas (metadata keys are free text), so each is escaped in the comma-joined list.
const escapeId = (id: string) => id.replaceAll('%', '%25').replaceAll(',', '%2C');
const unescapeId = (id: string) => id.replaceAll('%2C', ',').replaceAll('%25', '%');

/** Columns as the `cols` parameter of the address. */
export function columnsParam(columns: readonly string[]): string {
  return columns.map(escapeId).join(',');
}

/** Columns from the `cols` parameter; unknown ids are dropped. */
export function parseColumnsParam(text: string): string[] {
  if (!text) return [];
  const out: string[] = [];
  for (const part of text.split(',')) {
    const id = unescapeId(part);
    if ((isFixed(id) || id.startsWith('metadata.') || metricOf(id)) && !out.includes(id)) out.push(id);
  }
  return out;
}

export function parseSortParam(text: string | null): { key: string; descending: boolean } {
  if (!text) return { key: 'created', descending: true };
  return text.startsWith('-') ? { key: text.slice(1), descending: true } : { key: text, descending: false };
}

/** Widths the user set, kept in the browser (they are not worth a long address). */
export function loadWidths(): Record<string, number> {
  try {
    const w = JSON.parse(localStorage.getItem('simscope.columnWidths') ?? '{}') as unknown;
    if (w === null || typeof w !== 'object' || Array.isArray(w)) return {};
    return Object.fromEntries(
      Object.entries(w as Record<string, unknown>).filter(
        (e): e is [string, number] => typeof e[1] === 'number',
      ),
    );
  } catch {
    return {};
  }
}

export function storeWidths(widths: Record<string, number>): void {
  localStorage.setItem('simscope.columnWidths', JSON.stringify(widths));
}

/** The columns last shown (when the address names none). */
export function loadColumns(): string[] {
  try {
    const c = JSON.parse(localStorage.getItem('simscope.runColumns') ?? 'null') as unknown;
    if (Array.isArray(c)) return parseColumnsParam(columnsParam(c.filter((x) => typeof x === 'string')));
    // Before columns could be ordered, only the picked data columns were stored.
    const old = JSON.parse(localStorage.getItem('simscope.columns') ?? '[]') as unknown;
    let out = [...DEFAULT_COLUMNS];
    if (Array.isArray(old)) for (const x of old) if (typeof x === 'string') out = addColumn(out, x);
    return out;
  } catch {
    return [...DEFAULT_COLUMNS];
  }
}

export function storeColumns(columns: readonly string[]): void {
  localStorage.setItem('simscope.runColumns', JSON.stringify(columns));
}

/** Orders names the way people number runs: re100, re400, re1000 (digits by value), ignoring case. */
export const naturalCompare = new Intl.Collator('en', { numeric: true, sensitivity: 'base' }).compare;

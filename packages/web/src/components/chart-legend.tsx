import { useCallback, useMemo, useState } from 'react';
import { type Line, type SmoothingKind, smoothLine } from '../chart/columns.js';
import type { ChartSeries, XAxis } from '../chart/line-chart.js';
import { displayX, nearest } from '../chart/line-chart.js';
import { formatNumber, formatTime } from '../format.js';
import { seriesColor } from '../session.js';
import './chart-extras.css';

/** Legend entries a chart lists; the rest are counted. */
const LEGEND_CAP = 40;

/** One line of a chart: a run's metric, in its colour, on the left or right y axis. */
interface ChartEntry {
  key: string;
  label: string;
  color: string;
  right: boolean;
}

/**
 * The chart's entries, one a line (lines come metric by metric, each with a line a run): named after the run when
 * the chart has one metric, after the metric when it has one run, else both.
 */
function chartEntries(
  runs: readonly { id: string; label: string }[],
  metrics: readonly { metric: string; right: boolean }[],
  palette: string[],
): ChartEntry[] {
  return metrics.flatMap((m, k) =>
    runs.map((r, i) => {
      const n = k * runs.length + i;
      const label =
        metrics.length === 1 ? r.label : runs.length === 1 ? m.metric : `${r.label} · ${m.metric}`;
      return { key: `${m.metric}\n${r.id}`, label, color: seriesColor(palette, n), right: m.right };
    }),
  );
}

/** Each line's smoothed copy (the same line without smoothing), computed once per data and smoothing. */
function smoothedLines(lines: readonly Line[], smoothing: number, kind: SmoothingKind): Line[] | null {
  return smoothing > 0 ? lines.map((line) => smoothLine(line, kind, smoothing)) : null;
}

/**
 * The series to draw: hidden entries left out, the others faint while one is highlighted (drawn last, on top);
 * with smoothing the raw line faded under the smoothed one.
 */
function chartSeries(
  lines: readonly Line[],
  smoothed: readonly Line[] | null,
  entries: readonly ChartEntry[],
  hidden: ReadonlySet<string>,
  hover: string | null,
): ChartSeries[] {
  const out: ChartSeries[] = [];
  const top: ChartSeries[] = [];
  lines.forEach((line, i) => {
    const e = entries[i];
    if (!e || hidden.has(e.key)) return;
    const dim = hover !== null && hover !== e.key;
    const into = hover === e.key ? top : out;
    const base = { label: e.label, color: e.color, right: e.right, dim };
    const smooth = smoothed?.[i];
    if (smooth) {
      into.push({ ...base, line, faded: true });
      into.push({ ...base, line: smooth });
    } else {
      into.push({ ...base, line });
    }
  });
  return [...out, ...top];
}

/**
 * A chart's legend entries and the series to draw from its lines, with the legend's state: hidden entries and the
 * one under the pointer.
 */
export function useLegendSeries(
  lines: readonly Line[] | null,
  runs: readonly { id: string; label: string }[],
  metrics: readonly { metric: string; right: boolean }[],
  palette: string[],
  smoothing: { smoothing: number; smoothingKind?: SmoothingKind },
) {
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const [hover, setHover] = useState<string | null>(null);
  const entries = useMemo(() => chartEntries(runs, metrics, palette), [runs, metrics, palette]);
  const { smoothing: weight, smoothingKind: kind = 'ema' } = smoothing;
  const smoothed = useMemo(() => (lines ? smoothedLines(lines, weight, kind) : null), [lines, weight, kind]);
  const series = useMemo(
    () => (lines ? chartSeries(lines, smoothed, entries, hidden, hover) : []),
    [lines, smoothed, entries, hidden, hover],
  );
  const toggle = useCallback(
    (key: string) =>
      setHidden((h) => {
        const next = new Set(h);
        if (!next.delete(key)) next.add(key);
        return next;
      }),
    [],
  );
  return { entries, series, hidden, setHover, toggle };
}

function formatX(axis: XAxis, x: number): string {
  if (axis === 'timestamp') return formatTime(x);
  if (axis === 'time') return `${formatNumber(+x.toPrecision(6))} s`;
  return formatNumber(Math.round(x));
}

/**
 * The lines under a chart with their values (at the cursor, else the last): hovering an entry brings its line
 * forward, a click hides or shows it.
 */
export function ChartLegend(props: {
  entries: readonly ChartEntry[];
  lines: readonly Line[] | undefined;
  axis: XAxis;
  cursor: number | null;
  hidden: ReadonlySet<string>;
  onHover(key: string | null): void;
  onToggle(key: string): void;
}) {
  const { entries, cursor, hidden, onHover } = props;
  const two = entries.some((e) => e.right);
  return (
    <figcaption className="legend">
      {cursor !== null ? (
        <span>
          {props.axis} {formatX(props.axis, displayX('step', cursor))}
        </span>
      ) : null}
      {entries.slice(0, LEGEND_CAP).map((e, i) => {
        const line = props.lines?.[i];
        let value = '';
        if (line && cursor !== null) {
          const k = nearest(line, cursor);
          if (k >= 0) value = formatNumber(line.y[k] ?? Number.NaN);
        } else if (line && line.y.length > 0) {
          value = formatNumber(line.y[line.y.length - 1] ?? Number.NaN);
        }
        const off = hidden.has(e.key);
        return (
          <button
            type="button"
            key={e.key}
            className={`legend-entry${off ? ' legend-hidden' : ''}`}
            aria-pressed={!off}
            data-color={e.color}
            title={off ? 'Show this line' : 'Hide this line'}
            onMouseEnter={() => onHover(e.key)}
            onMouseLeave={() => onHover(null)}
            onFocus={() => onHover(e.key)}
            onBlur={() => onHover(null)}
            onClick={() => props.onToggle(e.key)}
          >
            <span className="swatch" style={{ background: e.color }} />
            {e.label}
            {two ? <span className="muted">{e.right ? ' (right)' : ' (left)'}</span> : null} {value}
          </button>
        );
      })}
      {entries.length > LEGEND_CAP ? (
        <span className="muted">and {entries.length - LEGEND_CAP} more</span>
      ) : null}
    </figcaption>
  );
}

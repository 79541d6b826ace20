import type { AggregateView } from '@simscope/protocol/api';
import { useEffect, useRef, useState } from 'react';
import { formatLinearTicks, niceStep, stepTicks } from '../chart/ticks.js';
import { cssVar, PALETTE, prepareCanvas } from './plot.js';

export type BandKind = 'std' | 'range';

const PAD = { top: 10, bottom: 40, left: 76, right: 12 };
const HEIGHT = 300;

const num = (v: number | string | undefined): number => (typeof v === 'number' ? v : Number.NaN);

/** A group's name in the legend: `by = value` and its member count (runs, or the ranks of one run). */
function groupLabel(by: string, value: string | null, runs: number, members = 'run'): string {
  const key = by.startsWith('metadata.') ? by.slice('metadata.'.length) : by === 'tags' ? 'tag' : by;
  return `${key} = ${value ?? '(none)'} · ${runs} ${members}${runs === 1 ? '' : 's'}`;
}

/** The band of each group per bucket: mean ± std, or min to max; the line is the mean. */
function bandOf(g: AggregateView['groups'][number], kind: BandKind, i: number): [number, number, number] {
  const mean = num(g.mean[i]);
  if (kind === 'std') {
    const std = num(g.std[i]);
    return [mean - std, mean + std, mean];
  }
  return [num(g.min[i]), num(g.max[i]), mean];
}

interface BandChartProps {
  data: AggregateView;
  kind: BandKind;
  /** What the bands are made of, in the caption and legend: runs (default), or an MPI run's ranks. */
  members?: string;
}

/**
 * Groups of runs as bands on one canvas, with a legend: hovering an entry brings its group forward, a click hides
 * or shows it.
 */
export function BandChart({ data, kind, members = 'run' }: BandChartProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);
  const [hidden, setHidden] = useState<ReadonlySet<number>>(new Set());
  const [hover, setHover] = useState<number | null>(null);
  const [drawn, setDrawn] = useState('');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setWidth(Math.max(260, Math.floor(el.clientWidth))));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const el = canvas.current;
    if (!el) return;
    const g = prepareCanvas(el, width, HEIGHT);
    const fg = cssVar('--fg', '#1b1f24');
    const w = width - PAD.left - PAD.right;
    const h = HEIGHT - PAD.top - PAD.bottom;
    const n = data.buckets;
    const xAt = (i: number) => PAD.left + ((i + 0.5) / n) * w;
    let lo = Infinity;
    let hi = -Infinity;
    for (const [gi, group] of data.groups.entries()) {
      if (hidden.has(gi)) continue;
      for (let i = 0; i < n; i++) {
        const [a, b] = bandOf(group, kind, i);
        if (a < lo) lo = a;
        if (b > hi) hi = b;
      }
    }
    if (!(hi >= lo)) {
      lo = 0;
      hi = 1;
    }
    if (hi === lo) {
      lo -= 0.5;
      hi += 0.5;
    }
    const yAt = (v: number) => PAD.top + (1 - (v - lo) / (hi - lo)) * h;
    let painted = 0;
    for (const [gi, group] of data.groups.entries()) {
      if (hidden.has(gi)) continue;
      const colour = PALETTE[gi % PALETTE.length] ?? '#8a8f98';
      const faded = hover !== null && hover !== gi;
      // Buckets without a point of the group are skipped: the band and the line join their neighbours.
      const at: number[] = [];
      for (let k = 0; k < n; k++) if (!Number.isNaN(bandOf(group, kind, k)[0])) at.push(k);
      painted += at.length;
      g.fillStyle = colour;
      g.globalAlpha = faded ? 0.05 : hover === gi ? 0.35 : 0.2;
      g.beginPath();
      for (const k of at) g.lineTo(xAt(k), yAt(bandOf(group, kind, k)[1]));
      for (const k of [...at].reverse()) g.lineTo(xAt(k), yAt(bandOf(group, kind, k)[0]));
      g.closePath();
      g.fill();
      g.globalAlpha = faded ? 0.2 : 1;
      g.strokeStyle = colour;
      g.lineWidth = hover === gi ? 2.5 : 1.5;
      g.beginPath();
      for (const k of at) g.lineTo(xAt(k), yAt(bandOf(group, kind, k)[2]));
      g.stroke();
      g.globalAlpha = 1;
    }
    g.lineWidth = 1;
    g.strokeStyle = fg;
    g.fillStyle = fg;
    g.strokeRect(PAD.left, PAD.top, w, h);
    g.font = '12px system-ui, sans-serif';
    g.textAlign = 'right';
    const ys = niceStep(hi - lo, 6);
    const yTicks = stepTicks(lo, hi, ys);
    const yLabels = formatLinearTicks(yTicks, ys);
    for (const [k, v] of yTicks.entries())
      g.fillText(yLabels[k] ?? '', PAD.left - 6, yAt(v) + 4, PAD.left - 10);
    g.textAlign = 'center';
    const xs = niceStep(data.to - data.from, Math.max(3, Math.floor(w / 70)));
    const xTicks = stepTicks(data.from, data.to, xs);
    const xLabels = formatLinearTicks(xTicks, xs);
    for (const [k, v] of xTicks.entries()) {
      g.fillText(
        xLabels[k] ?? '',
        PAD.left + ((v - data.from) / (data.to - data.from)) * w,
        PAD.top + h + 16,
      );
    }
    g.fillText(
      data.x === 'step' ? 'step' : data.x === 'time' ? 'time since start (s)' : 'date',
      PAD.left + w / 2,
      HEIGHT - 4,
    );
    setDrawn(`${data.groups.length - hidden.size}:${kind}:${painted}`);
  }, [data, kind, hidden, hover, width]);

  const runs = data.groups.reduce((a, g) => a + g.runs.length, 0);
  return (
    <figure
      className="band-chart chart-card"
      data-metric={data.name}
      data-drawn={drawn}
      data-runs={runs}
      data-highlight={hover === null ? '' : (data.groups[hover]?.value ?? '(none)')}
    >
      <figcaption>
        <strong>{data.name}</strong>{' '}
        <span className="muted">
          {kind === 'std' ? `mean ± 1 std of the ${members}s` : `min to max of the ${members}s`}, by {data.by}
        </span>
      </figcaption>
      <div ref={box} style={{ width: '100%' }}>
        <canvas
          ref={canvas}
          role="img"
          aria-label={`${data.name}: ${data.groups.length} groups by ${data.by}`}
        />
      </div>
      <ul className="legend" aria-label={`Groups of ${data.name}`}>
        {data.groups.map((group, gi) => (
          <li key={group.value ?? '\u0000'}>
            <button
              type="button"
              aria-pressed={!hidden.has(gi)}
              className={hidden.has(gi) ? 'legend-hidden' : undefined}
              onMouseEnter={() => setHover(gi)}
              onMouseLeave={() => setHover(null)}
              onFocus={() => setHover(gi)}
              onBlur={() => setHover(null)}
              onClick={() =>
                setHidden((h) => {
                  const next = new Set(h);
                  if (!next.delete(gi)) next.add(gi);
                  return next;
                })
              }
            >
              <span className="swatch" style={{ background: PALETTE[gi % PALETTE.length] }} />
              {groupLabel(data.by, group.value, group.runs.length, members)}
            </button>
          </li>
        ))}
      </ul>
    </figure>
  );
}

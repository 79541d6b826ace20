import { useEffect, useMemo, useRef, useState } from 'react';
import { cssVar, prepareCanvas, type Scale, scaleTicks } from './plot.js';

/** One axis of the plot: its column key, its label and its scale over all runs. */
export interface SweepAxis {
  key: string;
  label: string;
  scale: Scale;
}

/** A brushed range of an axis, in positions 0 (bottom) … 1 (top). */
export type Brushes = Record<string, [number, number]>;

/** Runs whose values lie in every brushed range (a run without a value on a brushed axis is out). */
export function brushed(axes: readonly SweepAxis[], brushes: Brushes, n: number): Uint8Array {
  const keep = new Uint8Array(n).fill(1);
  for (const axis of axes) {
    const range = brushes[axis.key];
    if (!range) continue;
    const [lo, hi] = range;
    const pos = axis.scale.pos;
    for (let i = 0; i < n; i++) {
      const p = pos[i] ?? Number.NaN;
      if (!(p >= lo && p <= hi)) keep[i] = 0;
    }
  }
  return keep;
}

const PAD = { top: 28, bottom: 34, side: 56 };
const HEIGHT = 360;

/**
 * Parallel coordinates on one canvas: each run a polyline across the axes, those in every brush in colour and the
 * rest in grey, each class stroked as one path, so that 10k runs draw in a few tens of milliseconds. Dragging along
 * an axis brushes it; a click on an axis clears its brush.
 */
export function ParallelCoords({
  axes,
  count,
  brushes,
  onBrush,
}: {
  axes: SweepAxis[];
  count: number;
  brushes: Brushes;
  onBrush(key: string, range: [number, number] | null): void;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(900);
  const [drag, setDrag] = useState<{ key: string; from: number; to: number } | null>(null);
  const keep = useMemo(() => brushed(axes, brushes, count), [axes, brushes, count]);
  const selected = useMemo(() => keep.reduce((a, b) => a + b, 0), [keep]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setWidth(Math.max(280, Math.floor(el.clientWidth))));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const xOf = (i: number) =>
    axes.length === 1 ? width / 2 : PAD.side + (i * (width - 2 * PAD.side)) / (axes.length - 1);
  const yOf = (p: number) => PAD.top + (1 - p) * (HEIGHT - PAD.top - PAD.bottom);
  const pOf = (y: number) => Math.min(1, Math.max(0, 1 - (y - PAD.top) / (HEIGHT - PAD.top - PAD.bottom)));

  useEffect(() => {
    const el = canvas.current;
    if (!el) return;
    const started = performance.now();
    const g = prepareCanvas(el, width, HEIGHT);
    const fg = cssVar('--fg', '#1b1f24');
    const accent = cssVar('--accent', '#1f5fc4');
    const stroke = (pick: 0 | 1, colour: string, alpha: number) => {
      g.beginPath();
      for (let r = 0; r < count; r++) {
        if (keep[r] !== pick) continue;
        let pen = false;
        for (let a = 0; a < axes.length; a++) {
          const p = axes[a]?.scale.pos[r] ?? Number.NaN;
          if (Number.isNaN(p)) {
            pen = false;
            continue;
          }
          const x = xOf(a);
          const y = yOf(p);
          if (pen) g.lineTo(x, y);
          else g.moveTo(x, y);
          pen = true;
        }
      }
      g.globalAlpha = alpha;
      g.strokeStyle = colour;
      g.lineWidth = 1;
      g.stroke();
      g.globalAlpha = 1;
    };
    const some = selected < count;
    if (some) stroke(0, '#8a8f98', count > 2000 ? 0.05 : 0.2);
    stroke(1, accent, count > 2000 ? 0.12 : 0.5);
    g.font = '12px system-ui, sans-serif';
    g.fillStyle = fg;
    g.strokeStyle = fg;
    for (const [a, axis] of axes.entries()) {
      const x = xOf(a);
      g.beginPath();
      g.moveTo(x, yOf(0));
      g.lineTo(x, yOf(1));
      g.stroke();
      g.textAlign = 'center';
      g.fillText(axis.label, x, 14, Math.max(60, (width - 2 * PAD.side) / Math.max(1, axes.length - 1) - 8));
      g.textAlign = 'right';
      for (const t of scaleTicks(axis.scale, 6)) {
        g.fillText(t.label, x - 4, yOf(t.at) + 4, PAD.side - 8);
        g.fillRect(x - 3, yOf(t.at), 3, 1);
      }
      const range =
        drag?.key === axis.key
          ? [Math.min(drag.from, drag.to), Math.max(drag.from, drag.to)]
          : brushes[axis.key];
      if (range) {
        const [low = 0, high = 0] = range;
        g.globalAlpha = 0.25;
        g.fillStyle = accent;
        g.fillRect(x - 8, yOf(high), 16, yOf(low) - yOf(high));
        g.globalAlpha = 1;
        g.strokeStyle = accent;
        g.strokeRect(x - 8, yOf(high), 16, yOf(low) - yOf(high));
        g.fillStyle = fg;
        g.strokeStyle = fg;
      }
    }
    el.dataset.drawMs = (performance.now() - started).toFixed(1);
  });

  const axisAt = (x: number) => {
    return axes.find((_, a) => Math.abs(xOf(a) - x) <= 14)?.key ?? null;
  };
  const local = (e: React.PointerEvent) => {
    const rect = e.currentTarget.getBoundingClientRect();
    return { x: e.clientX - rect.left, y: e.clientY - rect.top };
  };

  return (
    <figure
      className="sweep-plot parallel-coords"
      data-runs={count}
      data-selected={selected}
      aria-label="Parallel coordinates"
    >
      <div ref={box} style={{ width: '100%' }}>
        <canvas
          ref={canvas}
          role="img"
          aria-label={`Parallel coordinates of ${count} runs over ${axes.map((a) => a.label).join(', ')}; ${selected} in the brushed ranges`}
          style={{ touchAction: 'none', cursor: 'crosshair' }}
          onPointerDown={(e) => {
            const { x, y } = local(e);
            const key = axisAt(x);
            if (!key) return;
            e.currentTarget.setPointerCapture(e.pointerId);
            setDrag({ key, from: pOf(y), to: pOf(y) });
          }}
          onPointerMove={(e) => {
            if (!drag) return;
            const { y } = local(e);
            setDrag({ ...drag, to: pOf(y) });
          }}
          onPointerUp={() => {
            if (!drag) return;
            const lo = Math.min(drag.from, drag.to);
            const hi = Math.max(drag.from, drag.to);
            onBrush(drag.key, hi - lo < 0.01 ? null : [lo, hi]);
            setDrag(null);
          }}
        />
      </div>
      <figcaption className="muted">
        {selected.toLocaleString('en-US')} of {count.toLocaleString('en-US')} runs in the brushed ranges. Drag
        along an axis to brush it; click an axis to clear its brush.
      </figcaption>
    </figure>
  );
}

import { useEffect, useRef, useState } from 'react';
import { cssVar, prepareCanvas, type Scale, scaleTicks } from './plot.js';

const PAD = { top: 12, bottom: 44, left: 72, right: 16 };
const HEIGHT = 340;

/**
 * One dot per run on one canvas (a parameter across, a metric summary up); runs outside the brushes in grey.
 * Runs without both values are left out and counted in the caption.
 */
export function ScatterPlot({
  x,
  y,
  xLabel,
  yLabel,
  keep,
  count,
}: {
  x: Scale;
  y: Scale;
  xLabel: string;
  yLabel: string;
  keep: Uint8Array;
  count: number;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(700);
  const [drawn, setDrawn] = useState(0);

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
    const started = performance.now();
    const g = prepareCanvas(el, width, HEIGHT);
    const fg = cssVar('--fg', '#1b1f24');
    const accent = cssVar('--accent', '#1f5fc4');
    const w = width - PAD.left - PAD.right;
    const h = HEIGHT - PAD.top - PAD.bottom;
    const px = (p: number) => PAD.left + p * w;
    const py = (p: number) => PAD.top + (1 - p) * h;
    let n = 0;
    for (const pick of [0, 1] as const) {
      g.fillStyle = pick ? accent : '#8a8f98';
      g.globalAlpha = pick ? 0.6 : 0.25;
      for (let i = 0; i < count; i++) {
        if (keep[i] !== pick) continue;
        const a = x.pos[i] ?? Number.NaN;
        const b = y.pos[i] ?? Number.NaN;
        if (Number.isNaN(a) || Number.isNaN(b)) continue;
        g.fillRect(px(a) - 1.5, py(b) - 1.5, 3, 3);
        n++;
      }
    }
    g.globalAlpha = 1;
    g.fillStyle = fg;
    g.strokeStyle = fg;
    g.strokeRect(PAD.left, PAD.top, w, h);
    g.font = '12px system-ui, sans-serif';
    g.textAlign = 'center';
    for (const t of scaleTicks(x, Math.max(2, Math.floor(w / 90)))) {
      g.fillText(t.label, px(t.at), PAD.top + h + 16, 86);
    }
    g.fillText(xLabel, PAD.left + w / 2, HEIGHT - 6);
    g.textAlign = 'right';
    for (const t of scaleTicks(y, 6)) g.fillText(t.label, PAD.left - 6, py(t.at) + 4, PAD.left - 10);
    g.save();
    g.translate(12, PAD.top + h / 2);
    g.rotate(-Math.PI / 2);
    g.textAlign = 'center';
    g.fillText(yLabel, 0, 0);
    g.restore();
    el.dataset.drawMs = (performance.now() - started).toFixed(1);
    setDrawn(n);
  }, [x, y, keep, count, width, xLabel, yLabel]);

  return (
    <figure className="sweep-plot scatter-plot" data-points={drawn} aria-label="Scatter plot">
      <div ref={box} style={{ width: '100%' }}>
        <canvas ref={canvas} role="img" aria-label={`${yLabel} against ${xLabel}, ${drawn} runs`} />
      </div>
      <figcaption className="muted">
        {drawn.toLocaleString('en-US')} runs drawn
        {drawn < count ? `; ${(count - drawn).toLocaleString('en-US')} lack one of the two values` : ''}.
      </figcaption>
    </figure>
  );
}

/** One step's counts in a histogram plot. */
export interface HistogramLayer {
  label: string;
  values: readonly number[];
  colour: string;
}

/** The colours of the first and the overlaid step. */
export const LAYER_COLOURS = ['#3b528b', '#e8590c'] as const;

/**
 * A histogram (edges on its axis) as bars in an SVG; with two layers each bin holds two bars side by side, one per
 * step, and a legend names them.
 */
export function HistogramPlot({
  name,
  edges,
  layers,
}: {
  name: string;
  edges: readonly number[];
  layers: readonly HistogramLayer[];
}) {
  const [w, h] = [600, 240];
  let hi = 0;
  for (const layer of layers) for (const v of layer.values) if (Number.isFinite(v) && v > hi) hi = v;
  const y = (v: number) => h - (v / (hi || 1)) * (h - 10) - 5;
  const bins = Math.max(0, ...layers.map((l) => l.values.length));
  const bw = w / Math.max(bins, 1);
  const lw = bw / layers.length;
  const single = layers.length === 1;
  return (
    <figure className="field-histogram">
      <svg viewBox={`0 0 ${w} ${h}`} className="field-plot" role="img" aria-label={`histogram of ${name}`}>
        {layers.flatMap((layer, k) =>
          layer.values.map((v, i) => (
            <rect
              key={`${layer.label}-${edges[i]}`}
              className="field-bar"
              style={single ? undefined : { fill: layer.colour, opacity: 1 }}
              x={i * bw + k * lw + 0.5}
              width={Math.max(lw - 1, 0.5)}
              y={y(v)}
              height={h - 5 - y(v)}
            >
              <title>{`${single ? '' : `${layer.label} · `}${edges[i]}–${edges[i + 1]}: ${v}`}</title>
            </rect>
          )),
        )}
      </svg>
      {!single && (
        <ul className="field-legend" aria-label="histogram legend">
          {layers.map((layer) => (
            <li key={layer.label}>
              <span className="field-swatch" style={{ background: layer.colour }} /> {layer.label}
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}

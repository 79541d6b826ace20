import type { ArrayDataView } from '@simscope/protocol';
import { useEffect, useRef, useState } from 'react';
import {
  COLOUR_MAPS,
  type ColourMap,
  colourOf,
  gradientOf,
  type HeatmapSettings,
  NO_VALUE,
  scaler,
  scaleStart,
} from './field-colours.js';

const numeric = (v: number | string): number => (typeof v === 'number' ? v : Number(v));

/**
 * A 2-D field as a heatmap on a canvas, coloured by `settings` over `range`; `strides` are the rows and columns
 * of the whole field between two of the view's, for the hover readout.
 */
export function Heatmap({
  data,
  range,
  strides,
  settings,
  label,
}: {
  data: ArrayDataView;
  range: [number, number];
  strides: readonly [number, number];
  settings: HeatmapSettings;
  label?: string;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [hover, setHover] = useState<string>('');
  const [ny = 1, nx = 1] = data.shape.length === 3 ? data.shape.slice(1) : data.shape;
  /** The value under the pointer, with its row and column in the whole field. */
  const readout = (event: { clientX: number; clientY: number }) => {
    const box = canvas.current?.getBoundingClientRect();
    if (!box) return;
    const ix = Math.min(nx - 1, Math.floor(((event.clientX - box.left) / box.width) * nx));
    const iy = Math.min(ny - 1, Math.floor(((event.clientY - box.top) / box.height) * ny));
    const v = data.values[iy * nx + ix];
    setHover(v === undefined ? '' : `row ${iy * strides[0]}, column ${ix * strides[1]}: ${v}`);
  };
  const values = data.values.map(numeric);
  const hidden = settings.log ? values.filter((v) => v <= 0).length : 0;
  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    const image = ctx.createImageData(nx, ny);
    const numbers = data.values.map(numeric);
    const place = scaler(range, settings.log, numbers);
    numbers.forEach((v, i) => {
      const t = place(v);
      const [r, g, b] = t === null ? NO_VALUE : colourOf(settings.map, t);
      image.data.set([r, g, b, 255], i * 4);
    });
    ctx.putImageData(image, 0, 0);
  }, [data, range, nx, ny, settings.log, settings.map]);
  return (
    <div className="field-heatmap">
      {label && <p className="field-heatmap-label">{label}</p>}
      <canvas
        ref={canvas}
        width={nx}
        height={ny}
        aria-label={`heatmap of ${data.name} at step ${data.step}${label ? ` in ${label}` : ''}`}
        style={{ width: 'min(100%, 512px)', imageRendering: 'pixelated' }}
        onMouseMove={readout}
        onMouseLeave={() => setHover('')}
      />
      <output className="field-readout" aria-label="value under pointer">
        {hover}
      </output>
      <div className="field-scale" role="img" aria-label="colour scale">
        <span>{scaleStart(range, settings.log, values).toPrecision(4)}</span>
        <span className="field-scale-bar" style={{ background: gradientOf(settings.map) }} />
        <span>{range[1].toPrecision(4)}</span>
        {settings.log && <span>(log)</span>}
      </div>
      {hidden > 0 && (
        <p className="field-note" role="note">
          {hidden} {hidden === 1 ? 'value' : 'values'} ≤ 0 have no place on a log scale and show as no value
          (magenta).
        </p>
      )}
    </div>
  );
}

/** The heatmap's colour map, scale and range pickers. */
export function HeatmapControls({
  settings,
  onChange,
}: {
  settings: HeatmapSettings;
  onChange: (next: HeatmapSettings) => void;
}) {
  return (
    <fieldset className="fields-controls field-settings" aria-label="heatmap settings">
      <label>
        Colours{' '}
        <select
          value={settings.map}
          onChange={(e) => onChange({ ...settings, map: e.target.value as ColourMap })}
        >
          {Object.entries(COLOUR_MAPS).map(([key, map]) => (
            <option key={key} value={key}>
              {map.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Scale{' '}
        <select
          value={settings.log ? 'log' : 'linear'}
          onChange={(e) => onChange({ ...settings, log: e.target.value === 'log' })}
        >
          <option value="linear">linear</option>
          <option value="log">log</option>
        </select>
      </label>
      <label>
        Range{' '}
        <select
          value={settings.fixed ? 'fixed' : 'step'}
          onChange={(e) => onChange({ ...settings, fixed: e.target.value === 'fixed' })}
        >
          <option value="step">per step</option>
          <option value="fixed">fixed over all steps</option>
        </select>
      </label>
    </fieldset>
  );
}

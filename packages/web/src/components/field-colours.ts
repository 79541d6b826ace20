/** Colour maps, scales and ranges of the Fields tab's heatmaps. */

export type ColourMap = 'viridis' | 'grey' | 'diverging';
export type Rgb = readonly [number, number, number];

/** The maps a heatmap can use, by their name in the address (`cmap`) and on the picker. */
export const COLOUR_MAPS: Readonly<Record<ColourMap, { label: string; stops: readonly Rgb[] }>> = {
  viridis: {
    label: 'viridis',
    stops: [
      [68, 1, 84],
      [59, 82, 139],
      [33, 145, 140],
      [94, 201, 98],
      [253, 231, 37],
    ],
  },
  grey: {
    label: 'grey',
    stops: [
      [0, 0, 0],
      [255, 255, 255],
    ],
  },
  diverging: {
    label: 'blue–white–red',
    stops: [
      [0, 0, 255],
      [255, 255, 255],
      [255, 0, 0],
    ],
  },
};

/** The colour of an element that has no place on the scale: NaN, ±Inf, or ≤ 0 on a log scale. */
export const NO_VALUE: Rgb = [255, 0, 255];

/** The colour of `t` in [0, 1] (clamped) on `map`. */
export function colourOf(map: ColourMap, t: number): Rgb {
  const { stops } = COLOUR_MAPS[map];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i] ?? NO_VALUE;
  const b = stops[i + 1] ?? NO_VALUE;
  return [0, 1, 2].map((k) => Math.round((a[k] ?? 0) + ((b[k] ?? 0) - (a[k] ?? 0)) * f)) as unknown as Rgb;
}

/** A CSS gradient of `map`, for the colour scale bar. */
export function gradientOf(map: ColourMap): string {
  const ts = [0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1];
  return `linear-gradient(to right, ${ts.map((t) => `rgb(${colourOf(map, t).join(',')})`).join(',')})`;
}

/** How a heatmap colours its values, as kept in the address. */
export interface HeatmapSettings {
  map: ColourMap;
  log: boolean;
  /** The colour range from all steps of the series rather than from the step shown. */
  fixed: boolean;
}

/** Settings from the address: `cmap` (viridis when absent), `scale=log`, `range=fixed`. */
export function settingsFromQuery(query: URLSearchParams): HeatmapSettings {
  const cmap = query.get('cmap');
  return {
    map: cmap === 'grey' || cmap === 'diverging' ? cmap : 'viridis',
    log: query.get('scale') === 'log',
    fixed: query.get('range') === 'fixed',
  };
}

/** The address parameters of `settings` (defaults left out). */
export function settingsToQuery(settings: HeatmapSettings): Record<string, string | null> {
  return {
    cmap: settings.map === 'viridis' ? null : settings.map,
    scale: settings.log ? 'log' : null,
    range: settings.fixed ? 'fixed' : null,
  };
}

interface StepRange {
  min: number | null;
  max: number | null;
}

/** The colour range of a heatmap: the step's own min and max, or those over all `steps` when fixed. */
export function rangeOf(current: StepRange, steps: readonly StepRange[], fixed: boolean): [number, number] {
  if (!fixed) return [current.min ?? 0, current.max ?? 1];
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const s of steps) {
    if (s.min !== null && s.min < lo) lo = s.min;
    if (s.max !== null && s.max > hi) hi = s.max;
  }
  return lo > hi ? [0, 1] : [lo, hi];
}

/** Where the scale starts: `range`'s start, or on a log scale over a range from 0 or below, the smallest positive value. */
export function scaleStart(
  range: readonly [number, number],
  log: boolean,
  values: readonly number[],
): number {
  if (!log || range[0] > 0) return range[0];
  let lo = Number.POSITIVE_INFINITY;
  for (const v of values) if (v > 0 && v < lo && Number.isFinite(v)) lo = v;
  return lo;
}

/**
 * Maps values to [0, 1] over `range`, linearly or on a log scale; null for values with no place on it. On a log
 * scale a range that starts at 0 or below starts instead at the smallest positive value among `values`.
 */
export function scaler(
  range: readonly [number, number],
  log: boolean,
  values: readonly number[],
): (v: number) => number | null {
  if (!log) {
    const span = range[1] - range[0] || 1;
    return (v) => (Number.isFinite(v) ? (v - range[0]) / span : null);
  }
  const lo = scaleStart(range, log, values);
  const [a, b] = [Math.log10(lo), Math.log10(range[1])];
  const span = b - a || 1;
  return (v) => (v > 0 && Number.isFinite(v) ? (Math.log10(v) - a) / span : null);
}

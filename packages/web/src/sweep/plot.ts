import { formatLinearTicks, niceStep, stepTicks } from '../chart/ticks.js';

/** A value of a sweep column: a number, a text (or other JSON as text), or nothing. */
export type Cell = number | string | null;

/** How one column's values map to positions 0 (bottom or left) … 1: a linear range, or categories spread evenly. */
export interface Scale {
  kind: 'number' | 'category';
  lo: number;
  hi: number;
  categories: string[];
  /** Position of each run's value, NaN where it has none. */
  pos: Float64Array;
}

const collator = new Intl.Collator('en', { numeric: true }).compare;

/** The scale of a column of values: numeric when every value present is a number, else categories in natural order. */
export function scaleOf(values: readonly Cell[]): Scale {
  const n = values.length;
  const pos = new Float64Array(n);
  let numeric = true;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === null) continue;
    if (typeof v !== 'number') {
      numeric = false;
      break;
    }
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (numeric) {
    if (lo === Infinity) lo = hi = 0;
    const span = hi - lo || 1;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      pos[i] = typeof v === 'number' ? (hi === lo ? 0.5 : (v - lo) / span) : Number.NaN;
    }
    return { kind: 'number', lo, hi, categories: [], pos };
  }
  const set = new Set<string>();
  for (const v of values) if (v !== null) set.add(String(v));
  const categories = [...set].sort(collator);
  const at = new Map(
    categories.map((c, i) => [c, categories.length === 1 ? 0.5 : i / (categories.length - 1)]),
  );
  for (let i = 0; i < n; i++) {
    const v = values[i];
    pos[i] = v === null ? Number.NaN : (at.get(String(v)) ?? Number.NaN);
  }
  return { kind: 'category', lo: 0, hi: 1, categories, pos };
}

/** Ticks of a scale at positions 0…1 with their labels. */
export function scaleTicks(scale: Scale, count: number): { at: number; label: string }[] {
  if (scale.kind === 'category') {
    const every = Math.max(1, Math.ceil(scale.categories.length / count));
    return scale.categories
      .map((label, i) => ({
        at: scale.categories.length === 1 ? 0.5 : i / (scale.categories.length - 1),
        label,
      }))
      .filter((_, i) => i % every === 0);
  }
  if (scale.hi === scale.lo) return [{ at: 0.5, label: formatLinearTicks([scale.lo], 1)[0] ?? '' }];
  const step = niceStep(scale.hi - scale.lo, count);
  const ticks = stepTicks(scale.lo, scale.hi, step);
  const labels = formatLinearTicks(ticks, step);
  return ticks.map((v, i) => ({ at: (v - scale.lo) / (scale.hi - scale.lo), label: labels[i] ?? '' }));
}

/** The value at position `p` of a numeric scale. */
export function valueAt(scale: Scale, p: number): number {
  return scale.hi === scale.lo ? scale.lo : scale.lo + p * (scale.hi - scale.lo);
}

/** Sizes a canvas for the device's pixel ratio; returns its 2D context in CSS pixels. */
export function prepareCanvas(
  canvas: HTMLCanvasElement,
  width: number,
  height: number,
): CanvasRenderingContext2D {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const g = canvas.getContext('2d');
  if (!g) throw new Error('this browser gives no 2D canvas context');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  return g;
}

/** A CSS custom property of the page (theme colours), with a fallback. */
export function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** Distinct colours for groups, readable on light and dark backgrounds. */
export const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#17becf',
  '#8c564b',
  '#e377c2',
];

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import type { XAxis } from './columns.js';
import {
  type ColumnGrid,
  columnGrid,
  type Line,
  lowerBound,
  quantileExtent,
  traceColumns,
  yExtent,
} from './columns.js';
import {
  dateStep,
  dateTicks,
  formatDateTick,
  formatLinearTicks,
  formatLogTick,
  formatSinceStart,
  logTicks,
  niceStep,
  stepTicks,
  timeStep,
} from './ticks.js';

export type { XAxis };

export interface ChartSeries {
  label: string;
  color: string;
  line: Line;
  /** Drawn thinner and faded under the line (the raw line behind a smoothed one). */
  faded?: boolean;
  /** On the right y axis (a metric of another scale). */
  right?: boolean;
  /** Drawn faint, under the others (another line of the legend is highlighted). */
  dim?: boolean;
}

/** The tick labels an axis shows, in order (bottom to top for y). */
export interface AxisTicks {
  x: string[];
  y: string[];
  /** The right y axis, when the chart has one. */
  y2?: string[];
}

const AXIS_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

let measurer: CanvasRenderingContext2D | null = null;

/** Width in CSS pixels of the widest label in the axis font. */
function labelWidth(values: string[] | null): number {
  if (!values || values.length === 0) return 30;
  measurer ??= document.createElement('canvas').getContext('2d');
  if (!measurer) return 8 * Math.max(...values.map((v) => (v ?? '').length));
  measurer.font = AXIS_FONT;
  let w = 0;
  for (const v of values) if (v) w = Math.max(w, measurer.measureText(v).width);
  return Math.ceil(w);
}

function cssWidth(u: uPlot): number {
  return u.bbox.width / uPlot.pxRatio;
}

function cssHeight(u: uPlot): number {
  return u.bbox.height / uPlot.pxRatio;
}

interface ChartColors {
  text: string;
  grid: string;
  background: string;
}

export interface ChartOptions {
  axis: XAxis;
  log: boolean;
  height: number;
  colors: ChartColors;
  /** Called when the user picks another x range (drag, keys, buttons); null: back to all of it. */
  onZoom(range: [number, number] | null): void;
  /** Called as the pointer moves over the plot: the x under it, or null when it leaves. */
  onCursor?(x: number | null): void;
  /** Called after each drawing with the number of line pieces drawn and the tick labels shown. */
  onDraw?(segments: number, ticks: AxisTicks): void;
  xTitle?: string;
  yTitle?: string;
  /** Charts with the same key share the hover cursor. */
  cursorSync?: string;
  /** A second y axis on the right, for the series marked `right`, titled `y2Title`. */
  rightAxis?: boolean;
  y2Title?: string;
}

/** x values as the chart shows them: timestamps in seconds (uPlot's time unit), else as they are. */
export function displayX(axis: XAxis, x: number): number {
  return axis === 'timestamp' ? x / 1e6 : x;
}

/**
 * A uPlot chart whose lines are drawn column by column on the pixel grid of `columns.ts`, from arrays it
 * holds itself (each line with its own x), so that one chart can hold many runs and M4 buckets draw exactly
 * as every point would.
 */
export class LineChart {
  readonly #u: uPlot;
  readonly #options: ChartOptions;
  #series: ChartSeries[] = [];
  #range: [number, number] = [0, 1];
  #yRange: [number, number] = [0, 1];
  #y2Range: [number, number] = [0, 1];
  #markers: readonly number[] = [];
  #grid: ColumnGrid = columnGrid(0, 1, 1, 0);
  #ignoreOutliers = false;
  #xStep = 1;
  #ySteps = { y: 1, y2: 1 };
  #ticks: { x: string[]; y: string[]; y2: string[] } = { x: [], y: [], y2: [] };
  #splits: { x: number[]; y: number[]; y2: number[] } = { x: [], y: [], y2: [] };
  #height: number;

  constructor(el: HTMLElement, width: number, options: ChartOptions) {
    this.#options = options;
    this.#height = options.height;
    const { colors, axis, log } = options;
    // A log scale must never see a range reaching 0, not even before the first data.
    this.#yRange = log ? [1, 10] : [0, 1];
    this.#y2Range = this.#yRange;
    const right = options.rightAxis ?? false;
    const axisStyle = {
      stroke: colors.text,
      font: AXIS_FONT,
      grid: { stroke: colors.grid, width: 1 },
      ticks: { stroke: colors.grid, width: 1 },
      // Keep every label chosen here (uPlot's log filter would blank all but 1, 2 and 5 of a decade).
      filter: (_u: uPlot, splits: number[]) => splits,
    };
    const xSplits = (u: uPlot, _i: number, min: number, max: number): number[] => {
      const count = cssWidth(u) / (axis === 'timestamp' ? 110 : 90);
      if (axis === 'time') this.#xStep = timeStep(max - min, count);
      else if (axis === 'timestamp') this.#xStep = dateStep(max - min, count);
      else this.#xStep = niceStep(max - min, count);
      this.#splits.x =
        axis === 'timestamp' ? dateTicks(min, max, this.#xStep) : stepTicks(min, max, this.#xStep);
      return this.#splits.x;
    };
    const xValues = (_u: uPlot, splits: number[]): string[] => {
      const step = this.#xStep;
      const labels =
        axis === 'time'
          ? splits.map((v) => formatSinceStart(v, step))
          : axis === 'timestamp'
            ? splits.map((v, k) => formatDateTick(v, step, k === 0))
            : formatLinearTicks(splits, step);
      this.#ticks.x = labels;
      return labels;
    };
    const yAxis = (scale: 'y' | 'y2', title: string | undefined) => ({
      ...axisStyle,
      scale,
      splits: (u: uPlot, _i: number, min: number, max: number): number[] => {
        if (log) {
          this.#splits[scale] = logTicks(min, max, cssHeight(u) / 18);
        } else {
          this.#ySteps[scale] = niceStep(max - min, cssHeight(u) / 28);
          this.#splits[scale] = stepTicks(min, max, this.#ySteps[scale]);
        }
        return this.#splits[scale];
      },
      values: (_u: uPlot, splits: number[]): string[] => {
        const labels = log ? splits.map(formatLogTick) : formatLinearTicks(splits, this.#ySteps[scale]);
        this.#ticks[scale] = labels;
        return labels;
      },
      // As wide as the longest label, so 100,000 and 1.234e-7 are never cut off.
      // At least 60 px, so that the plot's width (its M4 bucket count) seldom changes with the data.
      size: (_u: uPlot, values: string[] | null) => Math.max(60, labelWidth(values) + 18),
      label: title,
      labelSize: 18,
    });
    const y2Scale = { auto: false, distr: log ? 3 : 1, log: 10, range: () => this.#y2Range } as const;
    this.#u = new uPlot(
      {
        width,
        height: options.height,
        legend: { show: false },
        pxAlign: 1,
        scales: {
          x: { time: axis === 'timestamp', auto: false, range: () => this.#displayRange() },
          y: {
            auto: false,
            distr: log ? 3 : 1,
            log: 10,
            range: () => this.#yRange,
          },
          ...(right ? { y2: y2Scale } : {}),
        },
        axes: [
          { ...axisStyle, splits: xSplits, values: xValues, label: options.xTitle, labelSize: 18 },
          yAxis('y', options.yTitle),
          ...(right ? [{ ...yAxis('y2', options.y2Title), side: 1, grid: { show: false } }] : []),
        ],
        cursor: {
          drag: { x: true, y: false, setScale: false },
          points: { show: false },
          y: false,
          ...(options.cursorSync ? { sync: { key: options.cursorSync } } : {}),
        },
        // One series only to carry the y scale: the lines are drawn by `#drawLines`, not as uPlot series.
        series: [
          {},
          { scale: 'y', stroke: 'transparent', points: { show: false }, paths: () => null },
          ...(right
            ? [{ scale: 'y2', stroke: 'transparent', points: { show: false }, paths: () => null }]
            : []),
        ],
        hooks: {
          setSelect: [
            (u) => {
              if (u.select.width > 2) {
                const a = u.posToVal(u.select.left, 'x');
                const b = u.posToVal(u.select.left + u.select.width, 'x');
                this.#zoomTo(this.#apiX(a), this.#apiX(b));
              }
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            },
          ],
          draw: [
            (u) =>
              options.onDraw?.(this.#drawLines(u), {
                x: this.#ticks.x,
                y: this.#ticks.y,
                ...(right ? { y2: this.#ticks.y2 } : {}),
              }),
          ],
          setCursor: [
            (u) => {
              const left = u.cursor.left;
              options.onCursor?.(left === undefined || left < 0 ? null : this.#apiX(u.posToVal(left, 'x')));
            },
          ],
        },
      },
      this.#data([0, 1]),
      el,
    );
    this.#u.over.addEventListener('dblclick', () => options.onZoom(null));
  }

  /** Width of the plot in canvas pixels: how many M4 buckets fill it. */
  get plotWidth(): number {
    return Math.max(1, Math.round(this.#u.bbox.width));
  }

  /** The column grid for an x range (API units) on this chart's plot. */
  gridFor(range: [number, number], zoomed: boolean): ColumnGrid {
    return columnGrid(range[0], range[1], this.plotWidth, zoomed ? 1 : 0);
  }

  /** Replaces the lines and the x range (API units) and draws them (uPlot draws in a microtask). */
  draw(series: ChartSeries[], range: [number, number], zoomed: boolean, ignoreOutliers = false): void {
    this.#series = series;
    this.#ignoreOutliers = ignoreOutliers;
    this.#range = range;
    this.#grid = this.gridFor(range, zoomed);
    this.#yRange = this.#computeYRange(false);
    const right = this.#options.rightAxis ?? false;
    if (right) this.#y2Range = this.#computeYRange(true);
    const u = this.#u;
    const dx = this.#displayRange();
    u.batch(() => {
      u.setData(this.#data(dx), false);
      u.setScale('x', { min: dx[0], max: dx[1] });
      u.setScale('y', { min: this.#yRange[0], max: this.#yRange[1] });
      if (right) u.setScale('y2', { min: this.#y2Range[0], max: this.#y2Range[1] });
    });
  }

  /** Thin vertical markers at these x (API units), drawn under the lines; the chart draws again. */
  setMarkers(xs: readonly number[]): void {
    this.#markers = xs;
    this.#u.redraw(false);
  }

  /** Where an x (API units) sits across the chart's holder, in CSS pixels. */
  cssLeft(x: number): number {
    const u = this.#u;
    return u.bbox.left / uPlot.pxRatio + u.valToPos(displayX(this.#options.axis, x), 'x');
  }

  /** How many API x units one CSS pixel of the plot spans. */
  get unitsPerPixel(): number {
    return (this.#range[1] - this.#range[0]) / Math.max(1, cssWidth(this.#u));
  }

  #data(dx: [number, number]): uPlot.AlignedData {
    const y: [number, number][] = [this.#yRange];
    if (this.#options.rightAxis) y.push(this.#y2Range);
    return [dx, ...y.map((r) => [r[0], r[1]])];
  }

  /** The markers' pixel columns in view (canvas pixels). */
  #markerColumns(u: uPlot): number[] {
    const axis = this.#options.axis;
    const [a, b] = this.#range;
    const out: number[] = [];
    for (const x of this.#markers) {
      if (x >= a && x <= b) out.push(Math.round(u.valToPos(displayX(axis, x), 'x', true)));
    }
    return out;
  }

  /**
   * Strokes every line over the plot, after uPlot has drawn axes and grid. Bevel joins: the columns' vertical
   * strokes turn back on themselves at every pixel, where round joins (uPlot's) cost a canvas much more.
   */
  #drawLines(u: uPlot): number {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const x0 = Math.round(left);
    let segments = 0;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    // One CSS pixel wide; on whole device pixels (offset by half a pixel when odd) so that strokes stay crisp.
    const lineWidth = Math.max(1, Math.round(uPlot.pxRatio));
    const offset = (lineWidth % 2) / 2;
    ctx.translate(offset, offset);
    ctx.lineWidth = lineWidth;
    ctx.lineJoin = 'bevel';
    ctx.lineCap = 'butt';
    if (this.#markers.length > 0) {
      const marks = new Path2D();
      for (const px of this.#markerColumns(u)) {
        marks.moveTo(px, top);
        marks.lineTo(px, top + height);
      }
      ctx.globalAlpha = 0.45;
      ctx.strokeStyle = this.#options.colors.text;
      ctx.stroke(marks);
    }
    for (const s of this.#series) {
      const path = new Path2D();
      const yPixel = (y: number) => this.#yPixel(y, s.right ?? false);
      segments += traceColumns(path, s.line, this.#grid, x0, yPixel, this.#options.log);
      ctx.globalAlpha = s.dim ? 0.15 : s.faded ? 0.35 : 1;
      ctx.strokeStyle = s.color;
      ctx.stroke(path);
    }
    ctx.restore();
    return segments;
  }

  /** The chart as an SVG document: the same lines, column by column, with the axes' ticks and titles. */
  toSvg(): string {
    const u = this.#u;
    const ratio = uPlot.pxRatio;
    const { left, top, width, height } = u.bbox;
    const w = u.width;
    const h = u.height;
    const { text, grid, background } = this.#options.colors;
    const css = (v: number) => +(v / ratio).toFixed(2);
    const out: string[] = [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="system-ui, sans-serif" font-size="12">`,
      `<rect width="${w}" height="${h}" fill="${escapeXml(background)}"/>`,
    ];
    const xs = this.#splits.x;
    const ys = this.#splits.y;
    xs.forEach((v, k) => {
      const x = css(u.valToPos(v, 'x', true));
      out.push(
        `<line x1="${x}" y1="${css(top)}" x2="${x}" y2="${css(top + height)}" stroke="${escapeXml(grid)}"/>`,
      );
      const label = this.#ticks.x[k];
      if (label) {
        out.push(
          `<text x="${x}" y="${css(top + height) + 16}" text-anchor="middle" fill="${escapeXml(text)}">${escapeXml(label)}</text>`,
        );
      }
    });
    ys.forEach((v, k) => {
      const y = css(u.valToPos(v, 'y', true));
      out.push(
        `<line x1="${css(left)}" y1="${y}" x2="${css(left + width)}" y2="${y}" stroke="${escapeXml(grid)}"/>`,
      );
      const label = this.#ticks.y[k];
      if (label) {
        out.push(
          `<text x="${css(left) - 6}" y="${y + 4}" text-anchor="end" fill="${escapeXml(text)}">${escapeXml(label)}</text>`,
        );
      }
    });
    if (this.#options.xTitle) {
      out.push(
        `<text x="${css(left + width / 2)}" y="${h - 4}" text-anchor="middle" font-weight="bold" fill="${escapeXml(text)}">${escapeXml(this.#options.xTitle)}</text>`,
      );
    }
    if (this.#options.yTitle) {
      out.push(
        `<text transform="translate(12 ${css(top + height / 2)}) rotate(-90)" text-anchor="middle" font-weight="bold" fill="${escapeXml(text)}">${escapeXml(this.#options.yTitle)}</text>`,
      );
    }
    if (this.#options.rightAxis) out.push(...this.#svgRightAxis(css));
    const marks = this.#markerColumns(u).map((px) => `M${css(px)} ${css(top)}V${css(top + height)}`);
    if (marks.length > 0) {
      out.push(
        `<path class="markers" d="${marks.join('')}" fill="none" stroke="${escapeXml(text)}" stroke-width="1" opacity="0.45"/>`,
      );
    }
    const x0 = Math.round(left);
    for (const series of this.#series) {
      const d: string[] = [];
      const path = {
        moveTo: (x: number, y: number) => d.push(`M${css(x)} ${css(y)}`),
        lineTo: (x: number, y: number) => d.push(`L${css(x)} ${css(y)}`),
      };
      const yPixel = (y: number) => this.#yPixel(y, series.right ?? false);
      traceColumns(path, series.line, this.#grid, x0, yPixel, this.#options.log);
      const opacity = series.dim ? 0.15 : series.faded ? 0.35 : 1;
      out.push(
        `<path d="${d.join('')}" fill="none" stroke="${escapeXml(series.color)}" stroke-width="1"${opacity < 1 ? ` opacity="${opacity}"` : ''}/>`,
      );
    }
    out.push('</svg>');
    return out.join('\n');
  }

  /** The right y axis's tick labels and title, as SVG elements. */
  #svgRightAxis(css: (v: number) => number): string[] {
    const u = this.#u;
    const { left, top, width, height } = u.bbox;
    const fill = escapeXml(this.#options.colors.text);
    const out = this.#splits.y2.flatMap((v, k) => {
      const label = this.#ticks.y2[k];
      const y = css(u.valToPos(v, 'y2', true));
      return label
        ? [
            `<text x="${css(left + width) + 6}" y="${y + 4}" text-anchor="start" fill="${fill}">${escapeXml(label)}</text>`,
          ]
        : [];
    });
    if (this.#options.y2Title) {
      out.push(
        `<text transform="translate(${u.width - 6} ${css(top + height / 2)}) rotate(90)" text-anchor="middle" font-weight="bold" fill="${fill}">${escapeXml(this.#options.y2Title)}</text>`,
      );
    }
    return out;
  }

  /** The chart's canvas as a PNG (at once, so that a click's download is still the click's). */
  toPng(): Blob {
    const url = this.#u.ctx.canvas.toDataURL('image/png');
    const bytes = Uint8Array.from(atob(url.slice(url.indexOf(',') + 1)), (c) => c.charCodeAt(0));
    return new Blob([bytes], { type: 'image/png' });
  }

  /** Sets the chart's size (CSS pixels); the height stays unless given. */
  resize(width: number, height: number): void {
    this.#height = height;
    this.#u.setSize({ width, height });
  }

  setSize(width: number): void {
    this.#u.setSize({ width, height: this.#height });
  }

  destroy(): void {
    this.#u.destroy();
  }

  #displayRange(): [number, number] {
    const axis = this.#options.axis;
    return [displayX(axis, this.#range[0]), displayX(axis, this.#range[1])];
  }

  #apiX(display: number): number {
    return this.#options.axis === 'timestamp' ? display * 1e6 : display;
  }

  #yPixel(y: number, right: boolean): number {
    if (this.#options.log && !(y > 0)) return Number.NaN;
    return this.#u.valToPos(y, right ? 'y2' : 'y', true);
  }

  #zoomTo(a: number, b: number): void {
    if (!(b > a)) return;
    this.#options.onZoom([a, b]);
  }

  /** The y range of the left or right axis's lines (on a chart without a right axis, all lines are left). */
  #computeYRange(right: boolean): [number, number] {
    const log = this.#options.log;
    let lo = Infinity;
    let hi = -Infinity;
    const two = this.#options.rightAxis ?? false;
    const lines = this.#series
      .filter((s) => !s.faded && (!two || (s.right ?? false) === right))
      .map((s) => s.line);
    const clipped = this.#ignoreOutliers
      ? quantileExtent(lines, this.#range[0], this.#range[1], log, 0.01)
      : null;
    if (clipped) [lo, hi] = clipped;
    else {
      for (const line of lines) {
        const e = yExtent(line, this.#range[0], this.#range[1], log);
        if (!e) continue;
        if (e[0] < lo) lo = e[0];
        if (e[1] > hi) hi = e[1];
      }
    }
    if (lo === Infinity) return log ? [1, 10] : [0, 1];
    if (log) {
      const a = 10 ** Math.floor(Math.log10(lo));
      const b = 10 ** Math.ceil(Math.log10(hi));
      return [a, b > a ? b : a * 10];
    }
    if (lo === hi) return [lo - (Math.abs(lo) || 1) * 0.1, hi + (Math.abs(hi) || 1) * 0.1];
    const pad = (hi - lo) * 0.05;
    return [lo - pad, hi + pad];
  }
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The x range with the given fraction kept around a centre (zoom by keys and buttons). */
export function zoomRange(range: [number, number], factor: number, centre = 0.5): [number, number] {
  const span = range[1] - range[0];
  const c = range[0] + span * centre;
  return [c - span * centre * factor, c + span * (1 - centre) * factor];
}

export function panRange(range: [number, number], fraction: number): [number, number] {
  const d = (range[1] - range[0]) * fraction;
  return [range[0] + d, range[1] + d];
}

/** Index of the point nearest to `x` (lines are sorted by x), or -1 for an empty line. */
export function nearest(line: Line, x: number): number {
  const n = line.x.length;
  if (n === 0) return -1;
  const i = lowerBound(line.x, x);
  if (i === 0) return 0;
  if (i >= n) return n - 1;
  return x - (line.x[i - 1] ?? x) <= (line.x[i] ?? x) - x ? i - 1 : i;
}

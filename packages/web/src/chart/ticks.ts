/**
 * Axis ticks the charts choose themselves instead of uPlot's: decades on a log axis (uPlot's log splits step
 * from the scale's minimum by its own magnitude, and loop for seconds when that minimum is 0), labels whose
 * precision follows the tick spacing (so close ticks never print the same text), and round steps of time.
 * Every function here bounds its own work: a few dozen ticks at most, whatever the range.
 */

const SUPERSCRIPT: Record<string, string> = {
  '-': '⁻',
  '0': '⁰',
  '1': '¹',
  '2': '²',
  '3': '³',
  '4': '⁴',
  '5': '⁵',
  '6': '⁶',
  '7': '⁷',
  '8': '⁸',
  '9': '⁹',
};

/** The most ticks any axis gets, however large it is drawn. */
const MAX_TICKS = 40;

/** `10ⁿ` with a superscript exponent: how every decade of a log axis reads. */
function formatDecade(exponent: number): string {
  return `10${String(exponent)
    .split('')
    .map((c) => SUPERSCRIPT[c] ?? c)
    .join('')}`;
}

/**
 * Ticks of a log axis over `[min, max]` (both positive): every decade, or every k-th when there are more than
 * `count`; over less than two decades, 2 and 5 times them too. Nothing for a range that is not positive and finite.
 */
export function logTicks(min: number, max: number, count: number): number[] {
  if (!(min > 0) || !(max > min) || !Number.isFinite(max)) return [];
  const n = Math.max(2, Math.min(MAX_TICKS, Math.floor(count)));
  const lo = Math.ceil(Math.log10(min) - 1e-9);
  const hi = Math.floor(Math.log10(max) + 1e-9);
  if (hi - lo < 2) {
    const out: number[] = [];
    for (let e = lo - 1; e <= hi; e++) {
      for (const m of [1, 2, 5]) {
        const v = m * decade(e);
        if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) out.push(v);
      }
    }
    return out;
  }
  const step = Math.ceil((hi - lo + 1) / n);
  const out: number[] = [];
  for (let e = Math.ceil(lo / step) * step; e <= hi; e += step) out.push(decade(e));
  return out;
}

/** 10^e written exactly as JavaScript reads the literal `1e<e>` (10 ** -6 is 9.999999999999999e-7). */
function decade(e: number): number {
  return Number(`1e${e}`);
}

/** A log tick's label: decades as 10ⁿ, the 2 and 5 between them as plain numbers. */
export function formatLogTick(v: number): string {
  const e = Math.round(Math.log10(v));
  if (Math.abs(v - decade(e)) <= decade(e) * 1e-9) return formatDecade(e);
  return formatPlain(v, Math.max(0, -Math.floor(Math.log10(v))));
}

/** The round step (1, 2 or 5 × 10ⁿ) that puts at most `count` ticks over `span`. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, Math.min(MAX_TICKS, count));
  const e = Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) {
    const step = m * 10 ** e;
    if (step >= raw * (1 - 1e-9)) return step;
  }
  return 10 ** (e + 1);
}

/** The multiples of `step` within `[min, max]`. */
export function stepTicks(min: number, max: number, step: number): number[] {
  if (!(max >= min) || !Number.isFinite(min) || !Number.isFinite(max) || !(step > 0)) return [];
  const out: number[] = [];
  const first = Math.ceil(min / step - 1e-9);
  for (let k = first; out.length <= MAX_TICKS; k++) {
    const v = k * step;
    if (v > max + step * 1e-9) break;
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return out;
}

/** Digits after the point that tell ticks `step` apart. */
function decimalsFor(step: number): number {
  if (!(step > 0) || !Number.isFinite(step)) return 0;
  return Math.max(0, Math.min(20, Math.ceil(-Math.log10(step) - 1e-9)));
}

/**
 * Labels for ticks `step` apart, all with the same precision (enough to tell neighbours apart): plain with
 * thousands separators between 1e-4 and 1e9, else in exponent notation with as many digits as the step needs.
 */
export function formatLinearTicks(ticks: number[], step: number): string[] {
  const top = Math.max(...ticks.map(Math.abs), 0);
  if (top >= 1e9 || (top > 0 && top < 1e-4) || step < 1e-12) {
    const e = Math.floor(Math.log10(top || 1));
    const digits = Math.max(0, Math.min(15, e - Math.floor(Math.log10(step))));
    return ticks.map((v) => (v === 0 ? '0' : v.toExponential(digits)));
  }
  const decimals = decimalsFor(step);
  return ticks.map((v) => formatPlain(v, decimals));
}

function formatPlain(v: number, decimals: number): string {
  const s = v.toLocaleString('en', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  return s === '-0' || /^-0\.0*$/.test(s) ? s.slice(1) : s;
}

/** Steps of "time since start", in seconds: 1, 2, 5 × 10ⁿ below a minute, then the clock's round steps. */
const TIME_STEPS = [
  60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 432000, 864000, 2592000,
];

/** The step of a seconds axis that puts at most `count` ticks over `span`. */
export function timeStep(span: number, count: number): number {
  const raw = span / Math.max(1, Math.min(MAX_TICKS, count));
  if (raw <= 30) return niceStep(span, count);
  for (const s of TIME_STEPS) if (s >= raw) return s;
  return niceStep(span / 86400, count) * 86400;
}

/** A tick of "time since start": `45s`, `0.25s`, `15m`, `1h 30m`, `2d 6h`. */
export function formatSinceStart(v: number, step: number): string {
  const sign = v < 0 ? '-' : '';
  const a = Math.abs(v);
  if (step < 60) {
    if (a < 60 || step < 1) return `${sign}${formatPlain(a, decimalsFor(step))}s`;
    const m = Math.floor(a / 60);
    return `${sign}${formatSinceStart(m * 60, 60)} ${Math.round(a - m * 60)}s`;
  }
  const d = Math.floor(a / 86400);
  const h = Math.floor((a % 86400) / 3600);
  const m = Math.round((a % 3600) / 60);
  const parts: string[] = [];
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m || parts.length === 0) parts.push(`${m}m`);
  return sign + parts.join(' ');
}

/** A tick of a date axis (seconds since the epoch), in local time as the rest of the UI writes dates. */
export function formatDateTick(seconds: number, step: number, first: boolean): string {
  const d = new Date(seconds * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  if (step >= 86400) return date;
  let time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (step < 60) time += `:${pad(d.getSeconds())}`;
  if (step < 1) time += `.${pad(d.getMilliseconds(), 3)}`;
  const midnight = d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0;
  return first || midnight ? `${date} ${time}` : time;
}

/** Round steps of a date axis, in seconds. */
export function dateStep(span: number, count: number): number {
  const raw = span / Math.max(1, Math.min(MAX_TICKS, count));
  if (raw < 1) return niceStep(span, count);
  for (const s of [1, 2, 5, 10, 15, 30, ...TIME_STEPS]) if (s >= raw) return s;
  return niceStep(span / 86400, count) * 86400;
}

/** Ticks of a date axis: multiples of the step in local time (whole local days for steps of a day or more). */
export function dateTicks(min: number, max: number, step: number): number[] {
  if (step < 86400) {
    const offset = new Date(min * 1000).getTimezoneOffset() * 60;
    return stepTicks(min - offset, max - offset, step).map((v) => v + offset);
  }
  const out: number[] = [];
  const d = new Date(min * 1000);
  d.setHours(0, 0, 0, 0);
  const days = step / 86400;
  while (d.getTime() / 1000 < min) d.setDate(d.getDate() + 1);
  while (d.getTime() / 1000 <= max && out.length <= MAX_TICKS) {
    out.push(d.getTime() / 1000);
    d.setDate(d.getDate() + days);
  }
  return out;
}

import { UsageError } from '../errors.js';

/** Metric values read from one line (or one row of a metrics file), with the step when it gave one. */
export interface MetricSample {
  step?: number;
  values: Record<string, number>;
  /** Parts that were meant as metrics but could not be read, for a warning. */
  invalid?: string[];
}

const DECIMAL = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?$/;
// Fortran writes three-digit exponents without the letter: 0.1234-100.
const FORTRAN_EXPONENT = /^([-+]?(?:\d+\.?\d*|\.\d+))([-+]\d{3,})$/;
const NON_FINITE = /^([-+]?)(nan|inf|infinity)$/i;

/**
 * A number as simulation codes print it: decimal with an `e`, `E`, `d` or `D` exponent, Fortran's
 * `1.0-100`, or `nan`, `inf`, `-inf`, `Infinity` in any case. Anything else is `undefined`.
 */
export function parseNumber(text: string): number | undefined {
  const t = text.trim();
  if (DECIMAL.test(t)) return Number(t.replace(/[dD]/, 'e'));
  const fortran = FORTRAN_EXPONENT.exec(t);
  if (fortran) return Number(`${fortran[1]}e${fortran[2]}`);
  const special = NON_FINITE.exec(t);
  if (special) {
    if (special[2]?.toLowerCase() === 'nan') return Number.NaN;
    return special[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  return undefined;
}

/** A step: a whole number from 0 up. */
export function parseStep(text: string): number | undefined {
  const n = parseNumber(text);
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** The word that starts a metric line of the line protocol. */
const PROTOCOL_PREFIX = '@simscope';

/**
 * Reads a line of the line protocol: `@simscope step=12 energy=-3.2 residual=1e-6` (leading blanks
 * allowed). `step` is the step; every other `name=value` pair is a metric. Returns `null` for other lines.
 */
export function parseProtocolLine(line: string): MetricSample | null {
  let i = 0;
  while (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9) i++;
  if (!line.startsWith(PROTOCOL_PREFIX, i)) return null;
  const rest = line.slice(i + PROTOCOL_PREFIX.length);
  if (rest !== '' && rest[0] !== ' ' && rest[0] !== '\t') return null;
  const sample: MetricSample = { values: {} };
  const invalid: string[] = [];
  for (const token of rest.split(/[ \t]+/)) {
    if (token === '') continue;
    const eq = token.indexOf('=');
    const name = token.slice(0, eq);
    const text = token.slice(eq + 1);
    if (eq <= 0) {
      invalid.push(token);
    } else if (name === 'step') {
      const step = parseStep(text);
      if (step === undefined) invalid.push(token);
      else sample.step = step;
    } else {
      const value = parseNumber(text);
      if (value === undefined) invalid.push(token);
      else sample.values[name] = value;
    }
  }
  if (invalid.length > 0) sample.invalid = invalid;
  return sample;
}

/**
 * Turns Python's named groups into JavaScript's: `(?P<x>…)` becomes `(?<x>…)` and `(?P=x)` becomes
 * `\k<x>`. Escaped characters and character classes are left alone.
 */
export function pythonToJsPattern(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source.charAt(i);
    if (c === '\\') {
      out += source.slice(i, i + 2);
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c;
    } else if (c === '[') {
      inClass = true;
      out += c;
      if (source[i + 1] === ']' || (source[i + 1] === '^' && source[i + 2] === ']')) {
        const extra = source[i + 1] === '^' ? 2 : 1;
        out += source.slice(i + 1, i + 1 + extra);
        i += extra;
      }
    } else if (source.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else if (source.startsWith('(?P=', i)) {
      const close = source.indexOf(')', i);
      if (close === -1) {
        out += c;
        continue;
      }
      out += `\\k<${source.slice(i + 4, close)}>`;
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

/** The metric a named group feeds: `__` in a group name stands for `/` (`residual__p` → `residual/p`). */
function groupMetricName(group: string): string {
  return group.replaceAll('__', '/');
}

/**
 * Compiles a user's metric pattern (JavaScript or Python syntax). It must have a named group other than
 * `step`, and fails with a usage error naming the pattern otherwise.
 */
export function compileMetricPattern(source: string): RegExp {
  let re: RegExp;
  try {
    re = new RegExp(pythonToJsPattern(source));
  } catch (error) {
    throw new UsageError(`--metrics-regex '${source}': ${(error as Error).message}`, { cause: error });
  }
  const names = [...pythonToJsPattern(source).matchAll(/\(\?<([A-Za-z_$][\w$]*)>/g)].map((m) => m[1] ?? '');
  if (!names.some((n) => n !== 'step')) {
    throw new UsageError(
      `--metrics-regex '${source}': needs a named group for a metric, like (?<energy>\\S+) or (?P<energy>\\S+)`,
    );
  }
  return re;
}

/** Applies a compiled pattern to a line: the group `step` is the step, every other named group a metric. */
export function matchMetricPattern(re: RegExp, line: string): MetricSample | null {
  const match = re.exec(line);
  if (!match?.groups) return null;
  const sample: MetricSample = { values: {} };
  const invalid: string[] = [];
  for (const [group, text] of Object.entries(match.groups)) {
    if (text === undefined) continue;
    if (group === 'step') {
      const step = parseStep(text);
      if (step === undefined) invalid.push(`step=${text}`);
      else sample.step = step;
      continue;
    }
    const value = parseNumber(text);
    const name = groupMetricName(group);
    if (value === undefined) invalid.push(`${name}=${text}`);
    else sample.values[name] = value;
  }
  if (invalid.length > 0) sample.invalid = invalid;
  return sample;
}

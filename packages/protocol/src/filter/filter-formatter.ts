import { SimscopeError } from '../errors.js';
import { microsToIso } from '../time.js';
import type { FilterExpr, FilterField, FilterValue } from './filter-ast.js';
import { FilterLexer, isBareSegment, type Token } from './filter-lexer.js';
import { RESERVED_WORDS } from './filter-parser.js';

const DURATION_UNITS: readonly [string, number][] = [
  ['w', 604_800],
  ['d', 86_400],
  ['h', 3600],
  ['m', 60],
  ['s', 1],
];

/**
 * Prints a filter syntax tree as filter text that `parseFilter` reads back to the same tree.
 *
 * @example
 * formatFilter({ kind: 'hasTag', tag: 'baseline' }); // 'has tag.baseline'
 */
export function formatFilter(expr: FilterExpr): string {
  switch (expr.kind) {
    case 'or':
      return joinItems(expr.items, 'or', (item) => item.kind === 'or');
    case 'and':
      return joinItems(expr.items, 'and', (item) => item.kind === 'or' || item.kind === 'and');
    case 'not': {
      const inner = formatFilter(expr.expr);
      return expr.expr.kind === 'and' || expr.expr.kind === 'or' ? `not (${inner})` : `not ${inner}`;
    }
    case 'compare':
      return `${formatField(expr.field)} ${expr.op} ${formatValue(expr.value)}`;
    case 'exists':
      return `${formatField(expr.field)} exists`;
    case 'hasTag':
      return `has tag.${formatDotted(expr.tag)}`;
  }
}

function joinItems(items: FilterExpr[], keyword: string, needsParens: (item: FilterExpr) => boolean): string {
  if (items.length === 0) throw new SimscopeError('invalid_filter', `cannot format an empty '${keyword}'`);
  return items
    .map((item) => (needsParens(item) ? `(${formatFilter(item)})` : formatFilter(item)))
    .join(` ${keyword} `);
}

function formatField(field: FilterField): string {
  switch (field.kind) {
    case 'run':
    case 'time':
      return field.name;
    case 'tags':
      return 'tags';
    case 'metadata':
      return ['metadata', ...field.path.map((key) => (isBareSegment(key) ? key : quote(key)))].join('.');
    case 'metric':
      return `metrics.${formatDotted(field.name)}.${field.stat}`;
  }
}

/** A name the parser joins from dot-separated parts: bare when every part is bare, else quoted whole. */
function formatDotted(name: string): string {
  return name.split('.').every(isBareSegment) ? name : quote(name);
}

function formatValue(value: FilterValue): string {
  switch (value.kind) {
    case 'string':
      return isBareString(value.value) ? value.value : quote(value.value);
    case 'number':
      if (!Number.isFinite(value.value)) {
        throw new SimscopeError('invalid_filter', `cannot format the number ${value.value}`);
      }
      return Object.is(value.value, -0) ? '-0' : String(value.value);
    case 'boolean':
      return String(value.value);
    case 'null':
      return 'null';
    case 'duration':
      return formatDuration(value.seconds);
    case 'timestamp':
      return formatTimestamp(value.micros);
  }
}

/** Whether the parser reads `text`, unquoted, back as that same string. */
function isBareString(text: string): boolean {
  if ((RESERVED_WORDS as readonly string[]).includes(text.toLowerCase())) return false;
  let tokens: Token[];
  try {
    const lexer = new FilterLexer(text);
    tokens = [lexer.next(), lexer.next()];
  } catch {
    return false;
  }
  const [token, after] = tokens;
  return (
    token?.kind === 'word' &&
    token.text === text &&
    token.parts.every((part) => !part.quoted) &&
    after?.kind === 'eof'
  );
}

function quote(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are written as escapes
  const escaped = text.replace(/[\\"\u0000-\u001f\u007f]/g, (char) => {
    if (char === '\\' || char === '"') return `\\${char}`;
    if (char === '\n') return '\\n';
    if (char === '\r') return '\\r';
    if (char === '\t') return '\\t';
    return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return `"${escaped}"`;
}

function formatDuration(seconds: number): string {
  if (Number.isInteger(seconds) && seconds >= 0) {
    if (seconds === 0) return '0s';
    let rest = seconds;
    let text = '';
    for (const [unit, size] of DURATION_UNITS) {
      const count = Math.floor(rest / size);
      if (count > 0) text += `${count}${unit}`;
      rest -= count * size;
    }
    return text;
  }
  const text = String(seconds);
  if (!/^\d+\.\d+$/.test(text)) {
    throw new SimscopeError('invalid_filter', `cannot format a relative time of ${seconds} seconds`);
  }
  return `${text}s`;
}

function formatTimestamp(micros: number): string {
  if (!Number.isSafeInteger(micros)) {
    throw new SimscopeError('invalid_filter', `cannot format the timestamp ${micros}`);
  }
  const iso = microsToIso(micros);
  if (iso.endsWith('T00:00:00.000000Z')) return iso.slice(0, 10);
  return iso.replace('.000000Z', 'Z');
}

import { FilterError } from '../errors.js';
import { parseDuration } from '../time.js';
import type { CompareOp } from './filter-ast.js';

/** Comparison operators written as symbols; `=` is read as `==`. */
type OpSymbol = Exclude<CompareOp, 'contains' | 'not contains' | 'matches'>;

/** One dot-separated part of a word: `metrics."a b".last` has three. */
export interface WordPart {
  text: string;
  quoted: boolean;
  pos: number;
}

interface TokenBase {
  /** 0-based offset of the token's first character. */
  pos: number;
  /** Offset just past the token. */
  end: number;
  /** The token as written in the source. */
  text: string;
}

/** A token of the run filter language. */
export type Token =
  | (TokenBase & { kind: 'word'; parts: WordPart[] })
  | (TokenBase & { kind: 'string'; value: string })
  | (TokenBase & { kind: 'number'; value: number })
  | (TokenBase & { kind: 'duration'; seconds: number })
  | (TokenBase & { kind: 'timestamp'; micros: number })
  | (TokenBase & { kind: 'op'; op: OpSymbol })
  | (TokenBase & { kind: '(' | ')' | 'eof' });

// Sticky patterns: every use sets lastIndex first, so sharing them between lexers is safe.
const BARE = /[\p{L}\p{N}\p{M}_\-/]+/uy;
const BARE_SEGMENT = /^[\p{L}\p{N}\p{M}_\-/]+$/u;
const NUMBER = /-?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const DATE =
  /(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?/y;
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
/** Longest relative time, in seconds: 100 years, so that now less it stays an exact microsecond count. */
export const MAX_DURATION_SECONDS = 36_500 * 86_400;
const WHITESPACE = /\s+/y;
const OPS: readonly OpSymbol[] = ['==', '!=', '<=', '>=', '<', '>'];

/** Whether `text` can be written unquoted as one dot-separated part of a field or tag name. */
export function isBareSegment(text: string): boolean {
  return BARE_SEGMENT.test(text);
}

/** Describes the character at `pos` for an error message. */
function describeChar(source: string, pos: number): string {
  if (pos >= source.length) return 'end of filter';
  const char = String.fromCodePoint(source.codePointAt(pos) ?? 0);
  return /\s/.test(char) ? 'a space' : `'${char}'`;
}

/** Reads tokens from a filter string one at a time, so the leftmost error is the one reported. */
export class FilterLexer {
  readonly #source: string;
  #pos = 0;

  constructor(source: string) {
    this.#source = source;
  }

  /** Returns the next token, or an `eof` token at the end. */
  next(): Token {
    const src = this.#source;
    WHITESPACE.lastIndex = this.#pos;
    if (WHITESPACE.test(src)) this.#pos = WHITESPACE.lastIndex;
    const start = this.#pos;
    if (start >= src.length) return { kind: 'eof', pos: start, end: start, text: '' };

    const char = src.charAt(start);
    if (char === '(' || char === ')') {
      this.#pos = start + 1;
      return { kind: char, pos: start, end: start + 1, text: char };
    }
    if (char === '=' || char === '!' || char === '<' || char === '>') return this.#readOp(start);
    if (/[\d.-]/.test(char)) {
      const token = this.#readTimestamp(start) ?? this.#readNumber(start);
      if (token !== undefined) return token;
    }
    BARE.lastIndex = start;
    if (char === '"' || char === "'" || BARE.test(src)) return this.#readWord(start);

    if (char === '&' && src[start + 1] === '&') throw new FilterError("use 'and' instead of '&&'", start);
    if (char === '|' && src[start + 1] === '|') throw new FilterError("use 'or' instead of '||'", start);
    throw new FilterError(
      `unexpected character ${describeChar(src, start)}; put values with special characters in quotes`,
      start,
    );
  }

  #readOp(start: number): Token {
    const src = this.#source;
    const op = OPS.find((candidate) => src.startsWith(candidate, start));
    if (op !== undefined) {
      this.#pos = start + op.length;
      return { kind: 'op', op, pos: start, end: this.#pos, text: op };
    }
    if (src[start] === '=') {
      this.#pos = start + 1;
      return { kind: 'op', op: '==', pos: start, end: this.#pos, text: '=' };
    }
    throw new FilterError("unexpected '!'; use 'not' to negate, or '!=' for not equal", start);
  }

  /** Whether a number or date that ends at `end` is a whole token rather than the start of a word. */
  #endsToken(end: number): boolean {
    const src = this.#source;
    if (end >= src.length) return true;
    BARE.lastIndex = end;
    return !BARE.test(src) && !'."\''.includes(src.charAt(end));
  }

  #readNumber(start: number): Token | undefined {
    NUMBER.lastIndex = start;
    const match = NUMBER.exec(this.#source);
    if (match === null || !this.#endsToken(NUMBER.lastIndex)) return undefined;
    const value = Number(match[0]);
    if (!Number.isFinite(value)) throw new FilterError(`number ${match[0]} is too large`, start);
    this.#pos = NUMBER.lastIndex;
    return { kind: 'number', value, pos: start, end: this.#pos, text: match[0] };
  }

  #readTimestamp(start: number): Token | undefined {
    DATE.lastIndex = start;
    const match = DATE.exec(this.#source);
    if (match === null || !this.#endsToken(DATE.lastIndex)) return undefined;
    const micros = dateToMicros(match, start);
    this.#pos = DATE.lastIndex;
    return { kind: 'timestamp', micros, pos: start, end: this.#pos, text: match[0] };
  }

  #readWord(start: number): Token {
    const src = this.#source;
    const parts: WordPart[] = [];
    for (;;) {
      const pos = this.#pos;
      const char = src[pos];
      if (char === '"' || char === "'") {
        parts.push({ text: this.#readQuoted(pos), quoted: true, pos });
      } else {
        BARE.lastIndex = pos;
        const match = BARE.exec(src);
        if (match === null) {
          throw new FilterError(`expected a name after '.' but found ${describeChar(src, pos)}`, pos);
        }
        parts.push({ text: match[0], quoted: false, pos });
        this.#pos = BARE.lastIndex;
      }
      if (src[this.#pos] !== '.') break;
      this.#pos += 1;
    }
    const text = src.slice(start, this.#pos);
    const [first] = parts;
    if (parts.length === 1 && first?.quoted)
      return { kind: 'string', value: first.text, pos: start, end: this.#pos, text };
    if (parts.every((part) => !part.quoted) && DURATION.test(text)) {
      const seconds = parseDuration(text);
      if (!(seconds <= MAX_DURATION_SECONDS)) {
        throw new FilterError(`relative time '${text}' is too long: at most 36500d (100 years)`, start);
      }
      return { kind: 'duration', seconds, pos: start, end: this.#pos, text };
    }
    return { kind: 'word', parts, pos: start, end: this.#pos, text };
  }

  /** Reads a quoted string starting at `start` and returns its unescaped text. */
  #readQuoted(start: number): string {
    const src = this.#source;
    const quote = src.charAt(start);
    const unterminated = () => new FilterError(`unterminated string: missing closing ${quote}`, start);
    // PostgreSQL cannot hold NUL in text, so no stored value contains it; refused here on every backend alike.
    const nul = (at: number) => new FilterError('a string cannot contain the NUL character (\\u0000)', at);
    let out = '';
    let pos = start + 1;
    for (;;) {
      const char = src[pos];
      if (char === undefined) throw unterminated();
      if (char === quote) break;
      if (char === '\0') throw nul(pos);
      if (char !== '\\') {
        out += char;
        pos += 1;
        continue;
      }
      const escapeChar = src[pos + 1];
      if (escapeChar === undefined) throw unterminated();
      const simple = SIMPLE_ESCAPES[escapeChar];
      if (simple !== undefined) {
        out += simple;
        pos += 2;
      } else if (escapeChar === 'u') {
        const unicode = /^u(?:([0-9a-fA-F]{4})|\{([0-9a-fA-F]{1,6})\})/.exec(src.slice(pos + 1, pos + 10));
        const code = unicode === null ? Number.NaN : Number.parseInt(unicode[1] ?? unicode[2] ?? '', 16);
        if (unicode === null || !(code <= 0x10ffff)) {
          throw new FilterError('invalid unicode escape; write \\uXXXX or \\u{X...}', pos);
        }
        if (code === 0) throw nul(pos);
        out += String.fromCodePoint(code);
        pos += 1 + unicode[0].length;
      } else {
        throw new FilterError(
          `unknown escape '\\${escapeChar}' in string; write '\\\\' for a backslash`,
          pos,
        );
      }
    }
    this.#pos = pos + 1;
    return out;
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  '"': '"',
  "'": "'",
  n: '\n',
  r: '\r',
  t: '\t',
};

/** Microseconds since the epoch of a matched `DATE`; no zone means UTC. */
function dateToMicros(match: RegExpExecArray, pos: number): number {
  const [text, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', zone = 'Z'] = match;
  const fail = (what: string) => new FilterError(`invalid date '${text}': ${what}`, pos);
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  if (Number(month) < 1 || Number(month) > 12) throw fail('month must be 01 to 12');
  if (date.getUTCMonth() !== Number(month) - 1 || Number(day) < 1) throw fail('no such day in that month');
  if (Number(hour) > 23) throw fail('hour must be 00 to 23');
  if (Number(minute) > 59) throw fail('minute must be 00 to 59');
  if (Number(second) > 59) throw fail('second must be 00 to 59');

  let offsetMinutes = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const digits = zone.slice(1).replace(':', '');
    if (digits.length !== 4) throw fail('a zone offset is written +HH:MM');
    const zoneHours = Number(digits.slice(0, 2));
    const zoneMinutes = Number(digits.slice(2));
    if (zoneHours > 23 || zoneMinutes > 59) throw fail('zone offset out of range');
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (zoneHours * 60 + zoneMinutes);
  }

  const seconds = date.getTime() / 1000 + Number(hour) * 3600 + Number(minute) * 60 + Number(second);
  // Date keeps milliseconds only, so the fraction is added as whole microseconds; digits past 6 are dropped.
  const micros = (seconds - offsetMinutes * 60) * 1_000_000 + Number(fraction.slice(0, 6).padEnd(6, '0'));
  if (!Number.isSafeInteger(micros)) throw fail('out of range');
  return micros;
}

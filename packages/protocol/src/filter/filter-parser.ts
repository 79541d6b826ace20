import { FilterError } from '../errors.js';
import { RUN_STATUSES } from '../schemas.js';
import { userPatternProblem } from '../user-pattern.js';
import {
  type CompareOp,
  type FilterExpr,
  type FilterField,
  type FilterValue,
  METRIC_STATS,
  type MetricStat,
  RUN_FIELDS,
  type RunField,
  TIME_FIELDS,
  type TimeField,
} from './filter-ast.js';
import { FilterLexer, type Token, type WordPart } from './filter-lexer.js';

/** Words that are never read as a bare value. */
export const RESERVED_WORDS = ['and', 'or', 'not', 'true', 'false', 'null'] as const;

const MAX_DEPTH = 64;
const ORDER_OPS: readonly CompareOp[] = ['<', '<=', '>', '>='];
const FIELD_LIST = [...RUN_FIELDS, ...TIME_FIELDS, 'tags', 'metadata.KEY', 'metrics.NAME.STAT'].join(', ');
const OPERATOR_LIST = '==, !=, <, <=, >, >=, contains, not contains, matches, exists';
/** Longest regular expression a filter takes, in characters. */
const MAX_PATTERN = 1000;

/**
 * Parses a run filter into its syntax tree; `null` when the filter is empty.
 *
 * @example
 * parseFilter('status == running and metrics.loss.last < 0.1');
 */
export function parseFilter(source: string): FilterExpr | null {
  return new FilterParser(source).parse();
}

class FilterParser {
  readonly #lexer: FilterLexer;
  #token: Token;
  #previous: Token | undefined;
  #depth = 0;

  constructor(source: string) {
    this.#lexer = new FilterLexer(source);
    this.#token = this.#lexer.next();
  }

  parse(): FilterExpr | null {
    if (this.#token.kind === 'eof') return null;
    const expr = this.#parseOr();
    const token = this.#token;
    if (token.kind === ')') throw new FilterError("unexpected ')' with no matching '('", token.pos);
    if (token.kind !== 'eof') {
      throw new FilterError(`expected 'and', 'or' or end of filter but found ${describe(token)}`, token.pos);
    }
    return expr;
  }

  #advance(): void {
    this.#previous = this.#token;
    this.#token = this.#lexer.next();
  }

  #after(): string {
    return this.#previous === undefined ? '' : ` after '${this.#previous.text}'`;
  }

  #enter(token: Token): void {
    this.#depth += 1;
    if (this.#depth > MAX_DEPTH)
      throw new FilterError(`filter nests more than ${MAX_DEPTH} levels deep`, token.pos);
  }

  #parseOr(): FilterExpr {
    const items = [this.#parseAnd()];
    while (isKeyword(this.#token, 'or')) {
      this.#advance();
      items.push(this.#parseAnd());
    }
    return combine('or', items);
  }

  #parseAnd(): FilterExpr {
    const items = [this.#parseNot()];
    while (isKeyword(this.#token, 'and')) {
      this.#advance();
      items.push(this.#parseNot());
    }
    return combine('and', items);
  }

  #parseNot(): FilterExpr {
    const token = this.#token;
    if (!isKeyword(token, 'not')) return this.#parsePrimary();
    this.#enter(token);
    this.#advance();
    const expr = this.#parseNot();
    this.#depth -= 1;
    return { kind: 'not', expr };
  }

  #parsePrimary(): FilterExpr {
    const token = this.#token;
    if (token.kind === '(') {
      this.#enter(token);
      this.#advance();
      const expr = this.#parseOr();
      const close = this.#token;
      if (close.kind !== ')') {
        throw new FilterError(
          `expected ')' to close the '(' at column ${token.pos + 1} but found ${describe(close)}`,
          close.pos,
        );
      }
      this.#advance();
      this.#depth -= 1;
      return expr;
    }
    if (isKeyword(token, 'has')) return this.#parseHasTag();
    return this.#parseTerm();
  }

  #parseHasTag(): FilterExpr {
    this.#advance();
    const token = this.#token;
    const [head, ...rest] = token.kind === 'word' ? token.parts : [];
    if (head === undefined || head.quoted || head.text.toLowerCase() !== 'tag' || rest.length === 0) {
      throw new FilterError(
        `expected tag.NAME after 'has' (e.g. has tag.baseline) but found ${describe(token)}`,
        token.pos,
      );
    }
    const tag = joinParts(rest);
    if (tag === '') throw new FilterError('a tag name must not be empty', rest[0]?.pos ?? token.pos);
    this.#advance();
    return { kind: 'hasTag', tag };
  }

  #parseTerm(): FilterExpr {
    const fieldToken = this.#token;
    if (fieldToken.kind !== 'word' || isKeyword(fieldToken, 'and') || isKeyword(fieldToken, 'or')) {
      const hint = fieldToken.kind === 'string' ? '; field names are not quoted' : '';
      throw new FilterError(
        `expected a field${this.#after()} but found ${describe(fieldToken)}${hint}`,
        fieldToken.pos,
      );
    }
    const field = resolveField(fieldToken);
    this.#advance();

    const opToken = this.#token;
    let op: CompareOp;
    if (isKeyword(opToken, 'exists')) {
      this.#advance();
      return { kind: 'exists', field };
    } else if (isKeyword(opToken, 'contains')) {
      op = 'contains';
    } else if (isKeyword(opToken, 'matches')) {
      op = 'matches';
    } else if (isKeyword(opToken, 'not')) {
      this.#advance();
      const next = this.#token;
      if (!isKeyword(next, 'contains')) {
        const hint = isKeyword(next, 'exists')
          ? `; to match runs without it write 'not ${fieldToken.text} exists'`
          : '';
        throw new FilterError(`expected 'contains' after 'not' but found ${describe(next)}${hint}`, next.pos);
      }
      op = 'not contains';
    } else if (opToken.kind === 'op') {
      op = opToken.op;
    } else {
      throw new FilterError(
        `expected an operator (${OPERATOR_LIST}) after '${fieldToken.text}' but found ${describe(opToken)}`,
        opToken.pos,
      );
    }
    const opText = op === 'not contains' ? op : this.#token.text;
    this.#advance();

    const valueToken = this.#token;
    const value = readValue(valueToken, opText);
    this.#advance();
    checkCompare(field, fieldToken.text, op, opToken, value, valueToken);
    return { kind: 'compare', field, op, value };
  }
}

function isKeyword(token: Token, keyword: string): boolean {
  return (
    token.kind === 'word' &&
    token.parts.length === 1 &&
    !token.parts[0]?.quoted &&
    token.text.toLowerCase() === keyword
  );
}

function describe(token: Token): string {
  if (token.kind === 'eof') return 'end of filter';
  const text = token.text.length > 40 ? `${token.text.slice(0, 40)}…` : token.text;
  return token.kind === 'string' ? text : `'${text}'`;
}

function combine(kind: 'and' | 'or', items: FilterExpr[]): FilterExpr {
  if (items.length === 1 && items[0]) return items[0];
  return { kind, items: items.flatMap((item) => (item.kind === kind ? item.items : [item])) };
}

function joinParts(parts: WordPart[]): string {
  return parts.map((part) => part.text).join('.');
}

function resolveField(token: Token & { kind: 'word' }): FilterField {
  const [head, ...rest] = token.parts as [WordPart, ...WordPart[]];
  if (head.quoted) {
    throw new FilterError(
      `expected a field but found ${describe(token)}; field names are not quoted`,
      token.pos,
    );
  }
  const root = head.text.toLowerCase();
  const simple = simpleField(root);
  if (simple !== undefined) {
    if (rest.length > 0)
      throw new FilterError(`field '${head.text}' has no sub-fields`, rest[0]?.pos ?? token.pos);
    return simple;
  }
  if (root === 'metadata') {
    if (rest.length === 0) {
      throw new FilterError(`expected a key after 'metadata' (e.g. metadata.lr)`, token.end);
    }
    const empty = rest.find((part) => part.text === '');
    if (empty !== undefined) throw new FilterError('a metadata key must not be empty', empty.pos);
    return { kind: 'metadata', path: rest.map((part) => part.text) };
  }
  if (root === 'metrics') return resolveMetric(token, rest);
  if (root === 'tag') {
    throw new FilterError(
      "unknown field 'tag'; to match a tag write has tag.NAME or tags contains NAME",
      token.pos,
    );
  }
  throw new FilterError(`unknown field '${head.text}'; fields are ${FIELD_LIST}`, token.pos);
}

function simpleField(root: string): FilterField | undefined {
  if ((RUN_FIELDS as readonly string[]).includes(root)) return { kind: 'run', name: root as RunField };
  if ((TIME_FIELDS as readonly string[]).includes(root)) return { kind: 'time', name: root as TimeField };
  if (root === 'tags') return { kind: 'tags' };
  return undefined;
}

function resolveMetric(token: Token & { kind: 'word' }, rest: WordPart[]): FilterField {
  const stats = METRIC_STATS.join(', ');
  const statPart = rest.at(-1);
  if (rest.length < 2 || statPart === undefined) {
    const what = rest.length === 0 ? 'a metric name and statistic' : 'a statistic';
    throw new FilterError(
      `expected ${what} after '${token.text}' (e.g. metrics.loss.last); statistics are ${stats}`,
      token.end,
    );
  }
  const stat = statPart.text.toLowerCase();
  if (!(METRIC_STATS as readonly string[]).includes(stat)) {
    throw new FilterError(`unknown metric statistic '${statPart.text}'; use ${stats}`, statPart.pos);
  }
  const name = joinParts(rest.slice(0, -1));
  if (name === '') throw new FilterError('a metric name must not be empty', rest[0]?.pos ?? token.pos);
  return { kind: 'metric', name, stat: stat as MetricStat };
}

function readValue(token: Token, opText: string): FilterValue {
  switch (token.kind) {
    case 'string':
      return { kind: 'string', value: token.value };
    case 'number':
      return { kind: 'number', value: token.value };
    case 'duration':
      return { kind: 'duration', seconds: token.seconds };
    case 'timestamp':
      return { kind: 'timestamp', micros: token.micros };
    case 'word': {
      const word = token.text.toLowerCase();
      if (isKeyword(token, 'true') || isKeyword(token, 'false'))
        return { kind: 'boolean', value: word === 'true' };
      if (isKeyword(token, 'null')) return { kind: 'null' };
      if (isKeyword(token, 'and') || isKeyword(token, 'or') || isKeyword(token, 'not')) {
        throw new FilterError(
          `expected a value after '${opText}' but found '${token.text}'; quote it to match the word: "${token.text}"`,
          token.pos,
        );
      }
      if (token.parts.some((part) => part.quoted)) {
        throw new FilterError('a value cannot mix quoted and bare parts; quote the whole value', token.pos);
      }
      return { kind: 'string', value: token.text };
    }
    default:
      throw new FilterError(`expected a value after '${opText}' but found ${describe(token)}`, token.pos);
  }
}

function describeValue(value: FilterValue, token: Token): string {
  switch (value.kind) {
    case 'string':
      return `text ${JSON.stringify(value.value)}`;
    case 'number':
      return `number ${token.text}`;
    case 'boolean':
      return `${value.value}`;
    case 'null':
      return 'null';
    case 'duration':
      return `relative time ${token.text}`;
    case 'timestamp':
      return `date ${token.text}`;
  }
}

/** Rejects comparisons that parse but can never mean what the writer intended. */
function checkCompare(
  field: FilterField,
  fieldText: string,
  op: CompareOp,
  opToken: Token,
  value: FilterValue,
  valueToken: Token,
): void {
  const opError = (message: string) => new FilterError(message, opToken.pos);
  const valueError = (message: string) => new FilterError(message, valueToken.pos);
  const found = describeValue(value, valueToken);
  const quoteHint = `; quote it to compare as text: "${valueToken.text}"`;
  const contains = op === 'contains' || op === 'not contains';

  if (op === 'matches') {
    checkMatches(field, opError, valueError, value, found, quoteHint);
    return;
  }

  if (field.kind === 'tags') {
    if (!contains) throw opError("tags only support 'contains' and 'not contains' (or use has tag.NAME)");
    if (value.kind !== 'string') throw valueError(`'${op}' needs a tag name but found ${found}${quoteHint}`);
    return;
  }

  if (field.kind === 'time') {
    const times = `a relative time (e.g. 5h), a date (e.g. 2026-01-31) or null`;
    if (contains) throw opError(`'${op}' does not apply to time field '${field.name}'`);
    if (value.kind === 'duration' && !ORDER_OPS.includes(op)) {
      throw opError(`'${op}' does not work with a relative time; use <, <=, > or >=`);
    }
    if (value.kind !== 'duration' && value.kind !== 'timestamp' && value.kind !== 'null') {
      throw valueError(`time field '${field.name}' compares with ${times} but found ${found}`);
    }
  } else if (value.kind === 'duration' || value.kind === 'timestamp') {
    throw valueError(`a ${found} only compares with time fields (${TIME_FIELDS.join(', ')})${quoteHint}`);
  }

  if (contains) {
    if (field.kind === 'metric') throw opError(`'${op}' does not apply to metrics; they are numbers`);
    if (field.kind === 'run' && field.name === 'status') throw opError('status only supports == and !=');
    if (value.kind !== 'string')
      throw valueError(`'${op}' needs a text value but found ${found}${quoteHint}`);
    return;
  }

  if (field.kind === 'run' && field.name === 'status') {
    if (op !== '==' && op !== '!=') throw opError('status only supports == and !=');
    const statuses = RUN_STATUSES.join(', ');
    if (value.kind !== 'string' || !(RUN_STATUSES as readonly string[]).includes(value.value)) {
      const shown = value.kind === 'string' ? `'${value.value}'` : found;
      throw valueError(`unknown status ${shown}; statuses are ${statuses}`);
    }
    return;
  }

  if (field.kind === 'metric') {
    if (value.kind === 'null') {
      throw valueError(
        `metrics compare with numbers, not null; write 'not ${fieldText} exists' for a missing metric`,
      );
    }
    if (value.kind !== 'number') throw valueError(`metrics compare with numbers but found ${found}`);
    return;
  }

  if (field.kind === 'run' && value.kind !== 'string' && value.kind !== 'null') {
    throw valueError(`'${field.name}' compares with text but found ${found}${quoteHint}`);
  }
  if ((value.kind === 'null' || value.kind === 'boolean') && ORDER_OPS.includes(op)) {
    throw opError(`'${op}' cannot compare with ${found}; use == or !=`);
  }
}

/** `matches` takes text fields and a regular expression that compiles (RE2 syntax, see `compileUserPattern`). */
function checkMatches(
  field: FilterField,
  opError: (message: string) => FilterError,
  valueError: (message: string) => FilterError,
  value: FilterValue,
  found: string,
  quoteHint: string,
): void {
  if (field.kind === 'tags') throw opError("'matches' does not apply to tags; use has tag.NAME");
  if (field.kind === 'time') throw opError(`'matches' does not apply to time field '${field.name}'`);
  if (field.kind === 'metric') throw opError("'matches' does not apply to metrics; they are numbers");
  if (field.kind === 'run' && field.name === 'status') throw opError('status only supports == and !=');
  if (value.kind !== 'string') {
    throw valueError(`'matches' needs a regular expression in quotes but found ${found}${quoteHint}`);
  }
  if (value.value.length > MAX_PATTERN) {
    throw valueError(`a regular expression is at most ${MAX_PATTERN} characters`);
  }
  const problem = userPatternProblem(value.value);
  if (problem !== null) throw valueError(`invalid regular expression: ${problem}`);
}

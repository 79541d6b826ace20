import type { FilterExpr, FilterField, FilterValue, RunSortField, RunStatus } from '@simscope/protocol';
import { MlflowError } from './mlflow-errors.js';

/** MLflow run statuses and the Simscope statuses each stands for. */
export const STATUS_FROM_MLFLOW: Record<string, RunStatus[]> = {
  RUNNING: ['running', 'lost'],
  SCHEDULED: ['created'],
  FINISHED: ['completed'],
  FAILED: ['failed'],
  KILLED: ['terminated'],
};

type Token =
  | { kind: 'word'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'number'; value: number }
  | { kind: 'op'; text: string }
  | { kind: '(' | ')' | ',' };

const fail = (message: string) => new MlflowError('INVALID_PARAMETER_VALUE', message);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"' || c === '`') {
      const end = source.indexOf(c, i + 1);
      if (end < 0) throw fail(`Invalid filter '${source}': unterminated quote at ${i}`);
      const text = source.slice(i + 1, end);
      tokens.push(c === '`' ? { kind: 'word', text } : { kind: 'string', text });
      i = end + 1;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c });
      i++;
    } else if ('<>=!'.includes(c)) {
      const two = source.slice(i, i + 2);
      const op = ['<=', '>=', '!=', '=='].includes(two) ? two : c;
      if (op === '!') throw fail(`Invalid filter '${source}': unexpected '!' at ${i}`);
      tokens.push({ kind: 'op', text: op === '==' ? '=' : op });
      i += op.length;
    } else {
      const match = /^[^\s()<>=!,'"`]+/.exec(source.slice(i));
      if (!match) throw fail(`Invalid filter '${source}': unexpected '${c}' at ${i}`);
      const text = match[0];
      const n = Number(text);
      tokens.push(
        /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text)
          ? { kind: 'number', value: n }
          : { kind: 'word', text },
      );
      i += text.length;
    }
  }
  return tokens;
}

interface Clause {
  entity: 'metric' | 'param' | 'tag' | 'attribute';
  key: string;
  op: string;
  values: (string | number)[];
}

const ENTITIES: Record<string, Clause['entity']> = {
  metric: 'metric',
  metrics: 'metric',
  param: 'param',
  params: 'param',
  parameter: 'param',
  parameters: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
};

function readIdentifier(
  token: Token | undefined,
  tokens: Token[],
  at: { i: number },
): Omit<Clause, 'op' | 'values'> {
  if (token?.kind !== 'word') throw fail('Invalid filter: expected an identifier such as metrics.loss');
  const dot = token.text.indexOf('.');
  if (dot < 0) {
    return { entity: 'attribute', key: token.text };
  }
  const prefix = token.text.slice(0, dot).toLowerCase();
  const entity = ENTITIES[prefix];
  if (!entity)
    throw fail(
      `Invalid entity type '${prefix}'. Valid values are ['metric', 'parameter', 'tag', 'attribute']`,
    );
  let key = token.text.slice(dot + 1);
  if (key === '') {
    const quoted = tokens[at.i];
    if (quoted?.kind !== 'word' && quoted?.kind !== 'string')
      throw fail(`Invalid filter: '${token.text}' names no key`);
    key = quoted.text;
    at.i++;
  }
  return { entity, key };
}

/** Reads an MLflow `search-runs` filter: clauses joined by AND, as MLflow's SearchUtils accepts them. */
export function parseMlflowFilter(source: string): Clause[] {
  const tokens = tokenize(source);
  const clauses: Clause[] = [];
  const at = { i: 0 };
  while (at.i < tokens.length) {
    const ident = readIdentifier(tokens[at.i++], tokens, at);
    let op: string;
    const t = tokens[at.i++];
    if (t?.kind === 'op') op = t.text;
    else if (t?.kind === 'word' && /^(i?like|in)$/i.test(t.text)) op = t.text.toUpperCase();
    else if (
      t?.kind === 'word' &&
      /^not$/i.test(t.text) &&
      tokens[at.i]?.kind === 'word' &&
      /^in$/i.test((tokens[at.i] as { text: string }).text)
    ) {
      at.i++;
      op = 'NOT IN';
    } else throw fail(`Invalid filter '${source}': expected a comparator after '${ident.key}'`);
    const values: (string | number)[] = [];
    if (op === 'IN' || op === 'NOT IN') {
      if (tokens[at.i++]?.kind !== '(')
        throw fail(`Invalid filter '${source}': ${op} takes a list in parentheses`);
      for (;;) {
        const v = tokens[at.i++];
        if (v?.kind !== 'string') throw fail(`Invalid filter '${source}': ${op} takes quoted strings`);
        values.push(v.text);
        const sep = tokens[at.i++];
        if (sep?.kind === ')') break;
        if (sep?.kind !== ',') throw fail(`Invalid filter '${source}': expected ',' or ')' in a list`);
      }
    } else {
      const v = tokens[at.i++];
      if (v?.kind === 'string') values.push(v.text);
      else if (v?.kind === 'number') values.push(v.value);
      else throw fail(`Invalid filter '${source}': expected a value after '${op}'`);
    }
    clauses.push({ ...ident, op, values });
    if (at.i < tokens.length) {
      const and = tokens[at.i++];
      if (and?.kind !== 'word' || and.text.toUpperCase() !== 'AND') {
        throw fail(`Invalid filter '${source}': clauses are joined by AND (OR is not supported)`);
      }
    }
  }
  return clauses;
}

const COMPARE: Record<string, '==' | '!=' | '<' | '<=' | '>' | '>='> = {
  '=': '==',
  '!=': '!=',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
};

/** A SQL LIKE pattern as an anchored regular expression; ILIKE spells each letter in both cases. */
function likeToRegex(pattern: string, caseless: boolean): string {
  let out = '^';
  for (const c of pattern) {
    if (c === '%') out += '.*';
    else if (c === '_') out += '.';
    else if (caseless && c.toLowerCase() !== c.toUpperCase()) out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
    else out += c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  }
  return `${out}$`;
}

function stringOnly(clause: Clause): string[] {
  for (const v of clause.values) {
    if (typeof v !== 'string') {
      throw fail(
        `Parameter value is either not quoted or unidentified quote types used for string value ${v}`,
      );
    }
  }
  return clause.values as string[];
}

function compareString(field: FilterField, clause: Clause): FilterExpr {
  const values = stringOnly(clause);
  const text = (value: string): FilterValue => ({ kind: 'string', value });
  switch (clause.op) {
    case '=':
    case '!=':
      return { kind: 'compare', field, op: clause.op === '=' ? '==' : '!=', value: text(values[0] ?? '') };
    case 'LIKE':
    case 'ILIKE':
      return {
        kind: 'compare',
        field,
        op: 'matches',
        value: text(likeToRegex(values[0] ?? '', clause.op === 'ILIKE')),
      };
    case 'IN':
      return { kind: 'or', items: values.map((v) => ({ kind: 'compare', field, op: '==', value: text(v) })) };
    case 'NOT IN':
      return {
        kind: 'and',
        items: values.map((v) => ({ kind: 'compare', field, op: '!=', value: text(v) })),
      };
    default:
      throw fail(`Invalid comparator '${clause.op}' for a string field '${clause.key}'`);
  }
}

function compareNumber(field: FilterField, clause: Clause, scale = 1): FilterExpr {
  const op = COMPARE[clause.op];
  const value = clause.values[0];
  if (!op || typeof value !== 'number') {
    throw fail(
      `Invalid comparator or value for numeric field '${clause.key}': ${clause.op} ${JSON.stringify(value)}`,
    );
  }
  if (scale === 1) return { kind: 'compare', field, op, value: { kind: 'number', value } };
  return { kind: 'compare', field, op, value: { kind: 'timestamp', micros: Math.round(value * scale) } };
}

function statusClause(clause: Clause): FilterExpr {
  const names = stringOnly(clause);
  const field: FilterField = { kind: 'run', name: 'status' };
  const statuses = (name: string) => {
    const list = STATUS_FROM_MLFLOW[name.toUpperCase()];
    if (!list)
      throw fail(
        `Invalid run status '${name}': expected one of ${Object.keys(STATUS_FROM_MLFLOW).join(', ')}`,
      );
    return list;
  };
  const anyOf = (list: RunStatus[]): FilterExpr => ({
    kind: 'or',
    items: list.map((s) => ({ kind: 'compare', field, op: '==', value: { kind: 'string', value: s } })),
  });
  if (clause.op === '=' || clause.op === 'IN') return anyOf(names.flatMap(statuses));
  if (clause.op === '!=' || clause.op === 'NOT IN')
    return { kind: 'not', expr: anyOf(names.flatMap(statuses)) };
  throw fail(`Invalid comparator '${clause.op}' for attribute 'status'`);
}

function attributeClause(clause: Clause): FilterExpr {
  switch (clause.key) {
    case 'status':
      return statusClause(clause);
    case 'run_id':
    case 'run_uuid':
      return compareString({ kind: 'run', name: 'id' }, clause);
    case 'run_name':
      return compareString({ kind: 'run', name: 'name' }, clause);
    case 'user_id':
      return compareString({ kind: 'run', name: 'user' }, clause);
    case 'start_time':
    case 'created':
    case 'Created':
      return compareNumber({ kind: 'time', name: 'created' }, clause, 1000);
    case 'end_time':
      return compareNumber({ kind: 'time', name: 'ended' }, clause, 1000);
    default:
      throw fail(
        `Invalid attribute key '${clause.key}' specified. Valid keys are 'run_id', 'run_name', 'status', 'user_id', 'start_time', 'end_time'`,
      );
  }
}

/** The Simscope filter of MLflow clauses (metrics compare their last value, params and tags read metadata). */
export function mlflowFilterToSimscope(clauses: Clause[]): FilterExpr[] {
  return clauses.map((clause): FilterExpr => {
    switch (clause.entity) {
      case 'metric':
        return compareNumber({ kind: 'metric', name: clause.key, stat: 'last' }, clause);
      case 'param':
        return compareString({ kind: 'metadata', path: ['params', clause.key] }, clause);
      case 'tag':
        if (clause.key === 'mlflow.runName') return compareString({ kind: 'run', name: 'name' }, clause);
        return compareString({ kind: 'metadata', path: ['tags', clause.key] }, clause);
      default:
        return attributeClause(clause);
    }
  });
}

const ORDER_FIELDS: Record<string, RunSortField> = {
  start_time: 'created',
  created: 'created',
  end_time: 'ended',
  run_name: 'name',
  status: 'status',
};

/** The run sort of MLflow's first `order_by` entry (`attributes.start_time DESC` …); newest first by default. */
export function mlflowOrder(orderBy: readonly string[]): { field: RunSortField; descending: boolean } {
  const first = orderBy[0];
  if (first === undefined) return { field: 'created', descending: true };
  const match = /^\s*(?:(attributes?|attr|run)\.)?`?([A-Za-z_]+)`?\s*(ASC|DESC)?\s*$/i.exec(first);
  const field = match ? ORDER_FIELDS[match[2] ?? ''] : undefined;
  if (!match || !field) {
    throw fail(
      `Invalid order_by clause '${first}': this server sorts runs by attributes start_time, end_time, run_name or status`,
    );
  }
  if (orderBy.length > 1) {
    throw fail('this server sorts runs by one order_by clause only');
  }
  return { field, descending: match[3]?.toUpperCase() === 'DESC' };
}

/** The experiment filter of `search-experiments`: `name = 'x'`, `name != 'x'`, `name LIKE 'x%'`, `name ILIKE …`. */
export function experimentNameMatcher(filter: string | undefined): (name: string) => boolean {
  if (!filter) return () => true;
  const clauses = parseMlflowFilter(filter);
  const tests = clauses.map((clause) => {
    if (clause.entity !== 'attribute' || clause.key !== 'name' || typeof clause.values[0] !== 'string') {
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `Invalid filter '${filter}': this server filters experiments by name only`,
      );
    }
    const value = clause.values[0];
    switch (clause.op) {
      case '=':
        return (name: string) => name === value;
      case '!=':
        return (name: string) => name !== value;
      case 'LIKE':
      case 'ILIKE': {
        const flags = clause.op === 'ILIKE' ? 'i' : '';
        const source = value
          .replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')
          .replace(/%/g, '.*')
          .replace(/_/g, '.');
        const regex = new RegExp(`^${source}$`, flags);
        return (name: string) => regex.test(name);
      }
      default:
        throw new MlflowError(
          'INVALID_PARAMETER_VALUE',
          `Invalid comparator '${clause.op}' for experiment name`,
        );
    }
  });
  return (name) => tests.every((test) => test(name));
}

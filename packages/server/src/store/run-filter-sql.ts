import {
  type CompareOp,
  type FilterExpr,
  type FilterField,
  type FilterValue,
  MAX_DURATION_SECONDS,
  type RunSortField,
  SimscopeError,
} from '@simscope/protocol';
import type { Dialect, SqlParam } from './sql-driver.js';

/** SQL text and its parameters. */
export interface SqlFragment {
  sql: string;
  params: SqlParam[];
}

const RUN_COLUMNS = {
  id: 'r.id',
  name: 'r.name',
  status: 'r.status',
  folder: 'f.path',
  user: 'u.name',
  description: 'r.description',
} as const;

const TIME_COLUMNS = {
  created: 'r.created_at',
  started: 'r.started_at',
  ended: 'r.ended_at',
  heartbeat: 'r.heartbeat_at',
} as const;

const METRIC_COLUMNS = {
  last: 's.last_value',
  min: 's.min_value',
  max: 's.max_value',
  count: 's.count',
  step: 's.last_step',
} as const;

/** Sort expressions over runs; nullable times sort as -1 so keyset pages stay exact. */
export const RUN_SORT_SQL: Record<RunSortField, string> = {
  created: 'r.created_at',
  started: 'COALESCE(r.started_at, -1)',
  ended: 'COALESCE(r.ended_at, -1)',
  heartbeat: 'COALESCE(r.heartbeat_at, -1)',
  name: 'r.name',
  status: 'r.status',
};

const FLIP: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
const SQL_OP: Record<string, string> = { '==': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

function invalid(message: string): never {
  throw new SimscopeError('invalid_filter', message);
}

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function describe(field: FilterField): string {
  switch (field.kind) {
    case 'run':
    case 'time':
      return field.name;
    case 'tags':
      return 'tags';
    case 'metadata':
      return `metadata.${field.path.join('.')}`;
    case 'metric':
      return `metrics.${field.name}.${field.stat}`;
  }
}

/** `expr op ?` with SQL's NULL folded so that `!=` and `not contains` also match absent values. */
function comparison(expr: string, op: CompareOp, param: SqlParam, d: Dialect): SqlFragment {
  if (op === 'matches') return { sql: d.regex(expr), params: [param] };
  if (op === 'contains') return { sql: d.ilike(expr), params: [param] };
  if (op === 'not contains') return { sql: `NOT COALESCE(${d.ilike(expr)}, FALSE)`, params: [param] };
  if (op === '!=') return { sql: `NOT COALESCE(${expr} = ?, FALSE)`, params: [param] };
  return { sql: `${expr} ${SQL_OP[op]} ?`, params: [param] };
}

function compareText(
  expr: string,
  op: CompareOp,
  value: FilterValue,
  field: FilterField,
  d: Dialect,
): SqlFragment {
  if (value.kind === 'null') {
    if (op === '==') return { sql: `${expr} IS NULL`, params: [] };
    if (op === '!=') return { sql: `${expr} IS NOT NULL`, params: [] };
    invalid(`${describe(field)} can only be compared with null using == or !=`);
  }
  const text =
    value.kind === 'string' ? value.value : value.kind === 'number' ? String(value.value) : undefined;
  if (text === undefined) invalid(`${describe(field)} takes a text value`);
  if (op === 'matches' && value.kind !== 'string') invalid(`${describe(field)} matches a text pattern`);
  const param = op === 'contains' || op === 'not contains' ? likePattern(text) : text;
  return comparison(expr, op, param, d);
}

function compareTime(
  column: string,
  op: CompareOp,
  value: FilterValue,
  field: FilterField,
  now: number,
): SqlFragment {
  if (value.kind === 'null') {
    if (op === '==') return { sql: `${column} IS NULL`, params: [] };
    if (op === '!=') return { sql: `${column} IS NOT NULL`, params: [] };
  }
  if (value.kind === 'duration') {
    const flipped = FLIP[op];
    if (!flipped) invalid(`${describe(field)} with a relative time takes <, <=, > or >=`);
    if (!(value.seconds >= 0 && value.seconds <= MAX_DURATION_SECONDS)) {
      invalid(`${describe(field)}: a relative time is at most 36500d (100 years)`);
    }
    return { sql: `${column} ${flipped} ?`, params: [Math.round(now - value.seconds * 1e6)] };
  }
  if (value.kind === 'timestamp' && op !== 'contains' && op !== 'not contains' && op !== 'matches') {
    if (op === '!=') return { sql: `NOT COALESCE(${column} = ?, FALSE)`, params: [value.micros] };
    return { sql: `${column} ${SQL_OP[op]} ?`, params: [value.micros] };
  }
  return invalid(`${describe(field)} takes a date such as 2026-01-31, a relative time such as 5h, or null`);
}

function compareMetadata(path: string[], op: CompareOp, value: FilterValue, d: Dialect): SqlFragment {
  const field: FilterField = { kind: 'metadata', path };
  switch (value.kind) {
    case 'null':
      if (op === '==') return { sql: `NOT ${d.jsonExists('r.metadata', path)}`, params: [] };
      if (op === '!=') return { sql: d.jsonExists('r.metadata', path), params: [] };
      return invalid(`${describe(field)} can only be compared with null using == or !=`);
    case 'number':
      if (op === 'contains' || op === 'not contains' || op === 'matches') {
        return compareText(d.jsonString('r.metadata', path), op, value, field, d);
      }
      return comparison(d.jsonNumber('r.metadata', path), op, value.value, d);
    case 'boolean':
      if (op !== '==' && op !== '!=')
        invalid(`${describe(field)} compared with true or false takes == or !=`);
      return comparison(d.jsonBoolean('r.metadata', path), op, value.value ? 1 : 0, d);
    case 'string':
      return compareText(d.jsonString('r.metadata', path), op, value, field, d);
    default:
      return invalid(`${describe(field)} takes a number, text, true, false or null`);
  }
}

function compareMetric(name: string, column: string, op: CompareOp, value: FilterValue): SqlFragment {
  if (value.kind !== 'number') invalid(`metric '${name}' is compared with a number`);
  if (op === 'contains' || op === 'not contains' || op === 'matches') {
    invalid(`metric '${name}' takes ==, !=, <, <=, > or >=`);
  }
  const inner = `SELECT 1 FROM series s WHERE s.run_pk = r.pk AND s.name = ? AND ${column} ${SQL_OP[op === '!=' ? '==' : op]} ?`;
  if (op === '!=') return { sql: `NOT EXISTS (${inner})`, params: [name, value.value] };
  return { sql: `EXISTS (${inner})`, params: [name, value.value] };
}

function compileCompare(
  field: FilterField,
  op: CompareOp,
  value: FilterValue,
  d: Dialect,
  now: number,
): SqlFragment {
  switch (field.kind) {
    case 'run':
      return compareText(RUN_COLUMNS[field.name], op, value, field, d);
    case 'time':
      return compareTime(TIME_COLUMNS[field.name], op, value, field, now);
    case 'tags': {
      if (value.kind !== 'string') invalid('tags takes a text value');
      if (op === 'contains' || op === '==') return { sql: d.jsonArrayHas('r.tags'), params: [value.value] };
      if (op === 'not contains' || op === '!=')
        return { sql: `NOT ${d.jsonArrayHas('r.tags')}`, params: [value.value] };
      return invalid('tags takes contains, not contains, == or !=');
    }
    case 'metadata':
      return compareMetadata(field.path, op, value, d);
    case 'metric':
      return compareMetric(field.name, METRIC_COLUMNS[field.stat], op, value);
  }
}

function compileExists(field: FilterField, d: Dialect): SqlFragment {
  switch (field.kind) {
    case 'run':
      return { sql: `${RUN_COLUMNS[field.name]} IS NOT NULL`, params: [] };
    case 'time':
      return { sql: `${TIME_COLUMNS[field.name]} IS NOT NULL`, params: [] };
    case 'tags':
      return { sql: `${d.jsonExists('r.tags', ['0'])}`, params: [] };
    case 'metadata':
      return { sql: d.jsonExists('r.metadata', field.path), params: [] };
    case 'metric':
      return {
        sql: `EXISTS (SELECT 1 FROM series s WHERE s.run_pk = r.pk AND s.name = ? AND ${METRIC_COLUMNS[field.stat]} IS NOT NULL)`,
        params: [field.name],
      };
  }
}

/** Turns a parsed run filter into a SQL condition over `runs r`, `folders f` and `users u`. */
export function compileRunFilter(expr: FilterExpr, d: Dialect, now: number): SqlFragment {
  switch (expr.kind) {
    case 'and':
    case 'or': {
      const parts = expr.items.map((item) => compileRunFilter(item, d, now));
      const joiner = expr.kind === 'and' ? ' AND ' : ' OR ';
      return { sql: `(${parts.map((p) => p.sql).join(joiner)})`, params: parts.flatMap((p) => p.params) };
    }
    case 'not': {
      const inner = compileRunFilter(expr.expr, d, now);
      return { sql: `NOT COALESCE((${inner.sql}), FALSE)`, params: inner.params };
    }
    case 'compare':
      return compileCompare(expr.field, expr.op, expr.value, d, now);
    case 'exists':
      return compileExists(expr.field, d);
    case 'hasTag':
      return { sql: d.jsonArrayHas('r.tags'), params: [expr.tag] };
  }
}

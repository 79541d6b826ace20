import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimscopeError } from '../errors.js';
import { RUN_STATUSES } from '../schemas.js';
import type { CompareOp, FilterExpr, FilterField, FilterValue } from './filter-ast.js';
import { formatFilter, parseFilter } from './index.js';

const RUNS = 2000;
const ORDER: CompareOp[] = ['<', '<=', '>', '>='];
const EQUALITY: CompareOp[] = ['==', '!='];

const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((t) => !t.includes('\0'));
const key = fc.oneof(fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/), text);
const number = fc.double({ noNaN: true, noDefaultInfinity: true });
const duration = fc.oneof(
  fc.integer({ min: 0, max: 10 * 365 * 86_400 }),
  fc.integer({ min: 1, max: 99_999 }).map((n) => n + 0.5),
);
// 2000-01-01 .. 2100-01-01, whole microseconds
const timestamp = fc.integer({ min: 946_684_800_000_000, max: 4_102_444_800_000_000 });
const pattern = fc.stringMatching(/^[a-z0-9.*+^$]{1,10}$/).filter((p) => {
  try {
    return parseFilter(`name matches "${p}"`) !== null;
  } catch {
    return false;
  }
});

const str = (value: string): FilterValue => ({ kind: 'string', value });
const compare = (field: FilterField, op: CompareOp, value: FilterValue): FilterExpr => ({
  kind: 'compare',
  field,
  op,
  value,
});

/** Every comparison the grammar accepts, field by field. */
const comparison: fc.Arbitrary<FilterExpr> = fc.oneof(
  fc
    .tuple(fc.constantFrom('id', 'name', 'folder', 'user', 'description') as fc.Arbitrary<'name'>, text)
    .chain(([name, value]) =>
      fc.oneof(
        fc
          .constantFrom(...EQUALITY, ...ORDER, 'contains', 'not contains')
          .map((op) => compare({ kind: 'run', name }, op as CompareOp, str(value))),
        pattern.map((p) => compare({ kind: 'run', name }, 'matches', str(p))),
        fc.constantFrom(...EQUALITY).map((op) => compare({ kind: 'run', name }, op, { kind: 'null' })),
      ),
    ),
  fc
    .tuple(fc.constantFrom(...EQUALITY), fc.constantFrom(...RUN_STATUSES))
    .map(([op, s]) => compare({ kind: 'run', name: 'status' }, op, str(s))),
  fc
    .tuple(fc.constantFrom('created', 'started', 'ended', 'heartbeat') as fc.Arbitrary<'created'>)
    .chain(([name]) =>
      fc.oneof(
        fc
          .tuple(fc.constantFrom(...ORDER), duration)
          .map(([op, seconds]) => compare({ kind: 'time', name }, op, { kind: 'duration', seconds })),
        fc
          .tuple(fc.constantFrom(...EQUALITY, ...ORDER), timestamp)
          .map(([op, micros]) => compare({ kind: 'time', name }, op, { kind: 'timestamp', micros })),
      ),
    ),
  fc
    .tuple(fc.constantFrom('contains', 'not contains') as fc.Arbitrary<CompareOp>, text)
    .map(([op, tag]) => compare({ kind: 'tags' }, op, str(tag))),
  fc
    .tuple(
      key,
      fc.constantFrom('last', 'min', 'max', 'count', 'step') as fc.Arbitrary<'last'>,
      fc.constantFrom(...EQUALITY, ...ORDER),
      number,
    )
    .map(([name, stat, op, value]) => compare({ kind: 'metric', name, stat }, op, { kind: 'number', value })),
  fc.tuple(fc.array(key, { minLength: 1, maxLength: 3 })).chain(([path]) =>
    fc.oneof(
      fc
        .tuple(
          fc.constantFrom(...EQUALITY, ...ORDER),
          fc.oneof(
            number.map((v) => ({ kind: 'number' as const, value: v })),
            text.map(str),
          ),
        )
        .map(([op, value]) => compare({ kind: 'metadata', path }, op, value)),
      fc
        .tuple(
          fc.constantFrom(...EQUALITY),
          fc.oneof(
            fc.boolean().map((b) => ({ kind: 'boolean' as const, value: b })),
            fc.constant({ kind: 'null' as const }),
          ),
        )
        .map(([op, value]) => compare({ kind: 'metadata', path }, op, value)),
      text.map((value) => compare({ kind: 'metadata', path }, 'contains', str(value))),
      pattern.map((p) => compare({ kind: 'metadata', path }, 'matches', str(p))),
      fc.constant<FilterExpr>({ kind: 'exists', field: { kind: 'metadata', path } }),
    ),
  ),
  text.map((tag): FilterExpr => ({ kind: 'hasTag', tag })),
);

/** Trees as the parser builds them: an `and` holds no `and` directly, an `or` no `or`. */
const tree: fc.Arbitrary<FilterExpr> = fc.letrec<{ expr: FilterExpr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    comparison,
    fc.array(tie('expr'), { minLength: 2, maxLength: 3 }).map(
      (items): FilterExpr => ({
        kind: 'and',
        items: items.flatMap((i) => (i.kind === 'and' ? i.items : [i])),
      }),
    ),
    fc.array(tie('expr'), { minLength: 2, maxLength: 3 }).map(
      (items): FilterExpr => ({
        kind: 'or',
        items: items.flatMap((i) => (i.kind === 'or' ? i.items : [i])),
      }),
    ),
    tie('expr').map((expr): FilterExpr => ({ kind: 'not', expr })),
  ),
})).expr;

const WORDS = [
  'name',
  'status',
  'created',
  'tags',
  'metadata.a',
  'metadata."x y"',
  'metrics.loss.last',
  'has',
  'tag.a',
  'and',
  'or',
  'not',
  'exists',
  'contains',
  'matches',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  '(',
  ')',
  '"q"',
  "'s'",
  '5h',
  '2026-01-31',
  '1e308',
  '-0',
  'null',
  'true',
  'running',
  '"^(a+)+$"',
  '"\\u0000"',
  '999999999999999999999h',
  '.',
];

/** Filter-ish text: tokens of the language mixed with arbitrary characters. */
const soup = fc
  .array(fc.oneof(fc.constantFrom(...WORDS), fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 12 })
  .map((parts) => parts.join(' '));

/** A printed filter with a few characters inserted, deleted or swapped: near misses of valid filters. */
const mutated = fc
  .tuple(
    tree.map(formatFilter),
    fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.string({ unit: 'binary', maxLength: 3 })), {
      maxLength: 3,
    }),
  )
  .map(([source, edits]) => {
    let out = source;
    for (const [at, cut, insert] of edits) {
      const i = at % (out.length + 1);
      out = out.slice(0, i) + insert + out.slice(i + cut);
    }
    return out;
  });

function parseOrError(source: string): FilterExpr | null | SimscopeError {
  try {
    return parseFilter(source);
  } catch (error) {
    if (error instanceof SimscopeError && error.code === 'invalid_filter') return error;
    throw error;
  }
}

describe('filter language properties', () => {
  it('reads back what it prints: parse(format(tree)) is the tree', () => {
    let cases = 0;
    fc.assert(
      fc.property(tree, (expr) => {
        cases += 1;
        expect(parseFilter(formatFilter(expr))).toEqual(expr);
      }),
      { numRuns: RUNS },
    );
    console.log(`filter round trip: ${cases} trees`);
    expect(cases).toBe(RUNS);
  });

  it('throws nothing but invalid_filter on any text, and what it parses prints back to the same tree', () => {
    let cases = 0;
    let parsed = 0;
    fc.assert(
      fc.property(fc.oneof(soup, mutated, fc.string({ unit: 'binary', maxLength: 40 })), (source) => {
        cases += 1;
        const expr = parseOrError(source);
        if (expr === null || expr instanceof SimscopeError) return;
        parsed += 1;
        expect(parseFilter(formatFilter(expr))).toEqual(expr);
      }),
      { numRuns: RUNS * 2 },
    );
    console.log(`filter text: ${cases} inputs, ${parsed} of them valid filters`);
    expect(cases).toBe(RUNS * 2);
  });
});

import { describe, expect, it } from 'vitest';
import { FilterError } from '../errors.js';
import type {
  CompareOp,
  FilterExpr,
  FilterField,
  FilterValue,
  MetricStat,
  RunField,
  TimeField,
} from './index.js';
import { formatFilter, parseFilter } from './index.js';

const run = (name: RunField): FilterField => ({ kind: 'run', name });
const time = (name: TimeField): FilterField => ({ kind: 'time', name });
const metric = (name: string, stat: MetricStat): FilterField => ({ kind: 'metric', name, stat });
const metadata = (...path: string[]): FilterField => ({ kind: 'metadata', path });
const tags: FilterField = { kind: 'tags' };
const str = (value: string): FilterValue => ({ kind: 'string', value });
const num = (value: number): FilterValue => ({ kind: 'number', value });
const dur = (seconds: number): FilterValue => ({ kind: 'duration', seconds });
const ts = (micros: number): FilterValue => ({ kind: 'timestamp', micros });
const cmp = (field: FilterField, op: CompareOp, value: FilterValue): FilterExpr => ({
  kind: 'compare',
  field,
  op,
  value,
});
const named = (value: string) => cmp(run('name'), '==', str(value));
const JAN_31_2026 = 1_769_817_600_000_000;

function parseError(source: string): FilterError {
  try {
    parseFilter(source);
  } catch (error) {
    if (error instanceof FilterError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(source)} not to parse`);
}

describe('parseFilter terms', () => {
  it('returns null for an empty or blank filter', () => {
    expect(parseFilter('')).toBeNull();
    expect(parseFilter('  \t\n ')).toBeNull();
  });

  it.each<[string, FilterExpr]>([
    ['name == resnet', named('resnet')],
    ['name = resnet', named('resnet')],
    ['name==resnet', named('resnet')],
    ['id != abc123', cmp(run('id'), '!=', str('abc123'))],
    ['folder < b', cmp(run('folder'), '<', str('b'))],
    ['user <= bob', cmp(run('user'), '<=', str('bob'))],
    ['name > m', cmp(run('name'), '>', str('m'))],
    ['name >= m', cmp(run('name'), '>=', str('m'))],
    ['description contains "learning rate"', cmp(run('description'), 'contains', str('learning rate'))],
    ['name not contains baseline', cmp(run('name'), 'not contains', str('baseline'))],
    ['name NOT CONTAINS baseline', cmp(run('name'), 'not contains', str('baseline'))],
    ['Name == x', named('x')],
    ['description == null', cmp(run('description'), '==', { kind: 'null' })],
    ['status == running', cmp(run('status'), '==', str('running'))],
    ['status != "lost"', cmp(run('status'), '!=', str('lost'))],
    ['name matches "^cavity-re[0-9]+$"', cmp(run('name'), 'matches', str('^cavity-re[0-9]+$'))],
    ['folder MATCHES abc', cmp(run('folder'), 'matches', str('abc'))],
    ["metadata.solver matches '^ico'", cmp(metadata('solver'), 'matches', str('^ico'))],
  ])('parses %j', (source, expected) => {
    expect(parseFilter(source)).toEqual(expected);
  });

  it('parses exists, has tag and tags contains', () => {
    expect(parseFilter('ended exists')).toEqual({ kind: 'exists', field: time('ended') });
    expect(parseFilter('metadata.lr EXISTS')).toEqual({ kind: 'exists', field: metadata('lr') });
    expect(parseFilter('not description exists')).toEqual({
      kind: 'not',
      expr: { kind: 'exists', field: run('description') },
    });
    expect(parseFilter('has tag.baseline')).toEqual({ kind: 'hasTag', tag: 'baseline' });
    expect(parseFilter('HAS Tag.v1.2')).toEqual({ kind: 'hasTag', tag: 'v1.2' });
    expect(parseFilter('has tag."needs review"')).toEqual({ kind: 'hasTag', tag: 'needs review' });
    expect(parseFilter('tags contains gpu')).toEqual(cmp(tags, 'contains', str('gpu')));
    expect(parseFilter("tags not contains 'flaky test'")).toEqual(
      cmp(tags, 'not contains', str('flaky test')),
    );
  });

  it('parses metadata paths, with quoted segments', () => {
    expect(parseFilter('metadata.optimizer.name == adam')).toEqual(
      cmp(metadata('optimizer', 'name'), '==', str('adam')),
    );
    expect(parseFilter('metadata."x.y".z == 1')).toEqual(cmp(metadata('x.y', 'z'), '==', num(1)));
    expect(parseFilter("metadata.'a b' == true")).toEqual(
      cmp(metadata('a b'), '==', { kind: 'boolean', value: true }),
    );
    expect(parseFilter('metadata.debug != FALSE')).toEqual(
      cmp(metadata('debug'), '!=', { kind: 'boolean', value: false }),
    );
    expect(parseFilter('metadata.seed == null')).toEqual(cmp(metadata('seed'), '==', { kind: 'null' }));
  });

  it('parses metric names up to the last segment, which is the statistic', () => {
    expect(parseFilter('metrics.loss.last < 0.1')).toEqual(cmp(metric('loss', 'last'), '<', num(0.1)));
    expect(parseFilter('metrics.resources/cpu.percent.last > 90')).toEqual(
      cmp(metric('resources/cpu.percent', 'last'), '>', num(90)),
    );
    expect(parseFilter('metrics.val-acc_top5.MAX >= 0.9')).toEqual(
      cmp(metric('val-acc_top5', 'max'), '>=', num(0.9)),
    );
    expect(parseFilter('metrics."a b".count == 3')).toEqual(cmp(metric('a b', 'count'), '==', num(3)));
    expect(parseFilter('metrics."train.loss".min < 1')).toEqual(
      cmp(metric('train.loss', 'min'), '<', num(1)),
    );
    expect(parseFilter('metrics.loss.step >= 1000')).toEqual(cmp(metric('loss', 'step'), '>=', num(1000)));
  });

  it.each<[string, number]>([
    ['0', 0],
    ['42', 42],
    ['-7', -7],
    ['3.25', 3.25],
    ['-0.5', -0.5],
    ['.5', 0.5],
    ['1e3', 1000],
    ['2.5E-3', 0.0025],
    ['1e+2', 100],
  ])('reads the number %s', (text, value) => {
    expect(parseFilter(`metrics.x.last == ${text}`)).toEqual(cmp(metric('x', 'last'), '==', num(value)));
  });

  it.each<[string, string]>([
    ['"double"', 'double'],
    ["'single'", 'single'],
    ['"it\'s"', "it's"],
    ['\'say "hi"\'', 'say "hi"'],
    ['"a\\"b"', 'a"b'],
    ['"back\\\\slash"', 'back\\slash'],
    ['"line\\nbreak\\ttab\\r"', 'line\nbreak\ttab\r'],
    ['"\\u00e9t\\u{1F600}"', 'ét😀'],
    ['""', ''],
    ['resnet-50', 'resnet-50'],
    ['runs/2026/jan', 'runs/2026/jan'],
    ['v1.2.3', 'v1.2.3'],
    ['_private', '_private'],
    ['1.5.3', '1.5.3'],
    ['2026-1-5', '2026-1-5'],
    ['exists', 'exists'],
    ['"and"', 'and'],
    ['"5h"', '5h'],
  ])('reads the text value %s', (text, value) => {
    expect(parseFilter(`name == ${text}`)).toEqual(named(value));
  });

  it.each<[string, number]>([
    ['30s', 30],
    ['5m', 300],
    ['24h', 86_400],
    ['7d', 604_800],
    ['2w', 1_209_600],
    ['1h30m', 5400],
    ['1d12h', 129_600],
    ['1.5h', 5400],
    ['0s', 0],
    ['250ms', 0.25],
    ['1m30s500ms', 90.5],
  ])('reads the relative time %s', (text, seconds) => {
    expect(parseFilter(`created < ${text}`)).toEqual(cmp(time('created'), '<', dur(seconds)));
  });

  it.each<[string, number]>([
    ['2026-01-31', JAN_31_2026],
    ['2026-01-31T12:00:00Z', JAN_31_2026 + 12 * 3_600_000_000],
    ['2026-01-31T12:00:00', JAN_31_2026 + 12 * 3_600_000_000],
    ['2026-01-31T12:00', JAN_31_2026 + 12 * 3_600_000_000],
    ['2026-01-31t12:00:00z', JAN_31_2026 + 12 * 3_600_000_000],
    ['2026-01-31T12:00:00.123456+02:00', JAN_31_2026 + 10 * 3_600_000_000 + 123_456],
    ['2026-01-31T12:00:00.5-0130', JAN_31_2026 + 13.5 * 3_600_000_000 + 500_000],
    ['2026-01-31T00:00:00.123456789Z', JAN_31_2026 + 123_456],
    ['2024-02-29', Date.UTC(2024, 1, 29) * 1000],
    ['1969-12-31T23:59:59.999999Z', -1],
  ])('reads the date %s', (text, micros) => {
    expect(parseFilter(`started >= ${text}`)).toEqual(cmp(time('started'), '>=', ts(micros)));
  });

  it('accepts null and exact dates with == on time fields', () => {
    expect(parseFilter('ended == null')).toEqual(cmp(time('ended'), '==', { kind: 'null' }));
    expect(parseFilter('heartbeat != 2026-01-31')).toEqual(cmp(time('heartbeat'), '!=', ts(JAN_31_2026)));
  });
});

describe('parseFilter combinations', () => {
  const a = named('a');
  const b = named('b');
  const c = named('c');
  const d = named('d');

  it('binds not tighter than and, and and tighter than or', () => {
    expect(parseFilter('name == a or name == b and name == c')).toEqual({
      kind: 'or',
      items: [a, { kind: 'and', items: [b, c] }],
    });
    expect(parseFilter('name == a and name == b or name == c')).toEqual({
      kind: 'or',
      items: [{ kind: 'and', items: [a, b] }, c],
    });
    expect(parseFilter('not name == a and name == b')).toEqual({
      kind: 'and',
      items: [{ kind: 'not', expr: a }, b],
    });
    expect(parseFilter('not not name == a')).toEqual({ kind: 'not', expr: { kind: 'not', expr: a } });
  });

  it('lets parentheses override precedence', () => {
    expect(parseFilter('(name == a or name == b) and name == c')).toEqual({
      kind: 'and',
      items: [{ kind: 'or', items: [a, b] }, c],
    });
    expect(parseFilter('not (name == a or name == b)')).toEqual({
      kind: 'not',
      expr: { kind: 'or', items: [a, b] },
    });
    expect(parseFilter('((name == a))')).toEqual(a);
  });

  it('flattens nested and and or into one list', () => {
    expect(parseFilter('name == a and name == b and name == c and name == d')).toEqual({
      kind: 'and',
      items: [a, b, c, d],
    });
    expect(parseFilter('name == a and (name == b and (name == c and name == d))')).toEqual({
      kind: 'and',
      items: [a, b, c, d],
    });
    expect(parseFilter('(name == a or name == b) or (name == c or name == d)')).toEqual({
      kind: 'or',
      items: [a, b, c, d],
    });
    expect(parseFilter('name == a and (name == b or name == c) and name == d')).toEqual({
      kind: 'and',
      items: [a, { kind: 'or', items: [b, c] }, d],
    });
  });

  it('reads keywords in any case', () => {
    expect(parseFilter('NOT name == a AND name == b Or name == c')).toEqual({
      kind: 'or',
      items: [{ kind: 'and', items: [{ kind: 'not', expr: a }, b] }, c],
    });
  });

  it('parses a realistic filter', () => {
    expect(
      parseFilter(
        'status == running and created < 24h and (metrics.loss.last < 0.1 or has tag.baseline) and not user == ci',
      ),
    ).toEqual({
      kind: 'and',
      items: [
        cmp(run('status'), '==', str('running')),
        cmp(time('created'), '<', dur(86_400)),
        {
          kind: 'or',
          items: [cmp(metric('loss', 'last'), '<', num(0.1)), { kind: 'hasTag', tag: 'baseline' }],
        },
        { kind: 'not', expr: cmp(run('user'), '==', str('ci')) },
      ],
    });
  });
});

describe('parseFilter errors', () => {
  it.each<[string, string, number]>([
    ['created >', "expected a value after '>' but found end of filter", 9],
    ['name == )', "expected a value after '==' but found ')'", 8],
    ['name == and', `expected a value after '==' but found 'and'; quote it to match the word: "and"`, 8],
    [
      'colour == red',
      "unknown field 'colour'; fields are id, name, status, folder, user, description, created, started, " +
        'ended, heartbeat, tags, metadata.KEY, metrics.NAME.STAT',
      0,
    ],
    ['metrics.loss.avg < 1', "unknown metric statistic 'avg'; use last, min, max, count, step", 13],
    [
      'metrics.loss < 1',
      "expected a statistic after 'metrics.loss' (e.g. metrics.loss.last); statistics are last, min, max, count, step",
      12,
    ],
    ['metadata == 1', "expected a key after 'metadata' (e.g. metadata.lr)", 8],
    ['name.first == x', "field 'name' has no sub-fields", 5],
    ['name == "abc', 'unterminated string: missing closing "', 8],
    ["has tag.'abc", "unterminated string: missing closing '", 8],
    ['name == "a\\qb"', "unknown escape '\\q' in string; write '\\\\' for a backslash", 10],
    ['name == "\\u12"', 'invalid unicode escape; write \\uXXXX or \\u{X...}', 9],
    [
      'status == paused',
      "unknown status 'paused'; statuses are created, running, completed, failed, terminated, lost",
      10,
    ],
    ['status > running', 'status only supports == and !=', 7],
    [
      'name contains 5',
      `'contains' needs a text value but found number 5; quote it to compare as text: "5"`,
      14,
    ],
    [
      'tags contains 7d',
      `'contains' needs a tag name but found relative time 7d; quote it to compare as text: "7d"`,
      14,
    ],
    ['tags == gpu', "tags only support 'contains' and 'not contains' (or use has tag.NAME)", 5],
    ['created contains x', "'contains' does not apply to time field 'created'", 8],
    ['metrics.loss.last contains x', "'contains' does not apply to metrics; they are numbers", 18],
    [
      'name == 5h',
      `a relative time 5h only compares with time fields (created, started, ended, heartbeat); quote it to compare as text: "5h"`,
      8,
    ],
    [
      'metadata.when > 2026-01-31',
      `a date 2026-01-31 only compares with time fields (created, started, ended, heartbeat); quote it to compare as text: "2026-01-31"`,
      16,
    ],
    [
      'created < yesterday',
      `time field 'created' compares with a relative time (e.g. 5h), a date (e.g. 2026-01-31) or null but found text "yesterday"`,
      10,
    ],
    ['created == 5h', "'==' does not work with a relative time; use <, <=, > or >=", 8],
    ['ended < null', "'<' cannot compare with null; use == or !=", 6],
    ['metadata.debug >= true', "'>=' cannot compare with true; use == or !=", 15],
    ['metrics.loss.last == "low"', 'metrics compare with numbers but found text "low"', 21],
    [
      'metrics.loss.last == null',
      "metrics compare with numbers, not null; write 'not metrics.loss.last exists' for a missing metric",
      21,
    ],
    ['name == 42', `'name' compares with text but found number 42; quote it to compare as text: "42"`, 8],
    [
      'name resnet',
      "expected an operator (==, !=, <, <=, >, >=, contains, not contains, matches, exists) after 'name' but found 'resnet'",
      5,
    ],
    [
      'name not exists',
      "expected 'contains' after 'not' but found 'exists'; to match runs without it write 'not name exists'",
      9,
    ],
    ['name == a name == b', "expected 'and', 'or' or end of filter but found 'name'", 10],
    ['name == a and', "expected a field after 'and' but found end of filter", 13],
    ['name == a or or name == b', "expected a field after 'or' but found 'or'", 13],
    ['()', "expected a field after '(' but found ')'", 1],
    ['(name == a', "expected ')' to close the '(' at column 1 but found end of filter", 10],
    ['name == a)', "unexpected ')' with no matching '('", 9],
    ['"name" == a', `expected a field but found "name"; field names are not quoted`, 0],
    ['"metrics".x.last == 1', `expected a field but found '"metrics".x.last'; field names are not quoted`, 0],
    ['name == a and "b" == c', `expected a field after 'and' but found "b"; field names are not quoted`, 14],
    ['has tags.x', "expected tag.NAME after 'has' (e.g. has tag.baseline) but found 'tags.x'", 4],
    ['has tag.""', 'a tag name must not be empty', 8],
    ['tag.gpu exists', "unknown field 'tag'; to match a tag write has tag.NAME or tags contains NAME", 0],
    ['name == a.', "expected a name after '.' but found end of filter", 10],
    ['name == a@b', "unexpected character '@'; put values with special characters in quotes", 9],
    ['name == a && name == b', "use 'and' instead of '&&'", 10],
    ['name == a || name == b', "use 'or' instead of '||'", 10],
    ['! name == a', "unexpected '!'; use 'not' to negate, or '!=' for not equal", 0],
    ['name == a."b"', 'a value cannot mix quoted and bare parts; quote the whole value', 8],
    ['created > 2026-02-30', "invalid date '2026-02-30': no such day in that month", 10],
    ['created > 2026-13-01', "invalid date '2026-13-01': month must be 01 to 12", 10],
    ['created > 2026-01-01T24:00:00Z', "invalid date '2026-01-01T24:00:00Z': hour must be 00 to 23", 10],
    [
      'created > 2026-01-01T10:00+02',
      "invalid date '2026-01-01T10:00+02': a zone offset is written +HH:MM",
      10,
    ],
    ['created > 2300-01-01', "invalid date '2300-01-01': out of range", 10],
    ['metrics.x.last > 1e999', 'number 1e999 is too large', 17],
    ['name matches "(a"', 'invalid regular expression: missing closing ): `(a`', 13],
    ['tags matches x', "'matches' does not apply to tags; use has tag.NAME", 5],
    ['created matches x', "'matches' does not apply to time field 'created'", 8],
    ['metrics.loss.last matches x', "'matches' does not apply to metrics; they are numbers", 18],
    ['status matches run', 'status only supports == and !=', 7],
    [
      'name matches 5',
      `'matches' needs a regular expression in quotes but found number 5; quote it to compare as text: "5"`,
      13,
    ],
    [`name matches "${'a'.repeat(1001)}"`, 'a regular expression is at most 1000 characters', 13],
    [
      'name matches "(a)\\\\1"',
      'invalid regular expression: backreferences such as \\1 are not supported (patterns are RE2 syntax, matched in linear time)',
      13,
    ],
    [
      'created < 999999999999999999999h',
      "relative time '999999999999999999999h' is too long: at most 36500d (100 years)",
      10,
    ],
  ])('rejects %j', (source, message, position) => {
    const error = parseError(source);
    expect(error.message).toBe(`${message} (at column ${position + 1})`);
    expect(error.position).toBe(position);
    expect(error.code).toBe('invalid_filter');
  });

  it('reports the leftmost error', () => {
    expect(parseError('name == == "abc').message).toBe(
      "expected a value after '==' but found '==' (at column 9)",
    );
  });

  it('refuses filters nested too deeply instead of overflowing the stack', () => {
    expect(parseFilter(`${'('.repeat(64)}name == a${')'.repeat(64)}`)).toEqual(named('a'));
    expect(parseError(`${'('.repeat(65)}name == a${')'.repeat(65)}`).message).toBe(
      'filter nests more than 64 levels deep (at column 65)',
    );
    expect(parseError(`${'not '.repeat(10_000)}name == a`).position).toBe(256);
  });
});

describe('formatFilter', () => {
  it.each<[string, string]>([
    ['name = resnet', 'name == resnet'],
    ['NAME NOT CONTAINS "x"', 'name not contains x'],
    ['status == running and created < 1h30m', 'status == running and created < 1h30m'],
    ['created > 90m', 'created > 1h30m'],
    ['created > 1.5s', 'created > 1.5s'],
    ['created > 0s', 'created > 0s'],
    ['started >= 2026-01-31T00:00:00Z', 'started >= 2026-01-31'],
    ['started >= 2026-01-31T12:00:00+02:00', 'started >= 2026-01-31T10:00:00Z'],
    ['started >= 2026-01-31T12:00:00.000120Z', 'started >= 2026-01-31T12:00:00.000120Z'],
    [
      'name == "a b" or name == "and" or name == "5h" or name == "7"',
      'name == "a b" or name == "and" or name == "5h" or name == "7"',
    ],
    ['name == v1.2.3', 'name == v1.2.3'],
    ['name == \'say "hi"\\n\'', 'name == "say \\"hi\\"\\n"'],
    [
      '(name == a or name == b) and not (name == c and name == d)',
      '(name == a or name == b) and not (name == c and name == d)',
    ],
    ['not not name exists', 'not not name exists'],
    ['has tag."needs review" or has tag.v1.2', 'has tag."needs review" or has tag.v1.2'],
    ['metrics."a b".last < -0.5e-3', 'metrics."a b".last < -0.0005'],
    ['metrics.resources/cpu.percent.max > 1e21', 'metrics.resources/cpu.percent.max > 1e+21'],
    ['metadata."x.y".z == TRUE', 'metadata."x.y".z == true'],
    ['tags not contains gpu and description == null', 'tags not contains gpu and description == null'],
    ["name matches '^a\\\\.b$' and folder MATCHES x", 'name matches "^a\\\\.b$" and folder matches x'],
  ])('prints %j as %j', (source, text) => {
    const expr = parseFilter(source)!;
    expect(formatFilter(expr)).toBe(text);
    expect(parseFilter(text)).toEqual(expr);
  });

  it('round-trips trees built by hand', () => {
    const trees: FilterExpr[] = [
      cmp(run('name'), '==', str('')),
      cmp(run('name'), '==', str('tab\there\u0001')),
      cmp(run('name'), '==', str('NULL')),
      cmp(run('folder'), '==', str('a..b')),
      cmp(run('folder'), '==', str('-')),
      cmp(metadata('a b', 'c.d', '5h'), '==', num(-0)),
      cmp(metric('x..y', 'step'), '==', num(1)),
      cmp(time('created'), '<', dur(694_861)),
      cmp(time('created'), '<', dur(0.1 + 0.2)),
      cmp(time('created'), '>', ts(-1)),
      { kind: 'hasTag', tag: 'a.b c' },
      {
        kind: 'and',
        items: [named('a'), { kind: 'or', items: [named('b'), { kind: 'not', expr: named('c') }] }],
      },
    ];
    for (const tree of trees) expect(parseFilter(formatFilter(tree))).toEqual(tree);
  });

  it('refuses trees that have no filter text', () => {
    expect(() => formatFilter({ kind: 'and', items: [] })).toThrow("cannot format an empty 'and'");
    expect(() => formatFilter(cmp(metric('x', 'last'), '==', num(Number.NaN)))).toThrow(
      'cannot format the number NaN',
    );
    expect(() => formatFilter(cmp(time('created'), '<', dur(-5)))).toThrow(
      'cannot format a relative time of -5 seconds',
    );
  });
});

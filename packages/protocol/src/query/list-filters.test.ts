import { describe, expect, it } from 'vitest';
import { SimscopeError } from '../errors.js';
import { parseInput } from '../validation.js';
import {
  EVENT_LIST,
  type EventFilters,
  FOLDER_LIST,
  METRIC_NAME_LIST,
  RUN_LIST,
  type RunFilters,
} from './list-filters.js';
import { escapeRegex, splitLookup } from './lookups.js';

const runQuery = (filters: RunFilters) => RUN_LIST.query(parseInput(RUN_LIST.filters, filters, 'filters'));
const runText = (filters: RunFilters) => runQuery(filters).filter;

function invalid(run: () => unknown): SimscopeError {
  try {
    run();
  } catch (error) {
    if (error instanceof SimscopeError) return error;
    throw error;
  }
  throw new Error('expected a SimscopeError');
}

describe('typed run filters', () => {
  it.each<[RunFilters, string | undefined]>([
    [{}, undefined],
    [{ name: 'cavity' }, 'name == cavity'],
    [{ name__ne: 'a b' }, 'name != "a b"'],
    [{ status: 'running' }, 'status == running'],
    [{ status__in: ['failed', 'lost'] }, 'status == failed or status == lost'],
    [{ status__in: ['failed'] }, 'status == failed'],
    [{ status__ne: 'completed' }, 'status != completed'],
    [{ name__regex: '^cavity-re[0-9]+$' }, 'name matches "^cavity-re[0-9]+$"'],
    [{ name__contains: 'a.b' }, 'name matches "a\\\\.b"'],
    [{ name__icontains: 'Cav' }, 'name contains Cav'],
    [{ name__startswith: 'run(1)' }, 'name matches "^run\\\\(1\\\\)"'],
    [{ folder__endswith: '/x' }, 'folder matches "/x$"'],
    [{ description__isnull: true }, 'description == null'],
    [{ user__isnull: false }, 'user != null'],
    [{ created__gte: 1_769_817_600_000_000 }, 'created >= 2026-01-31'],
    [{ created__lt: new Date('2026-01-31T12:00:00Z') }, 'created < 2026-01-31T12:00:00Z'],
    [{ started__gt: '2026-01-31T12:00:00.5+01:00' }, 'started > 2026-01-31T11:00:00.500000Z'],
    [{ created__gte: '5h' }, 'created <= 5h'],
    [{ created__lt: '2d' }, 'created > 2d'],
    [{ ended__isnull: true }, 'ended == null'],
    [{ tags__contains: 'baseline' }, 'has tag.baseline'],
    [{ tags__contains: ['a', 'needs review'] }, 'has tag.a and has tag."needs review"'],
    [{ tags__overlap: ['a', 'b'] }, 'has tag.a or has tag.b'],
    [{ metadata__beta__gt: 2 }, 'metadata.beta > 2'],
    [{ metadata__solver__name: 'icoFoam' }, 'metadata.solver.name == icoFoam'],
    [{ metadata__debug: true }, 'metadata.debug == true'],
    [{ metadata__seed__isnull: true }, 'not metadata.seed exists'],
    [{ metadata__seed__isnull: false }, 'metadata.seed exists'],
    [{ metadata__re__in: [100, 1000] }, 'metadata.re == 100 or metadata.re == 1000'],
    [{ 'metadata__data.path__icontains': 'x' }, 'metadata."data.path" contains x'],
    [{ metrics__loss__last__lt: 0.1 }, 'metrics.loss.last < 0.1'],
    [{ 'metrics__val/acc__max': 1 }, 'metrics.val/acc.max == 1'],
    [
      { filter: 'has tag.baseline or has tag.x', status: 'completed', metadata__re__gte: 1000 },
      '(has tag.baseline or has tag.x) and status == completed and metadata.re >= 1000',
    ],
  ])('%j becomes %j', (filters, text) => {
    expect(runText(filters)).toBe(text);
  });

  it('passes the sort through', () => {
    expect(runQuery({ sort: 'name' })).toEqual({ filter: undefined, sort: 'name' });
    expect(runQuery({ sort: '-created', name: 'x' })).toEqual({ filter: 'name == x', sort: '-created' });
  });

  it.each<[Record<string, unknown>, string]>([
    [{ colour: 'red' }, 'filters.colour: unknown filter; use a field such as name, status, created, tags'],
    [{ status: 'paused' }, 'filters.status: Invalid option: expected one of'],
    [{ status__in: [] }, 'filters.status__in: must list at least one value'],
    [{ name__regex: '(a' }, 'filters.name__regex: invalid regular expression: missing closing ): `(a`'],
    [
      { created__gte: 'yesterday' },
      'filters.created__gte: expected microseconds since the epoch, a Date, an ISO',
    ],
    [
      { created__gte: '2026-02-30' },
      "filters.created__gte: invalid date '2026-02-30': no such day in that month",
    ],
    [{ created__gte: 1.5 }, 'filters.created__gte: microseconds since the epoch must be a whole number'],
    [{ metrics__loss__avg: 1 }, 'filters.metrics__loss__avg: write metrics__NAME__STAT with STAT one of'],
    [
      { metrics__loss__last__regex: 'x' },
      'filters.metrics__loss__last__regex: metrics take the lookups ne, gt',
    ],
    [{ metrics__loss__last: 'low' }, 'filters.metrics__loss__last: metrics compare with a finite number'],
    [{ metadata__x__gt: true }, 'filters.metadata__x__gt: Invalid input'],
    [{ metadata__x__overlap: [1] }, 'filters.metadata__x__overlap: metadata takes the lookups'],
    [{ sort: 'size' }, 'filters.sort: Invalid option'],
    [{ name__in: 'a' }, 'filters.name__in: Invalid input: expected array'],
  ])('rejects %j naming the field', (filters, message) => {
    const error = invalid(() => runQuery(filters as RunFilters));
    expect(error.code).toBe('invalid_field');
    expect(error.message.startsWith(message)).toBe(true);
  });

  it('refuses filter text that does not parse, before any request', () => {
    const error = invalid(() => runQuery({ filter: 'name ==' }));
    expect(error.code).toBe('invalid_filter');
    expect(error.message).toBe("expected a value after '==' but found end of filter (at column 8)");
  });
});

describe('typed filters of the other lists', () => {
  const events = (f: EventFilters) => EVENT_LIST.query(parseInput(EVENT_LIST.filters, f, 'filters'));

  it('turns event lookups into the query parameters of the event list', () => {
    expect(events({ run: 'r1' })).toEqual({
      level: undefined,
      q: undefined,
      from: undefined,
      to: undefined,
      order: undefined,
    });
    expect(
      events({
        run: 'r1',
        level__in: ['warning', 'error'],
        message__icontains: 'diverged',
        timestamp__gt: 1000,
        timestamp__gte: 900,
        timestamp__lte: 5000,
        order: 'desc',
      }),
    ).toEqual({ level: 'warning,error', q: 'diverged', from: '1001', to: '5001', order: 'desc' });
    expect(events({ run: 'r1', level: 'info', timestamp__lt: '2026-01-31' })).toMatchObject({
      level: 'info',
      to: '1769817600000000',
    });
    const recent = Number(events({ run: 'r1', timestamp__gte: '1h' }).from);
    expect(Math.abs(recent - (Date.now() - 3_600_000) * 1000)).toBeLessThan(5_000_000);
    expect(EVENT_LIST.path(parseInput(EVENT_LIST.filters, { run: 'a/b' }))).toBe('/runs/a%2Fb/events');
    expect(invalid(() => events({} as EventFilters)).message).toMatch(/^filters\.run: /);
    expect(invalid(() => events({ run: 'r', level: 'loud' } as unknown as EventFilters)).message).toMatch(
      /^filters\.level: /,
    );
  });

  it('turns folder and metric name lookups into their query parameters', () => {
    expect(FOLDER_LIST.query(parseInput(FOLDER_LIST.filters, { under: '/cfd/', parent: '/' }))).toEqual({
      path: undefined,
      parent: '/',
      prefix: '/cfd',
    });
    expect(invalid(() => parseInput(FOLDER_LIST.filters, { under: 'cfd' }, 'filters')).message).toBe(
      "filters.under: must start with '/'",
    );
    const names = parseInput(METRIC_NAME_LIST.filters, {
      run: 'r',
      name__startswith: 'train/',
      name__regex: 'a$',
    });
    expect(METRIC_NAME_LIST.path(names)).toBe('/runs/r/metrics');
    expect(METRIC_NAME_LIST.query(names)).toEqual({
      name: undefined,
      prefix: 'train/',
      q: undefined,
      regex: 'a$',
    });
  });
});

describe('lookup helpers', () => {
  it('splits keys on the last known lookup', () => {
    expect(splitLookup('created__gte')).toEqual({ path: ['created'], op: 'gte' });
    expect(splitLookup('metadata__beta__gt')).toEqual({ path: ['metadata', 'beta'], op: 'gt' });
    expect(splitLookup('metadata__in__x')).toEqual({ path: ['metadata', 'in', 'x'], op: 'exact' });
    expect(splitLookup('name')).toEqual({ path: ['name'], op: 'exact' });
  });

  it('escapes every regular expression character, readable with the u flag', () => {
    const text = 'a.b*c+d?e(f)g[h]i{j}k|l^m$n\\o/p-q';
    const re = new RegExp(`^${escapeRegex(text)}$`, 'u');
    expect(re.test(text)).toBe(true);
    expect(re.test(text.replace('.', 'x'))).toBe(false);
  });
});

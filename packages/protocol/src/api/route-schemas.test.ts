import { describe, expect, it } from 'vitest';
import { parseInput } from '../validation.js';
import { apiRoute } from './route-schemas.js';
import type { RouteName } from './routes.js';

/** A route's query as its schema reads it, or the message it is refused with. */
function query(name: RouteName, value: Record<string, string>): unknown {
  try {
    return parseInput(apiRoute(name).querySchema!, value, 'query');
  } catch (error) {
    return (error as Error).message;
  }
}

/** A route's body as its schema reads it, or the message it is refused with. */
function body(name: RouteName, value: unknown): unknown {
  try {
    return parseInput(apiRoute(name).bodySchema!, value);
  } catch (error) {
    return (error as Error).message;
  }
}

describe('the run table query', () => {
  it('reads columns, limit, cursor and metricNames', () => {
    const read = query('runTable', {
      filter: 'status == running',
      columns: '["metadata.re","metrics.loss"]',
      metricNames: 'true',
      next: 'c',
    }) as { columns: unknown[] };
    expect(read).toMatchObject({ filter: 'status == running', limit: 10_000, next: 'c', metricNames: true });
    expect(read.columns[0]).toEqual({ name: 'metadata.re', kind: 'metadata', key: 're' });
    expect(read.columns[1]).toMatchObject({ name: 'metrics.loss', kind: 'metric', metric: 'loss' });
    expect(query('runTable', {})).toMatchObject({ columns: [], limit: 10_000, metricNames: false });
    expect(query('runTable', { metricNames: 'yes' })).toMatchObject({ metricNames: false });
  });

  it('refuses bad columns and limits with the messages the service gave', () => {
    expect(query('runTable', { columns: 'oops' })).toBe(
      'query.columns: must be a JSON array of strings such as ["metadata.re","metrics.loss"]',
    );
    expect(query('runTable', { columns: JSON.stringify(Array(65).fill('metrics.x')) })).toBe(
      'query.columns: at most 64 columns',
    );
    expect(query('runTable', { columns: '["metadata.a","loss"]' })).toBe(
      "query.columns[1]: 'loss' is neither metadata.KEY nor metrics.NAME",
    );
    expect(query('runTable', { limit: '50001' })).toBe(
      "query.limit: must be a whole number from 1 to 50000, got '50001'",
    );
  });
});

describe('the telemetry queries', () => {
  it('read records: functions as a list, order as descending, times as microseconds', () => {
    expect(
      query('telemetryRecords', {
        service: 'intake/catalog',
        function: 'load, save',
        order: 'desc',
        from: '2024-01-01T00:00:00Z',
        to: '1704067300000000',
        session: 's1',
      }),
    ).toEqual({
      service: 'intake/catalog',
      order: true,
      limit: 100,
      function: ['load', 'save'],
      session: 's1',
      from: 1_704_067_200_000_000,
      to: 1_704_067_300_000_000,
    });
    expect(query('telemetryRecords', { service: 's' })).toEqual({
      service: 's',
      order: false,
      limit: 100,
      function: null,
      session: null,
      from: null,
      to: null,
    });
  });

  it('refuse records queries with the messages the service gave', () => {
    expect(query('telemetryRecords', {})).toBe(
      'query.service: required, a service path such as intake/catalog',
    );
    expect(query('telemetryRecords', { service: 's', order: 'up' })).toBe(
      "query.order: must be 'asc' or 'desc'",
    );
    expect(query('telemetryRecords', { service: 's', limit: '0' })).toBe(
      "query.limit: must be a whole number from 1 to 1000, got '0'",
    );
    expect(query('telemetryRecords', { service: 's', from: 'soon' })).toBe(
      "query.from: expected microseconds since the epoch or an ISO date, got 'soon'",
    );
  });

  it('read usage buckets as whole seconds, refused as before', () => {
    expect(query('telemetryUsage', { service: 's', bucket: '5m' })).toEqual({
      service: 's',
      function: null,
      to: null,
      from: null,
      bucket: 300,
    });
    expect(query('telemetryUsage', { service: 's', bucket: '0.5' })).toBe(
      "query.bucket: must be a whole number of seconds, at least 1, got '0.5'",
    );
    expect(query('telemetryUsage', { service: 's', bucket: 'often' })).toBe(
      "query.bucket: 'often' is not a duration; use seconds or forms like 30s, 5m, 24h, 7d",
    );
    expect(query('telemetryUsage', { service: 's', to: 'x', from: 'y' })).toBe(
      "query.to: expected microseconds since the epoch or an ISO date, got 'x'",
    );
  });
});

describe('the attach-alert body', () => {
  it('is `{ alert }` naming an alert, or a definition', () => {
    expect(body('attachAlert', { alert: 'loud' })).toEqual({ alert: 'loud' });
    expect(body('attachAlert', { name: 'mine', source: 'user' })).toEqual({ name: 'mine', source: 'user' });
  });

  it('refuses each shape with its own messages', () => {
    expect(body('attachAlert', { alert: '' })).toBe(
      'body.alert: Too small: expected string to have >=1 characters',
    );
    expect(body('attachAlert', { alert: 'loud', name: 'x' })).toBe('body: Unrecognized key: "alert"');
    expect(body('attachAlert', undefined)).toBe(
      'body.name: Invalid input: expected string, received undefined',
    );
    expect(body('attachAlert', { name: 'm', metric: 'loss', rule: 'is above' })).toBe(
      "body.threshold: is required with rule 'is above'",
    );
  });
});

describe('the telemetry ingest body', () => {
  it('is a batch read once at the edge, refused with the field named', () => {
    expect(body('ingestTelemetry', { writer: 'w1', seq: 0, records: [{ function: 'load' }] })).toEqual({
      writer: 'w1',
      seq: 0,
      records: [{ function: 'load' }],
    });
    expect(body('ingestTelemetry', { writer: 'w1', seq: -1, records: [] })).toBe(
      'body.seq: expected a whole number from 0',
    );
  });
});

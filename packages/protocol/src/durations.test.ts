import { describe, expect, it } from 'vitest';
import { alertCreateSchema, alertUpdateSchema } from './alerts.js';
import { durationSchema } from './durations.js';
import { runCreateSchema, tokenCreateSchema } from './schemas.js';
import { telemetryKeyCreateSchema } from './telemetry.js';
import { EARLIEST_MICROS, timestampMicros } from './time.js';

describe('durationSchema', () => {
  it('takes numbers as seconds and text with units', () => {
    const d = durationSchema();
    expect([30, '30s', '1m', '2h', '1h30m', '1.5m'].map((v) => d.parse(v))).toEqual([
      30, 30, 60, 7200, 5400, 90,
    ]);
  });

  it('refuses text that is not a duration and durations past its bound, naming the field', () => {
    const window = alertCreateSchema.safeParse({
      name: 'a',
      metric: 'm',
      rule: 'is above',
      threshold: 1,
      window: '1 minute',
    });
    expect(window.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['window', "'1 minute' is not a duration: give seconds as a number, or text such as 30s, 1m, 2h"],
    ]);
    const year = alertCreateSchema.safeParse({
      name: 'a',
      metric: 'm',
      rule: 'is above',
      threshold: 1,
      frequency: '400d',
    });
    expect(year.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['frequency', 'must be at most a year'],
    ]);
  });

  it('reads alert window and frequency and a run heartbeat timeout as durations', () => {
    const alert = alertCreateSchema.parse({
      name: 'a',
      metric: 'm',
      rule: 'is below',
      threshold: 0.4,
      window: '1m',
      frequency: '30s',
    });
    expect([alert.window, alert.frequency]).toEqual([60, 30]);
    expect(runCreateSchema.parse({ heartbeatTimeout: '5m' }).heartbeatTimeout).toBe(300);
    expect(runCreateSchema.parse({ heartbeatTimeout: null }).heartbeatTimeout).toBe(null);
    expect(alertUpdateSchema.parse({ window: '2m', threshold: null })).toEqual({
      window: 120,
      threshold: null,
    });
    expect(tokenCreateSchema.parse({ user: 'ada', name: 'ci', expiresIn: '90d' }).expiresIn).toBe(
      90 * 86_400,
    );
    expect(telemetryKeyCreateSchema.parse({ service: 'a/b', name: 'k', expiresIn: '1w' }).expiresIn).toBe(
      604_800,
    );
  });
});

describe('timestampMicros', () => {
  it('reads Dates, ISO 8601 text with and without a zone (UTC) and microseconds', () => {
    expect(timestampMicros(new Date('2021-05-03T14:13:27.281Z'), 't')).toBe(1_620_051_207_281_000);
    expect(timestampMicros('2021-05-03 14:13:27.281920', 't')).toBe(1_620_051_207_281_920);
    expect(timestampMicros('2021-05-03T14:13:27.281920Z', 't')).toBe(1_620_051_207_281_920);
    expect(timestampMicros('2021-05-03T16:13:27.281920+02:00', 't')).toBe(1_620_051_207_281_920);
    expect(timestampMicros('2021-05-03T09:13:27-0500', 't')).toBe(1_620_051_207_000_000);
    expect(timestampMicros('2021-05-03', 't')).toBe(1_620_000_000_000_000);
    expect(timestampMicros(1_620_051_207_281_920, 't')).toBe(1_620_051_207_281_920);
  });

  it('refuses milliseconds, bad text and other types, naming the argument', () => {
    const message = (v: unknown) => {
      try {
        timestampMicros(v, 'options.timestamp');
        return 'no error';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(message(1_620_051_207_281)).toBe(
      'options.timestamp: 1620051207281 is not microseconds since the epoch from the year 2000 on (milliseconds such as Date.now()? pass a Date, or Date.now() * 1000)',
    );
    expect(message(EARLIEST_MICROS - 1)).toContain('options.timestamp: 946684799999999 is not microseconds');
    expect(message(Number.NaN)).toBe(
      'options.timestamp: NaN is not microseconds since the epoch from the year 2000 on',
    );
    expect(message('yesterday')).toBe(
      "options.timestamp: 'yesterday' is not a timestamp; use ISO 8601 such as '2021-05-03 14:13:27.281920' (UTC) or '2021-05-03T14:13:27+02:00'",
    );
    expect(message('2021-02-30 10:00:00')).toContain("'2021-02-30 10:00:00' is not a timestamp");
    expect(message(new Date('nope'))).toContain('an invalid Date is not a timestamp');
    expect(message({})).toBe(
      'options.timestamp: expected a Date, ISO 8601 text or microseconds since the epoch, got object',
    );
  });
});

import { z } from 'zod';
import { parseDuration } from './time.js';

/** A duration as the API and SDK take it: a number of seconds, or text such as `'30s'`, `'5m'`, `'1h30m'`. */
export type DurationInput = number | string;

/**
 * A duration in seconds, positive and at most `max` seconds: a number is seconds, and text is read by
 * `parseDuration` (`'30s'`, `'1m'`, `'2h'`). Simvue's alert durations are minutes: `'1m'` says so here.
 */
export function durationSchema(max = Number.MAX_VALUE): z.ZodType<number, DurationInput> {
  const seconds = z
    .number()
    .positive()
    .finite()
    .max(max, {
      message: max === 366 * 86_400 ? 'must be at most a year' : `must be at most ${max} seconds`,
    });
  return z.preprocess((value, ctx) => {
    if (typeof value !== 'string') return value;
    try {
      return parseDuration(value);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: `'${value}' is not a duration: give seconds as a number, or text such as 30s, 1m, 2h`,
      });
      return z.NEVER;
    }
  }, seconds) as unknown as z.ZodType<number, DurationInput>;
}

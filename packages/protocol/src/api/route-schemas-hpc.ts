import { z } from 'zod';
import { SimscopeError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { flagParam, limitParam, numberParam, queryParam } from './query-params.js';

const idText = z.string().min(1).max(LIMITS.nameLength);

/** `name`: the metric's name without its `@rank=` suffix. */
const rankMetricParam = () =>
  queryParam((text) => {
    if (text === undefined || text === '')
      throw new SimscopeError('invalid_field', 'required, a metric name');
    if (text.includes('@rank=')) throw new SimscopeError('invalid_field', "the name without '@rank='");
    return text;
  });

/** `ranks`: some ranks only, as `0,2,5`; null for all. */
const ranksParam = () =>
  queryParam((text): number[] | null => {
    if (text === undefined || text === '') return null;
    if (!/^\d{1,9}(,\d{1,9}){0,4095}$/.test(text))
      throw new SimscopeError('invalid_field', `must be ranks such as '0,2,5', got '${text.slice(0, 40)}'`);
    return text.split(',').map(Number);
  });

/** Schemas of the routes in `routes-hpc.ts`. */
export const HPC_ROUTE_SCHEMAS = {
  startSegment: {
    bodySchema: z
      .object({
        rewindTo: z.number().finite().optional(),
        jobId: idText.optional(),
        host: idText.optional(),
      })
      .strict(),
    emptyBodyIsObject: true,
  },
  readRankSeries: {
    querySchema: z.object({
      name: rankMetricParam(),
      from: numberParam(),
      to: numberParam(),
      limit: limitParam(10_000, 50_000),
      ranks: ranksParam(),
      includeSuperseded: flagParam(),
    }),
  },
  readStragglers: {
    querySchema: z.object({
      name: rankMetricParam(),
      factor: queryParam((text) => {
        if (text === undefined || text === '') return 1.5;
        const n = Number(text);
        if (!Number.isFinite(n) || n < 1)
          throw new SimscopeError('invalid_field', `must be a number ≥ 1, got '${text.slice(0, 40)}'`);
        return n;
      }),
    }),
  },
};

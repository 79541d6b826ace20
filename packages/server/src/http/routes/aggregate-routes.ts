import { apiRoute, jsonNumber } from '@simscope/protocol';
import type { AggregateService } from '../../services/aggregate-service.js';
import { jsonItemStream } from '../json-columns.js';
import type { RouteKit } from './kit.js';

const column = (c: Float64Array) => Array.from(c, jsonNumber);

/** `POST /metrics/aggregate`: groups of runs, each a mean ± std and a min–max band per bucket. */
export function registerAggregateRoutes({ register, ctx }: RouteKit, aggregates: AggregateService): void {
  register(apiRoute('aggregateMetric'), async function aggregateMetric({ input, request, reply }) {
    const a = await aggregates.aggregate(ctx(request), input.body);
    const head = { name: a.name, x: a.axis, by: a.by, from: a.from, to: a.to, buckets: a.buckets };
    // Written group by group, so that many groups' columns never become one string.
    const item = (i: number) => {
      const g = a.groups[i];
      if (!g) throw new RangeError(`group ${i} of ${a.groups.length}`);
      return {
        value: g.value,
        runs: g.runs,
        n: Array.from(g.n),
        mean: column(g.mean),
        std: column(g.std),
        min: column(g.min),
        max: column(g.max),
      };
    };
    return reply
      .type('application/json; charset=utf-8')
      .send(jsonItemStream({ ...head, missing: a.missing }, 'groups', a.groups.length, item));
  });
}

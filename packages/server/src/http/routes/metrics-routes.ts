import {
  apiRoute,
  type Buckets,
  float64Bytes,
  int64Bytes,
  jsonNumber,
  M4_COLUMNS,
  MSGPACK_TYPE,
} from '@simscope/protocol';
import type { FastifyRequest } from 'fastify';
import { Packr } from 'msgpackr';
import type { MetricService } from '../../services/metric-service.js';
import { jsonColumnStream, jsonItemStream } from '../json-columns.js';
import type { RouteKit } from './kit.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });

/** Pages of more points than this are written to the socket column by column rather than as one string. */
const STREAM_POINTS = 50_000;

/** M4 bucket columns for a reply: little-endian float64 bytes in msgpack, arrays of numbers (NaN as 'NaN') in JSON. */
function bucketColumns(b: Buckets<Float64Array>, binary: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of M4_COLUMNS) out[c] = binary ? float64Bytes(b[c]) : Array.from(b[c], jsonNumber);
  return out;
}

function wantsMsgpack(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes(MSGPACK_TYPE) || accept.includes('application/x-msgpack');
}

/** Metric ingest (and the benchmarks' sink), names, full-fidelity pages and M4 downsampling. */
export function registerMetricRoutes(
  { register, ctx, runOf }: RouteKit,
  metrics: MetricService,
  options: { sinkRoute?: boolean },
): void {
  register(apiRoute('ingestMetrics'), async ({ input, request }) =>
    metrics.ingest(ctx(request), await runOf(request), input.body),
  );
  if (options.sinkRoute) {
    register(apiRoute('sinkMetrics'), async ({ input }) => {
      let points = 0;
      for (const s of input.body.series) points += s.values.length;
      return { stored: false, points };
    });
  }
  register(apiRoute('listMetricNames'), async ({ input, request }) =>
    metrics.names(ctx(request), await runOf(request), input.query),
  );
  register(apiRoute('readSeries'), async function readSeries({ input, request, reply }) {
    const { name, page, next, columns } = await metrics.series(
      ctx(request),
      await runOf(request),
      input.query,
    );
    const binary = wantsMsgpack(request);
    if (!binary && page.values.length > STREAM_POINTS) {
      const keys = { step: 'steps', time: 'times', timestamp: 'timestamps', value: 'values' } as const;
      return reply.type('application/json; charset=utf-8').send(
        jsonColumnStream(
          { name },
          columns.map((c) => [keys[c], page[keys[c]], c === 'value' ? 'value' : 'plain']),
          { next },
        ),
      );
    }
    const out: Record<string, unknown> = { name };
    for (const column of columns) {
      if (column === 'step') out.steps = binary ? int64Bytes(page.steps) : Array.from(page.steps);
      if (column === 'time') out.times = binary ? float64Bytes(page.times) : Array.from(page.times);
      if (column === 'timestamp')
        out.timestamps = binary ? int64Bytes(page.timestamps) : Array.from(page.timestamps);
      if (column === 'value')
        out.values = binary ? float64Bytes(page.values) : Array.from(page.values, jsonNumber);
    }
    out.next = next;
    return binary ? reply.type(MSGPACK_TYPE).send(packr.pack(out)) : out;
  });
  register(apiRoute('downsample'), async function downsample({ input, request, reply }) {
    const b = await metrics.downsample(ctx(request), await runOf(request), input.query);
    const binary = wantsMsgpack(request);
    const out = { name: b.name, x: b.axis, from: b.from, to: b.to, ...bucketColumns(b, binary) };
    return binary ? reply.type(MSGPACK_TYPE).send(packr.pack(out)) : out;
  });
  register(apiRoute('downsampleRuns'), async function downsampleRuns({ input, request, reply }) {
    const d = await metrics.downsampleRuns(ctx(request), input.body);
    const head = { name: d.name, x: d.axis, from: d.from, to: d.to };
    if (!wantsMsgpack(request)) {
      // Written run by run, so that many runs' columns never become one string that stalls the event loop.
      const item = (i: number) => {
        const run = d.runs[i];
        if (!run) throw new RangeError(`run ${i} of ${d.runs.length}`);
        return 'error' in run ? run : { run: run.run, ...bucketColumns(run.buckets, false) };
      };
      return reply
        .type('application/json; charset=utf-8')
        .send(jsonItemStream(head, 'runs', d.runs.length, item));
    }
    const runs = d.runs.map((item) =>
      'error' in item ? item : { run: item.run, ...bucketColumns(item.buckets, true) },
    );
    return reply.type(MSGPACK_TYPE).send(packr.pack({ ...head, runs }));
  });
}

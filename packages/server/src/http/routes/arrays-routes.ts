import { apiRoute, MSGPACK_TYPE } from '@simscope/protocol';
import type { FastifyInstance } from 'fastify';
import type { ArrayService } from '../../services/array-service.js';
import { msgpackArray } from './array-msgpack.js';
import { acceptRawBodies, uploadError } from './artifacts-routes.js';
import type { RouteKit } from './kit.js';

/** Registers the array routes on `scope`, a plugin scope of their own (uploads arrive as streams). */
export function registerArrayRoutes(
  scope: FastifyInstance,
  { register, ctx, runOf }: RouteKit,
  arrays: ArrayService,
): void {
  acceptRawBodies(scope);

  register(
    apiRoute('saveArray'),
    async function saveArray({ input, request, reply }) {
      const run = await runOf(request);
      const saved = await arrays.save(
        ctx(request),
        run,
        input.query,
        request.body as AsyncIterable<Buffer> | undefined,
      );
      return reply.status(201).send(saved);
    },
    { mapError: uploadError },
  );
  register(apiRoute('listArrays'), async ({ input, request }) =>
    arrays.list(ctx(request), await runOf(request), input.query),
  );
  register(apiRoute('readArray'), async function readArray({ input, request, reply }) {
    // Accept: application/msgpack asks for the step as one msgpack map, its elements as a bin (format=json wins).
    const msgpack = input.query.format !== 'json' && (request.headers.accept ?? '').includes(MSGPACK_TYPE);
    const read = await arrays.read(ctx(request), await runOf(request), input.query);
    if (read.format === 'json') return read.data;
    if (msgpack) return reply.header('content-type', MSGPACK_TYPE).send(msgpackArray(read));
    return reply
      .header('content-type', 'application/octet-stream')
      .header('x-simscope-dtype', read.step.dtype)
      .header('x-simscope-shape', read.shape.join(','))
      .header('x-simscope-step', String(read.step.step))
      .send(read.stream);
  });
}

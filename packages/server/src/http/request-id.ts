import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

const REQUEST_ID_HEADER = 'x-request-id';

/** What a caller's id may look like to be kept: short, printable, no spaces (it goes into logs and headers). */
const SANE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The request's id: the caller's `X-Request-Id` when it is sane, else a new UUID. */
function requestIdOf(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  const id = Array.isArray(given) ? given[0] : given;
  return id !== undefined && SANE_ID.test(id) ? id : randomUUID();
}

/** Fastify options that make `request.id` the request id. */
export const REQUEST_ID_OPTIONS = { genReqId: requestIdOf, requestIdHeader: false } as const;

/** The key of the request id in every log line of a request. */
export const REQUEST_ID_LOG_LABEL = 'requestId';

/** Sends the request id back on every answer, errors and 404s included. */
export function registerRequestId(app: FastifyInstance): void {
  app.addHook('onRequest', async function echoRequestId(request, reply) {
    reply.header(REQUEST_ID_HEADER, request.id);
  });
}

import { ERROR_STATUS, LIMITS, MSGPACK_TYPE, SimscopeError } from '@simscope/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Unpackr } from 'msgpackr';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** When to try again after a refusal that passes by itself: another process's lock, a full disk. */
const RETRY_AFTER_SECONDS: Partial<Record<keyof typeof ERROR_STATUS, number>> = {
  database_busy: 1,
  storage_full: 10,
};

export function errorBody(code: keyof typeof ERROR_STATUS, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** JSON and msgpack bodies, read whole; a malformed one is `invalid_body`. */
export function addBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, function parseJson(_req, body, done) {
    if ((body as Buffer).length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse((body as Buffer).toString('utf8')));
    } catch (error) {
      done(new SimscopeError('invalid_body', `malformed JSON: ${(error as Error).message}`), undefined);
    }
  });
  app.addContentTypeParser(
    [MSGPACK_TYPE, 'application/x-msgpack'],
    { parseAs: 'buffer' },
    function parseMsgpack(_req, body, done) {
      try {
        done(null, unpackr.unpack(body as Buffer));
      } catch (error) {
        // msgpackr reads nested maps and arrays recursively: thousands of levels overflow its stack
        const message =
          error instanceof RangeError && /call stack/.test(error.message)
            ? `nested more than ${LIMITS.jsonDepth} levels`
            : (error as Error).message;
        done(new SimscopeError('invalid_body', `malformed msgpack: ${message}`), undefined);
      }
    },
  );
}

/**
 * Answers every error once: a `SimscopeError` (domain errors such as `NotFoundError` included) with its code's
 * status, Fastify's own 4xx as such, anything else as a logged 500.
 */
export function errorHandler(bodyLimit: number) {
  return function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
    if (error instanceof SimscopeError) {
      const retryAfter = RETRY_AFTER_SECONDS[error.code];
      if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
      return reply.status(ERROR_STATUS[error.code]).send(errorBody(error.code, error.message, error.details));
    }
    const e = error as Partial<FastifyError>;
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send(
        errorBody('payload_too_large', `request body exceeds the limit of ${bodyLimit} bytes`, {
          limit: bodyLimit,
        }),
      );
    }
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply
        .status(415)
        .send(
          errorBody(
            'unsupported_media_type',
            `unsupported Content-Type '${request.headers['content-type']}'; send application/json or ${MSGPACK_TYPE}`,
          ),
        );
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.status(e.statusCode).send(errorBody('bad_request', e.message ?? 'bad request'));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send(errorBody('internal', 'internal server error'));
  };
}

/** No name can hold a control character (they are refused when made), and PostgreSQL cannot even look up NUL. */
export async function refuseControlInNames(request: FastifyRequest): Promise<void> {
  for (const [key, value] of Object.entries((request.params ?? {}) as Record<string, string>)) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
    if (/[\u0000-\u001f\u007f]/.test(value)) {
      throw new SimscopeError('not_found', `no ${key} named ${JSON.stringify(value)}`);
    }
  }
}

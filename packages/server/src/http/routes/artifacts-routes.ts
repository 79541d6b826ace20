import { Readable } from 'node:stream';
import { ARTIFACT_LIMITS, apiRoute, SimscopeError } from '@simscope/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ArtifactService, RangeRequest } from '../../services/artifact-service.js';
import type { RouteKit } from './kit.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
const CONTROL = /[\u0000-\u001f\u007f]/;
const MIME = /^[A-Za-z0-9][\w!#$&^.+-]*\/[A-Za-z0-9][\w!#$&^.+-]*(\s*;.*)?$/;

/** The upload's `Content-Type` as its MIME type; `application/octet-stream` when absent. */
function parseMimeType(type: string | undefined): string {
  if (type === undefined || type.trim() === '') return 'application/octet-stream';
  const t = type.trim();
  if (t.length > ARTIFACT_LIMITS.mimeTypeLength || CONTROL.test(t) || !MIME.test(t)) {
    throw new SimscopeError('invalid_field', `header.content-type: '${t.slice(0, 80)}' is not a MIME type`);
  }
  return t;
}

/**
 * The `Range` header of a read: null when absent or in a form not served (several ranges, a malformed one, which
 * HTTP says to ignore); whether it fits the artifact is the service's to say.
 */
function readRangeHeader(text: string | undefined): RangeRequest | null {
  if (!text) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(text.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') return { header: text, suffix: Number(match[2]) };
  return { header: text, start: Number(match[1]), end: match[2] === '' ? null : Number(match[2]) };
}

/**
 * Lets every body through as the request stream itself, whatever its type and size, so uploads are never
 * buffered or size-limited by the body parser. The Content-Type is kept aside for the upload's MIME type (and
 * checked there), so that no parser refuses it first. Returns where to find it.
 */
export function acceptRawBodies(scope: FastifyInstance): (request: FastifyRequest) => string | undefined {
  const types = new WeakMap<FastifyRequest, string | undefined>();
  scope.addHook('onRequest', async function keepContentType(request) {
    types.set(request, header(request, 'content-type'));
    if (request.headers['content-type'] !== undefined)
      request.headers['content-type'] = 'application/octet-stream';
  });
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', function passThrough(_request, payload, done) {
    done(null, payload);
  });
  return (request) => types.get(request);
}

/** `attachment` with the base name, ASCII-only in `filename` and exact in `filename*` (RFC 6266). */
export function contentDisposition(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const ascii = base.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(base).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** Bytes and milliseconds a refused upload is read on for before its connection is cut. */
const LINGER_BYTES = 64 * 1024 * 1024;
const LINGER_MS = 5000;

/**
 * After an upload is refused before its end, reads on (discarding) so that the client, still sending, gets the
 * answer: closing a socket with unread bytes resets it, and a reset can destroy the answer before the client
 * reads it. A body that ends within the limits leaves the connection reusable; a longer one is cut off.
 */
function lingerThenClose(request: FastifyRequest): void {
  const raw = request.raw;
  let seen = 0;
  const cut = () => raw.socket?.destroy();
  const timer = setTimeout(cut, LINGER_MS).unref();
  raw.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > LINGER_BYTES) cut();
  });
  raw.once('end', () => clearTimeout(timer));
  raw.once('close', () => clearTimeout(timer));
  raw.resume();
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Registers the artifact routes on `scope`, a plugin scope of their own (its bodies arrive as streams). */
export function registerArtifactRoutes(
  scope: FastifyInstance,
  { register, ctx, runOf, artifacts }: RouteKit,
): void {
  const contentType = acceptRawBodies(scope);

  register(
    apiRoute('saveArtifact'),
    async function saveArtifact({ input, request, reply }) {
      const run = await runOf(request);
      const saved = await artifacts.save(
        ctx(request),
        run,
        { ...input.query, mimeType: parseMimeType(contentType(request)) },
        request.body as NodeJS.ReadableStream | undefined,
      );
      return reply.status(saved.created ? 201 : 200).send(saved.artifact);
    },
    { mapError: uploadError },
  );
  register(apiRoute('listArtifacts'), async ({ input, request }) =>
    artifacts.list(ctx(request), await runOf(request), input.query),
  );
  register(apiRoute('readArtifact'), async function readArtifact({ input, request, reply }) {
    let opened: Awaited<ReturnType<ArtifactService['open']>>;
    try {
      opened = await artifacts.open(ctx(request), await runOf(request), input.query.name, {
        range: readRangeHeader(header(request, 'range')),
        ifRange: header(request, 'if-range'),
        head: request.method === 'HEAD',
      });
    } catch (error) {
      if (error instanceof SimscopeError && error.code === 'range_not_satisfiable') {
        reply.header('content-range', `bytes */${(error.details as { size: number }).size}`);
      }
      throw error;
    }
    const { artifact, range, stream } = opened;
    reply
      .type(artifact.mimeType)
      .header('content-disposition', contentDisposition(artifact.name))
      .header('etag', `"${artifact.sha256}"`)
      .header('accept-ranges', 'bytes')
      // Uploaded files are served as downloads that no browser renders or runs in the API's origin.
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('content-length', range ? range.end - range.start + 1 : artifact.size);
    if (range) {
      reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${artifact.size}`);
    }
    // HEAD: an empty stream keeps the Content-Length set above.
    return reply.send(stream ?? Readable.from([]));
  });
  register(apiRoute('deleteArtifact'), async ({ input, request, reply }) => {
    await artifacts.delete(ctx(request), await runOf(request), input.query.name);
    return reply.status(204).send();
  });
  register(apiRoute('artifactUsage'), async ({ request }) => artifacts.usage(ctx(request)));
}

/** An upload refused before its end: cut off by the client (400), or answered while it still sends. */
export function uploadError(error: unknown, request: FastifyRequest): unknown {
  if (request.raw.readableAborted) {
    return new SimscopeError('bad_request', 'the upload was cut off before all its bytes arrived', {
      cause: error,
    });
  }
  if (!request.raw.complete) lingerThenClose(request);
  return error;
}

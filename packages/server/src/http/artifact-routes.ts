import { Readable } from 'node:stream';
import { SimscopeError } from '@simscope/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ArtifactService } from '../services/artifact-service.js';
import type { ServiceContext } from '../services/context.js';
import type { RunRecord } from '../store/store.js';
import type { RouteDoc } from './openapi.js';

export interface ArtifactRouteDeps {
  route(doc: RouteDoc, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>): void;
  ctx(request: FastifyRequest): ServiceContext;
  runOf(request: FastifyRequest): Promise<RunRecord>;
  artifacts: ArtifactService;
}

type Query = Record<string, string | undefined>;

/**
 * Lets every body through as the request stream itself, whatever its type and size, so uploads are never
 * buffered or size-limited by the body parser. The Content-Type is kept aside for the upload's MIME type (and
 * checked there), so that no parser refuses it first. Returns where to find it.
 */
function acceptRawBodies(scope: FastifyInstance): (request: FastifyRequest) => string | undefined {
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
  { route, ctx, runOf, artifacts }: ArtifactRouteDeps,
): void {
  const contentType = acceptRawBodies(scope);
  const query = (r: FastifyRequest) => r.query as Query;

  route(
    {
      method: 'PUT',
      url: '/runs/:run/artifacts',
      summary:
        'Save an artifact: the body is its bytes (streamed, any size), Content-Type its MIME type; saving a name again replaces it',
      scope: 'write',
      query: {
        name: "artifact name, such as 'system/controlDict' (relative, '/' between segments)",
        category: 'code, input or output',
        sha256:
          "hex sha256 of the bytes, or 'trailer' when those 64 hex digits end the body; refused when they differ",
        size: 'byte count; refused at once when over the quota, and when the body differs',
        metadata: 'JSON object',
      },
      bodyDescription: 'the bytes of the file, streamed; its Content-Type is the MIME type',
      bodyType: '*/*',
    },
    async (r, reply) => {
      try {
        const run = await runOf(r);
        const saved = await artifacts.save(
          ctx(r),
          run,
          { ...query(r), contentType: contentType(r) },
          r.body as NodeJS.ReadableStream | undefined,
        );
        return reply.status(saved.created ? 201 : 200).send(saved.artifact);
      } catch (error) {
        if (r.raw.readableAborted) {
          throw new SimscopeError('bad_request', 'the upload was cut off before all its bytes arrived', {
            cause: error,
          });
        }
        if (!r.raw.complete) lingerThenClose(r);
        throw error;
      }
    },
  );
  route(
    {
      method: 'GET',
      url: '/runs/:run/artifacts',
      summary: "List a run's artifacts by name",
      scope: 'read',
      query: {
        category: 'code, input or output',
        name: 'exactly this name',
        startsWith: 'names that start with this text',
        contains: 'names that contain this text',
        endsWith: 'names that end with this text',
        limit: 'page size, 1 to 1000 (default 1000)',
        next: 'cursor',
      },
    },
    async (r) => artifacts.list(ctx(r), await runOf(r), query(r)),
  );
  route(
    {
      method: 'GET',
      url: '/runs/:run/artifacts/content',
      summary:
        'The bytes of an artifact, with its Content-Type, Content-Disposition: attachment and ETag (its sha256); honours Range',
      scope: 'read',
      query: { name: 'artifact name' },
    },
    async (r, reply) => {
      let opened: Awaited<ReturnType<ArtifactService['open']>>;
      try {
        opened = await artifacts.open(ctx(r), await runOf(r), query(r).name, {
          range: header(r, 'range'),
          ifRange: header(r, 'if-range'),
          head: r.method === 'HEAD',
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
    },
  );
  route(
    {
      method: 'DELETE',
      url: '/runs/:run/artifacts',
      summary: 'Delete an artifact; its bytes are freed when no other artifact has the same',
      scope: 'write',
      query: { name: 'artifact name' },
    },
    async (r, reply) => {
      await artifacts.delete(ctx(r), await runOf(r), query(r).name);
      return reply.status(204).send();
    },
  );
  route(
    {
      method: 'GET',
      url: '/artifacts/usage',
      summary: "Bytes the workspace's artifacts take (each distinct content once) and the quota",
      scope: 'read',
    },
    async (r) => artifacts.usage(ctx(r)),
  );
}

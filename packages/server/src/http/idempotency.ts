import { createHash, type Hash } from 'node:crypto';
import { pipeline, Transform } from 'node:stream';
import { IDEMPOTENCY_HEADER, IDEMPOTENT_REPLAY_HEADER, SimscopeError } from '@simscope/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Store } from '../store/store.js';

export interface IdempotencyOptions {
  /** Where keys and answers are kept: the database, so every server process shares them. */
  store: Pick<Store, 'idempotency'>;
  /** How long an answer is kept for replay, in ms (default 24 h). */
  ttlMs?: number;
  /** Answers kept at most; the oldest go first (default 10,000; each process may add a few more between prunes). */
  maxEntries?: number;
  /** Larger answers are not kept, so their key protects nothing (default 1 MiB). */
  maxBodyBytes?: number;
  /** Bytes of kept answers at most; the oldest go first (default 64 MiB). */
  maxTotalBytes?: number;
  /** How long a repeat waits for the first request to finish before it is refused, in ms (default 30 s). */
  waitMs?: number;
  /** How often a waiting repeat looks for the first request's answer, in ms (default 25). */
  pollMs?: number;
}

const sizeOf = (body: string | Buffer) => (typeof body === 'string' ? Buffer.byteLength(body) : body.length);

const KEY = /^[\x21-\x7e]{1,255}$/;
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A pass-through stream that hashes the bytes on their way to the body parser: one sha256 pass, no copies. */
function hashingTee(onDigest: (digest: string) => void): Transform {
  const hash: Hash = createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      onDigest(hash.digest('base64url'));
      callback();
    },
  });
}

const hasBody = (request: FastifyRequest) =>
  request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;

/**
 * Makes a POST, PATCH or DELETE that carries an `Idempotency-Key` header happen once: a repeat with the same key
 * (same user and workspace) gets the first answer again, with `Idempotent-Replayed: true`, and a repeat that
 * arrives while the first is running waits for it. Answers of 5xx and 429 are not kept, so a retry runs again.
 * Keys and answers live in the database (`idempotency_keys`), so a retry that reaches another server process, or
 * this one after a restart, gets the first answer too.
 */
export function registerIdempotency(app: FastifyInstance, options: IdempotencyOptions): void {
  const keys = options.store.idempotency;
  const ttlMs = options.ttlMs ?? 86_400_000;
  const bounds = {
    maxEntries: options.maxEntries ?? 10_000,
    maxTotalBytes: options.maxTotalBytes ?? 64 * 1024 * 1024,
  };
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const waitMs = options.waitMs ?? 30_000;
  const pollMs = options.pollMs ?? 25;
  // Pruning scans the table: done after each 1% of either bound, so the table overshoots by that much per process.
  const pruneEvery = Math.max(1, Math.floor(bounds.maxEntries / 100));
  const pruneBytes = bounds.maxTotalBytes / 100;
  let keptSincePrune = 0;
  let bytesSincePrune = 0;
  const pending = new WeakMap<FastifyRequest, string>();
  const bodyDigests = new WeakMap<FastifyRequest, string>();

  // The raw bytes are hashed as they arrive, never the parsed body: a binary batch of tens of MB would become
  // hundreds of MB of JSON text and hold the event loop for seconds.
  app.addHook('preParsing', async function hashIdempotentBody(request, _reply, payload) {
    if (request.headers[IDEMPOTENCY_HEADER] === undefined || SAFE.has(request.method) || !hasBody(request)) {
      return payload;
    }
    const tee = hashingTee((digest) => bodyDigests.set(request, digest));
    pipeline(payload, tee, () => {});
    return tee;
  });

  app.addHook('preHandler', async function replayIdempotent(request, reply) {
    const header = request.headers[IDEMPOTENCY_HEADER];
    if (header === undefined || SAFE.has(request.method) || !request.auth) return;
    const key = Array.isArray(header) ? (header[0] ?? '') : header;
    if (!KEY.test(key)) {
      throw new SimscopeError(
        'invalid_field',
        `header.${IDEMPOTENCY_HEADER}: must be 1 to 255 printable ASCII characters without spaces`,
      );
    }
    const id = `${request.auth.user.id}\n${request.auth.workspace?.id ?? ''}\n${key}`;
    // A body the route reads as a stream (artifact uploads) is not read yet: its length and type stand for it.
    const body = hasBody(request)
      ? (bodyDigests.get(request) ??
        `unread ${request.headers['content-type'] ?? ''} ${request.headers['content-length'] ?? ''}`)
      : '';
    const fingerprint = createHash('sha256')
      .update(`${request.method} ${request.url}\n${body}`)
      .digest('base64url');
    // A repeat replays the kept answer, or waits for the first request; after a forgotten (5xx) one it runs.
    const giveUpAt = Date.now() + waitMs;
    for (;;) {
      const now = Date.now();
      const held = await keys.claim(id, fingerprint, now, now + ttlMs);
      if (!held) break;
      if (held.fingerprint !== fingerprint) {
        throw new SimscopeError(
          'conflict',
          `header.${IDEMPOTENCY_HEADER}: this key was used for another request`,
        );
      }
      if (held.answer) {
        const { answer } = held;
        reply.code(answer.status).header(IDEMPOTENT_REPLAY_HEADER, 'true');
        if (answer.contentType) reply.header('content-type', answer.contentType);
        return reply.send(answer.body);
      }
      if (Date.now() >= giveUpAt) {
        throw new SimscopeError(
          'conflict',
          `header.${IDEMPOTENCY_HEADER}: a request with this key is still running; send it again later`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, giveUpAt - Date.now())));
    }
    pending.set(request, id);
  });

  app.addHook('onSend', async function keepAnswer(request, reply, payload) {
    const id = pending.get(request);
    if (id === undefined) return payload;
    pending.delete(request);
    const status = reply.statusCode;
    const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : undefined;
    if (status >= 500 || status === 429 || body === undefined || sizeOf(body) > maxBodyBytes) {
      await keys
        .forget(id)
        .catch((error) => request.log.warn({ err: error }, 'idempotency: could not let the key go'));
      return payload;
    }
    // Kept before the answer leaves: a retry sent anywhere after the client saw it replays it. The write has
    // committed, so a database that fails here must not turn its answer into an error: the key is let go instead
    // (a retry then runs again, as after a 5xx).
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    try {
      await keys.answer(id, {
        status,
        contentType: (reply.getHeader('content-type') as string | undefined) ?? null,
        body: bytes,
      });
    } catch (error) {
      request.log.warn({ err: error }, 'idempotency: could not keep the answer; the key is let go');
      await keys.forget(id).catch(() => undefined);
      return payload;
    }
    bytesSincePrune += bytes.length;
    if (++keptSincePrune >= pruneEvery || bytesSincePrune >= pruneBytes) {
      keptSincePrune = 0;
      bytesSincePrune = 0;
      await keys
        .prune(Date.now(), bounds)
        .catch((error) => request.log.warn({ err: error }, 'idempotency: pruning kept answers failed'));
    }
    return payload;
  });

  app.addHook('onResponse', async function dropUnfinished(request) {
    const id = pending.get(request);
    if (id !== undefined) {
      pending.delete(request);
      await keys.forget(id);
    }
  });
}

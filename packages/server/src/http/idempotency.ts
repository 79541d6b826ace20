import { createHash, type Hash } from 'node:crypto';
import { pipeline, Transform } from 'node:stream';
import { IDEMPOTENCY_HEADER, IDEMPOTENT_REPLAY_HEADER, SimscopeError } from '@simscope/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface IdempotencyOptions {
  /** How long an answer is kept for replay, in ms (default 24 h). */
  ttlMs?: number;
  /** Answers kept at most; the oldest go first (default 10,000). */
  maxEntries?: number;
  /** Larger answers are not kept, so their key protects nothing (default 1 MiB). */
  maxBodyBytes?: number;
  /** Bytes of kept answers at most; the oldest go first (default 64 MiB). */
  maxTotalBytes?: number;
  /** How long a repeat waits for the first request to finish before it is refused, in ms (default 30 s). */
  waitMs?: number;
}

const sizeOf = (body: string | Buffer) => (typeof body === 'string' ? Buffer.byteLength(body) : body.length);

interface Entry {
  fingerprint: string;
  until: number;
  answer?: { status: number; type: string | undefined; body: string | Buffer };
  done: Promise<void>;
  finish(): void;
}

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
 * Keys live in this process's memory: a restart or another server process does not know them.
 */
export function registerIdempotency(app: FastifyInstance, options: IdempotencyOptions = {}): void {
  const ttlMs = options.ttlMs ?? 86_400_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const maxTotalBytes = options.maxTotalBytes ?? 64 * 1024 * 1024;
  let totalBytes = 0;
  const waitMs = options.waitMs ?? 30_000;
  const entries = new Map<string, Entry>();
  const pending = new WeakMap<FastifyRequest, string>();
  const bodyDigests = new WeakMap<FastifyRequest, string>();

  function forget(id: string): void {
    const entry = entries.get(id);
    entries.delete(id);
    if (entry?.answer) totalBytes -= sizeOf(entry.answer.body);
    entry?.finish();
  }

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
    const key = Array.isArray(header) ? header[0]! : header;
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
    for (;;) {
      const entry = entries.get(id);
      if (!entry) break;
      if (entry.until <= Date.now()) {
        forget(id);
        break;
      }
      if (entry.fingerprint !== fingerprint) {
        throw new SimscopeError(
          'conflict',
          `header.${IDEMPOTENCY_HEADER}: this key was used for another request`,
        );
      }
      if (entry.answer) {
        const { answer } = entry;
        reply.code(answer.status).header(IDEMPOTENT_REPLAY_HEADER, 'true');
        if (answer.type) reply.header('content-type', answer.type);
        return reply.send(answer.body);
      }
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([
        entry.done.then(() => 'done' as const),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), waitMs))),
      ]);
      clearTimeout(timer);
      if (waited === 'timeout') {
        throw new SimscopeError(
          'conflict',
          `header.${IDEMPOTENCY_HEADER}: a request with this key is still running; send it again later`,
        );
      }
    }
    while (entries.size >= maxEntries) forget(entries.keys().next().value!);
    let finish = () => {};
    const done = new Promise<void>((resolve) => (finish = resolve));
    entries.set(id, { fingerprint, until: Date.now() + ttlMs, done, finish });
    pending.set(request, id);
  });

  app.addHook('onSend', async function keepAnswer(request, reply, payload) {
    const id = pending.get(request);
    const entry = id === undefined ? undefined : entries.get(id);
    if (id === undefined || !entry) return payload;
    pending.delete(request);
    const status = reply.statusCode;
    const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : undefined;
    if (status >= 500 || status === 429 || body === undefined || sizeOf(body) > maxBodyBytes) {
      forget(id);
    } else {
      entry.answer = { status, type: reply.getHeader('content-type') as string | undefined, body };
      totalBytes += sizeOf(body);
      entry.finish();
      while (totalBytes > maxTotalBytes && entries.size > 0) forget(entries.keys().next().value!);
    }
    return payload;
  });

  app.addHook('onResponse', async function dropUnfinished(request) {
    const id = pending.get(request);
    if (id !== undefined) forget(id);
  });
}

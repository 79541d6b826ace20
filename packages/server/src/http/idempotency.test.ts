import { ERROR_STATUS, SimscopeError } from '@simscope/protocol';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { BACKENDS } from '../../../../test/fixtures.js';
import { useTestStore } from '../../../../test/store-fixtures.js';
import type { AuthContext } from '../services/context.js';
import { type IdempotencyOptions, registerIdempotency } from './idempotency.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
});

type Options = Omit<IdempotencyOptions, 'store'>;

/** An app whose caller is the user named by the `x-user` header, with routes that count their runs. */
async function build(t: ReturnType<typeof useTestStore>, options: Options = {}) {
  const counts = { count: 0, flaky: 0, slow: 0 };
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  app = Fastify();
  app.addHook('onRequest', async (request) => {
    const user = String(request.headers['x-user'] ?? 'u1');
    request.auth = { user: { id: user }, workspace: { id: 'w1' } } as unknown as AuthContext;
  });
  app.setErrorHandler(function answer(error, _request, reply) {
    if (!(error instanceof SimscopeError)) return reply.status(500).send({ error: { code: 'internal' } });
    return reply
      .status(ERROR_STATUS[error.code])
      .send({ error: { code: error.code, message: error.message } });
  });
  registerIdempotency(app, { store: t.store, ...options });
  app.post('/count', async () => ({ n: ++counts.count }));
  app.post('/flaky', async (_request, reply) => {
    counts.flaky++;
    return counts.flaky === 1
      ? reply.status(503).send({ error: 'busy' })
      : reply.status(201).send({ ok: true });
  });
  app.post('/slow', async () => {
    counts.slow++;
    await gate;
    return { slow: counts.slow };
  });
  app.post('/big', async () => ({ text: 'x'.repeat(2000) }));
  // Commits, then the database goes away before the answer is kept.
  app.post('/last-word', async () => {
    await t.store.close();
    t.store.close = async () => {};
    return { committed: true };
  });
  await app.ready();
  const post = (url: string, key: string, body: unknown = {}, user = 'u1') =>
    app!.inject({
      method: 'POST',
      url,
      headers: { 'idempotency-key': key, 'x-user': user },
      payload: body as object,
    });
  return { counts, release, post };
}

describe.each(BACKENDS)('Idempotency-Key on %s', (backend) => {
  const t = useTestStore(backend);

  it('forgets a 5xx answer, so the retry runs the request again', async () => {
    const { counts, post } = await build(t);
    expect((await post('/flaky', 'k')).statusCode).toBe(503);
    const retry = await post('/flaky', 'k');
    expect(retry.statusCode).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    const replay = await post('/flaky', 'k');
    expect(replay.statusCode).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(counts.flaky).toBe(2);
  });

  it('makes a repeat wait for the first request, then replays its answer', async () => {
    const { counts, release, post } = await build(t);
    const first = post('/slow', 'same');
    const second = post('/slow', 'same');
    await new Promise((r) => setTimeout(r, 50));
    expect(counts.slow).toBe(1);
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(a.json()).toEqual({ slow: 1 });
    expect(b.json()).toEqual({ slow: 1 });
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(counts.slow).toBe(1);
  });

  it('refuses a repeat when the first request takes longer than the wait', async () => {
    const { release, post } = await build(t, { waitMs: 30 });
    // inject() starts a request when it is awaited: Promise.resolve sends the first one now.
    const first = Promise.resolve(post('/slow', 'long'));
    await new Promise((r) => setTimeout(r, 20));
    const second = await post('/slow', 'long');
    expect(second.statusCode).toBe(409);
    expect(second.json().error.message).toBe(
      'header.idempotency-key: a request with this key is still running; send it again later',
    );
    release();
    expect((await first).statusCode).toBe(200);
  });

  it('keeps at most maxEntries answers and maxTotalBytes bytes, oldest first', async () => {
    const { counts, post } = await build(t, { maxEntries: 2 });
    for (const key of ['a', 'b', 'c']) await post('/count', key);
    expect((await post('/count', 'c')).json()).toEqual({ n: 3 });
    expect((await post('/count', 'b')).json()).toEqual({ n: 2 });
    expect((await post('/count', 'a')).json()).toEqual({ n: 4 });
    expect(counts.count).toBe(4);
    await app!.close();
    const small = await build(t, { maxTotalBytes: 3000, maxBodyBytes: 2500 });
    await small.post('/big', 'one');
    await small.post('/big', 'two');
    expect((await small.post('/big', 'two')).headers['idempotent-replayed']).toBe('true');
    expect((await small.post('/big', 'one')).headers['idempotent-replayed']).toBeUndefined();
  });

  it('does not keep answers larger than maxBodyBytes, and ignores GET', async () => {
    const { counts, post } = await build(t, { maxBodyBytes: 100 });
    await post('/big', 'big');
    expect((await post('/big', 'big')).headers['idempotent-replayed']).toBeUndefined();
    expect((await post('/count', 'x', {}, 'u1')).json()).toEqual({ n: 1 });
    expect((await post('/count', 'x', {}, 'u2')).json()).toEqual({ n: 2 });
    expect(counts.count).toBe(2);
  });

  it('replays the first answer to a retry sent to another server process over the same database', async () => {
    const first = await build(t);
    const serverA = app!;
    const second = await build(t);
    const a = await first.post('/count', 'moved', { n: 1 });
    const b = await second.post('/count', 'moved', { n: 1 });
    expect(a.json()).toEqual({ n: 1 });
    expect(b.statusCode).toBe(200);
    expect(b.json()).toEqual({ n: 1 });
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(first.counts.count + second.counts.count).toBe(1);
    const other = await second.post('/count', 'moved', { n: 2 });
    expect(other.statusCode).toBe(409);
    expect(other.json().error.message).toBe('header.idempotency-key: this key was used for another request');
    await serverA.close();
  });

  it('answers a committed request as it is when its key cannot be kept', async () => {
    const { post } = await build(t);
    const res = await post('/last-word', 'gone');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ committed: true });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, BACKENDS, openTestApp } from '../../../../test/fixtures.js';
import { createApp } from './app.js';

describe.each(BACKENDS)('/ready and shutdown on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  afterEach(async () => {
    await t.close();
  });

  it('answers 200 when the database answers and migrations are done, 503 while draining or without a database', async () => {
    t = await openTestApp(backend);
    const ready = await t.app.inject({ method: 'GET', url: '/api/v1/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      ok: true,
      database: true,
      migrations: true,
      blobs: true,
      draining: false,
    });

    let draining = false;
    const app = await createApp({ store: t.store, draining: () => draining });
    draining = true;
    const drained = await app.inject({ method: 'GET', url: '/api/v1/ready' });
    expect(drained.statusCode).toBe(503);
    expect(drained.json()).toEqual({
      ok: false,
      database: true,
      migrations: true,
      blobs: true,
      draining: true,
    });
    await t.store.close();
    const down = await app.inject({ method: 'GET', url: '/api/v1/ready' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ ok: false, database: false, migrations: false });
    expect((await app.inject({ method: 'GET', url: '/api/v1/health' })).json()).toEqual({ ok: true });
    await app.close();
    t.store.close = async () => {};
  });

  it('ends a live stream with a reconnect delay and a shutdown event when the server closes', async () => {
    t = await openTestApp(backend);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${address.port}/api/v1/live`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('event: ready');
    const closing = t.app.close();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await closing;
    expect(text).toBe('retry: 500\nevent: shutdown\ndata: {"reconnect":true}\n\n');
  });
});

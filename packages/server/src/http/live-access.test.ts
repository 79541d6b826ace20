import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, BACKENDS, openTestStore } from '../../../../test/fixtures.js';
import { bootstrap } from '../bootstrap.js';
import type { Store } from '../store/store.js';
import { createApp } from './app.js';

const RECHECK_MS = 200;

interface Sse {
  events: { event: string; data: any; at: number }[];
  /** Resolves with the time the server ended the stream. */
  ended: Promise<number>;
  next(type: string, match?: (data: any) => boolean, waitMs?: number): Promise<{ data: any; at: number }>;
  close(): void;
}

/** Reads a server-sent event stream with fetch, noting when each event and the end arrive. */
async function openStream(url: string, token: string): Promise<Sse> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  expect(res.status).toBe(200);
  const events: Sse['events'] = [];
  const waiters: (() => void)[] = [];
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          cut = buffer.indexOf('\n\n');
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data), at: Date.now() });
          for (const w of waiters.splice(0)) w();
        }
      }
    } catch {
      // aborted by the test
    }
    return Date.now();
  })();
  return {
    events,
    ended,
    async next(type, match = () => true, waitMs = 5000) {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const found = events.find((e) => e.event === type && match(e.data));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no '${type}' event; got ${JSON.stringify(events)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
    close: () => abort.abort(),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(BACKENDS)('live streams lose access on %s', (backend) => {
  let app: FastifyInstance;
  let store: Store;
  let cleanup: () => Promise<void>;
  let base: string;
  let n = 0;

  beforeAll(async () => {
    ({ store, cleanup } = await openTestStore(backend));
    await bootstrap(store, Date.now() * 1000, ADMIN_TOKEN);
    // A real clock: token expiry is measured against the wall.
    app = await createApp({ store, now: () => Date.now() * 1000, liveRecheckMs: RECHECK_MS });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
  });

  const call = async (method: string, url: string, body?: unknown, token = ADMIN_TOKEN) => {
    const res = await fetch(`${base}/api/v1${url}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  /** A new member of `default` with a read/write token (optionally expiring). */
  async function member(expiresIn?: number) {
    const name = `viewer-${backend}-${++n}`;
    expect((await call('POST', '/admin/users', { name })).status).toBe(201);
    expect((await call('POST', '/admin/workspaces/default/members', { user: name })).status).toBe(201);
    const created = await call('POST', '/admin/tokens', { user: name, name: 'ui', expiresIn });
    expect(created.status).toBe(201);
    return {
      name,
      token: created.body.token as string,
      id: created.body.id as string,
      created: created.body,
    };
  }

  it('closes the stream at once when its token is revoked, before any later change', async () => {
    const viewer = await member();
    const stream = await openStream(`${base}/api/v1/live`, viewer.token);
    await stream.next('ready');
    const watcher = await openStream(`${base}/api/v1/live`, ADMIN_TOKEN);
    await watcher.next('ready');

    const revokedAt = Date.now();
    expect((await call('DELETE', `/admin/tokens/${viewer.id}`)).status).toBe(204);
    const runName = `after-revoke-${backend}`;
    expect((await call('POST', '/runs', { name: runName })).status).toBe(201);

    const closed = await stream.next('closed', undefined, 1000);
    expect(closed.data).toEqual({ reason: 'token_revoked', message: "token 'ui' has been revoked" });
    expect(closed.at - revokedAt).toBeLessThan(1000);
    expect(await stream.ended).toBeLessThan(revokedAt + 1000);
    // Another token's stream goes on and sees the run the revoked one never got.
    await watcher.next('run', (d) => d.run.name === runName);
    expect(stream.events.map((e) => e.event)).toEqual(['ready', 'closed']);
    expect(watcher.events.filter((e) => e.event === 'closed')).toEqual([]);
    watcher.close();
  });

  it('closes the stream within the re-check interval after its token expires', async () => {
    const viewer = await member(1);
    const stream = await openStream(`${base}/api/v1/live`, viewer.token);
    await stream.next('ready');
    const expiresAtMs = viewer.created.expires / 1000;

    const closed = await stream.next('closed', undefined, 3000);
    expect(closed.data).toEqual({ reason: 'token_expired', message: "token 'ui' has expired" });
    expect(closed.at).toBeGreaterThanOrEqual(Math.floor(expiresAtMs));
    expect(closed.at - expiresAtMs).toBeLessThan(RECHECK_MS + 500);
    expect((await stream.ended) - expiresAtMs).toBeLessThan(RECHECK_MS + 500);
  });

  it('closes the stream when its user leaves the workspace', async () => {
    const viewer = await member();
    const stream = await openStream(`${base}/api/v1/live`, viewer.token);
    await stream.next('ready');

    const removedAt = Date.now();
    expect((await call('DELETE', `/admin/workspaces/default/members/${viewer.name}`)).status).toBe(204);
    const closed = await stream.next('closed', undefined, 1000);
    expect(closed.data).toEqual({
      reason: 'membership_removed',
      message: `user '${viewer.name}' is no longer a member of workspace 'default'`,
    });
    expect(closed.at - removedAt).toBeLessThan(1000);
    await stream.ended;
  });

  it('closes the stream when its user is deleted', async () => {
    const viewer = await member();
    const stream = await openStream(`${base}/api/v1/live`, viewer.token);
    await stream.next('ready');

    expect((await call('DELETE', `/admin/users/${viewer.name}`)).status).toBe(204);
    const closed = await stream.next('closed', undefined, 1000);
    expect(closed.data).toEqual({
      reason: 'user_deleted',
      message: `user '${viewer.name}' has been deleted`,
    });
    await stream.ended;
  });

  it('closes the stream at the next re-check when another process revokes the token', async () => {
    const viewer = await member();
    const stream = await openStream(`${base}/api/v1/live`, viewer.token);
    await stream.next('ready');

    // Straight in the store, as a second server over the same database would: nothing tells this process.
    const revokedAt = Date.now();
    expect(await store.identity.revokeToken(viewer.id, revokedAt * 1000)).toBe(true);
    const closed = await stream.next('closed', undefined, 2000);
    expect(closed.data).toEqual({ reason: 'token_revoked', message: "token 'ui' has been revoked" });
    expect(closed.at - revokedAt).toBeLessThan(RECHECK_MS + 500);
    await stream.ended;
  });

  it('keeps a stream whose access is unchanged open across re-checks', async () => {
    const viewer = await member();
    const stream = await openStream(`${base}/api/v1/live`, viewer.token);
    await stream.next('ready');
    const other = await member();
    expect((await call('DELETE', `/admin/tokens/${other.id}`)).status).toBe(204);
    await sleep(RECHECK_MS * 3);
    const runName = `still-open-${backend}`;
    expect((await call('POST', '/runs', { name: runName })).status).toBe(201);
    await stream.next('run', (d) => d.run.name === runName);
    expect(stream.events.filter((e) => e.event === 'closed')).toEqual([]);
    stream.close();
  });
});

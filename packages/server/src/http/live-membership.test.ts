import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, makeMember } from '../../../../test/access-fixtures.js';
import { ADMIN_TOKEN, BACKENDS, openTestStore } from '../../../../test/fixtures.js';
import { bootstrap } from '../bootstrap.js';
import { DomainEvents } from '../services/domain-events.js';
import { createApp } from './app.js';

/** Reads a live stream until it ends or `waitMs` passes; the text it got, and whether the server ended it. */
async function readStream(url: string, token: string, workspace: string, opened: () => void, waitMs: number) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), waitMs);
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, 'simscope-workspace': workspace },
    signal: abort.signal,
  });
  expect(res.status).toBe(200);
  let text = '';
  let ended = false;
  try {
    const decoder = new TextDecoder();
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      if (text.includes('event: ready')) opened();
    }
    ended = true;
  } catch {
    // aborted: the stream stayed open
  } finally {
    clearTimeout(timer);
  }
  return { text, ended };
}

describe.each(BACKENDS)("a removed member's live stream on %s", (backend) => {
  let cleanup: () => Promise<void>;
  const apps: Awaited<ReturnType<typeof createApp>>[] = [];
  let base = '';

  beforeAll(async () => {
    const opened = await openTestStore(backend);
    cleanup = opened.cleanup;
    await bootstrap(opened.store, Date.now() * 1000, ADMIN_TOKEN);
    // Two servers over one database and one event bus (as the PostgreSQL bridge joins processes); the periodic
    // re-check is a minute, so only the membership event can close the stream in time.
    const bus = new DomainEvents();
    for (let i = 0; i < 2; i++) {
      apps.push(
        await createApp({ store: opened.store, bus, now: () => Date.now() * 1000, liveRecheckMs: 60_000 }),
      );
    }
    base = await apps[1]!.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await cleanup();
  });

  it('closes at once when an owner removes them, on another server too', async () => {
    const ws = `live-${backend}`;
    const manager = apps[0] as (typeof apps)[0];
    const streamer = apps[1] as (typeof apps)[0];
    expect((await api(manager, ADMIN_TOKEN, 'POST', '/admin/workspaces', { name: ws })).status).toBe(201);
    const owner = await makeMember(manager, ADMIN_TOKEN, `owner-${backend}`, ws, 'owner');
    const viewer = await makeMember(manager, ADMIN_TOKEN, `viewer-${backend}`, ws, 'viewer');
    const stayer = await makeMember(manager, ADMIN_TOKEN, `stayer-${backend}`, ws, 'viewer');

    let ready = 0;
    let bothOpen: () => void = () => {};
    const open = new Promise<void>((resolve) => {
      bothOpen = resolve;
    });
    const opened = () => {
      if (++ready === 2) bothOpen();
    };
    // Each stream calls `opened` on every chunk after its ready event; count each stream once.
    const onceOf = () => {
      let done = false;
      return () => {
        if (!done) {
          done = true;
          opened();
        }
      };
    };
    const removedStream = readStream(`${base}/api/v1/live`, viewer.token, ws, onceOf(), 5000);
    const stayedStream = readStream(`${base}/api/v1/live`, stayer.token, ws, onceOf(), 2000);
    await open;
    const removedAt = Date.now();
    expect((await api(streamer, viewer.token, 'GET', '/runs', undefined, ws)).status).toBe(200);
    const res = await api(manager, owner.token, 'DELETE', `/members/${viewer.name}`, undefined, ws);
    expect(res.status).toBe(204);
    const refusedAfterRemoval = (await api(streamer, viewer.token, 'GET', '/runs', undefined, ws)).status;
    const removed = await removedStream;
    const closedAfter = Date.now() - removedAt;
    const stayed = await stayedStream;

    expect(removed.ended).toBe(true);
    expect(removed.text).toContain(
      `event: closed\ndata: ${JSON.stringify({
        reason: 'membership_removed',
        message: `user '${viewer.name}' is no longer a member of workspace '${ws}'`,
      })}`,
    );
    expect(closedAfter).toBeLessThan(2000);
    // The other server refused the removed member at once too, though it had their role and token cached.
    expect(refusedAfterRemoval).toBe(403);
    expect(stayed.ended).toBe(false);
    expect(stayed.text).not.toContain('event: closed');
  });
});

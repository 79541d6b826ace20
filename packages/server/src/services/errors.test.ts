import { SimscopeError, type TokenScope } from '@simscope/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS, openTestApp } from '../../../../test/fixtures.js';
import { AlertService } from './alert-service.js';
import type { ServiceContext } from './context.js';
import { DomainEvents } from './domain-events.js';
import { ConflictError, InvalidTransitionError, NotFoundError } from './errors.js';
import { FolderService } from './folder-service.js';
import { RunService } from './run-service.js';

describe('domain errors', () => {
  it('are SimscopeErrors with the code and message the API answers', () => {
    const missing = new NotFoundError('run', 'r1');
    expect(missing).toBeInstanceOf(SimscopeError);
    expect([missing.name, missing.code, missing.message, missing.entity, missing.id]).toEqual([
      'NotFoundError',
      'not_found',
      "run 'r1' not found",
      'run',
      'r1',
    ]);
    const relation = new NotFoundError('alert', 'a', "is not attached to run 'r'", { details: { x: 1 } });
    expect([relation.message, relation.details]).toEqual(["alert 'a' is not attached to run 'r'", { x: 1 }]);
    expect([new ConflictError('c').code, new InvalidTransitionError('t').code]).toEqual([
      'conflict',
      'invalid_transition',
    ]);
  });
});

describe.each(BACKENDS)('services throw domain errors, answered unchanged, on %s', (backend) => {
  let t: Awaited<ReturnType<typeof openTestApp>>;
  let ctx: ServiceContext;
  const runs = new RunService();
  const folders = new FolderService();
  const alerts = new AlertService();

  beforeEach(async () => {
    t = await openTestApp(backend);
    const user = (await t.store.identity.getUser('admin'))!;
    const workspace = (await t.store.identity.getWorkspace('default'))!;
    const [token] = await t.store.identity.listTokens(user.id);
    ctx = {
      store: t.store,
      bus: new DomainEvents(),
      auth: { user, workspace, token: token!, scopes: new Set<TokenScope>(['read', 'write', 'admin']) },
      now: () => t.clock.now,
    };
  });
  afterEach(async () => {
    await t.close();
  });

  async function answer(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) {
    const res = await t.app.inject({ method, url: `/api/v1${url}`, headers: t.auth, payload });
    return [res.statusCode, res.json()];
  }

  it('a missing run: NotFoundError from the service, 404 with the same message over HTTP', async () => {
    const error = await runs.find(ctx, 'nope').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect([(error as NotFoundError).entity, (error as NotFoundError).id]).toEqual(['run', 'nope']);
    expect(await answer('GET', '/runs/nope')).toEqual([
      404,
      { error: { code: 'not_found', message: "run 'nope' not found" } },
    ]);
  });

  it('an ended run takes no heartbeat: InvalidTransitionError, 409', async () => {
    await runs.create(ctx, { name: 'r1' });
    await runs.update(ctx, 'r1', { status: 'completed' });
    await expect(runs.heartbeat(ctx, 'r1')).rejects.toBeInstanceOf(InvalidTransitionError);
    expect(await answer('POST', '/runs/r1/heartbeat')).toEqual([
      409,
      {
        error: {
          code: 'invalid_transition',
          message: "run 'r1' has ended (completed) and takes no heartbeats",
        },
      },
    ]);
  });

  it('a folder that is not empty, without recursive: ConflictError, 409', async () => {
    await runs.create(ctx, { name: 'r3', folder: '/a' });
    await expect(folders.delete(ctx, '/a', false)).rejects.toBeInstanceOf(ConflictError);
    expect(await answer('DELETE', `/folders/${encodeURIComponent('/a')}`)).toEqual([
      409,
      {
        error: {
          code: 'conflict',
          message: "folder '/a' is not empty; pass recursive=true to delete its contents too",
        },
      },
    ]);
  });

  it('an alert not attached to the run: NotFoundError naming the relation', async () => {
    const run = await runs.create(ctx, { name: 'r2' });
    await alerts.create(ctx, { name: 'loud', source: 'user' });
    const error = await alerts.detach(ctx, await runs.find(ctx, run.id), 'loud').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(await answer('DELETE', '/runs/r2/alerts/loud')).toEqual([
      404,
      { error: { code: 'not_found', message: "alert 'loud' is not attached to run 'r2'" } },
    ]);
  });
});

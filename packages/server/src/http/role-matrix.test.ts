import { API_PREFIX, pathOf, ROUTES, type RouteName, type RouteSpec } from '@simscope/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMember } from '../../../../test/access-fixtures.js';
import { ADMIN_TOKEN, BACKENDS, openTestStore } from '../../../../test/fixtures.js';
import { bootstrap } from '../bootstrap.js';
import { createApp } from './app.js';

const PRINCIPALS = ['viewer', 'non-member', 'share link', 'editor', 'owner'] as const;
type Principal = (typeof PRINCIPALS)[number];

/**
 * What a principal should get on a route, from the route's scope alone, so routes added later are covered too:
 * `allow` (anything but 401/403), `deny` (403; 404 also for a share link or a non-member, where hiding that a thing
 * exists is the rule), or `any` (routes that need no token).
 */
function expectation(route: RouteSpec, who: Principal): 'allow' | 'deny' | 'any' {
  const member = who === 'owner' || who === 'editor' || who === 'viewer';
  switch (route.scope) {
    case 'none':
      return 'any';
    case 'account':
      return who === 'share link' ? 'deny' : 'allow';
    case 'read':
      if (who === 'share link') {
        return route.path.includes('/:run') && !route.path.includes('/alerts') ? 'allow' : 'deny';
      }
      return member ? 'allow' : 'deny';
    case 'write':
      return who === 'owner' || who === 'editor' ? 'allow' : 'deny';
    case 'owner':
      return who === 'owner' ? 'allow' : 'deny';
    case 'share':
      return who === 'share link' ? 'allow' : 'deny';
    case 'admin':
      return 'deny';
  }
}

function unexpected(route: RouteSpec, who: Principal, status: number, body: any): string | null {
  const wanted = expectation(route, who);
  if (String(body?.error?.message).startsWith('no route ')) return 'not registered';
  const hidden = who === 'share link' || who === 'non-member';
  if (status >= 500) return `answered ${status}`;
  if (wanted === 'allow' && (status === 401 || status === 403)) return `refused (${status}) though allowed`;
  if (wanted === 'deny' && !(status === 403 || (hidden && status === 404)))
    return `answered ${status}, not 403`;
  return null;
}

describe.each(BACKENDS)('role × route matrix on %s', (backend) => {
  let cleanup: () => Promise<void>;
  let app: Awaited<ReturnType<typeof createApp>>;
  let base = '';
  let n = 0;
  const ws = `matrix-${backend}`;
  const tokens = {} as Record<Exclude<Principal, 'share link'>, string>;

  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${API_PREFIX}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(token === ADMIN_TOKEN ? {} : { 'simscope-workspace': ws }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // A live stream stays open: its status is all the matrix needs.
    if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
      await res.body?.cancel();
      return { status: res.status, body: undefined };
    }
    const text = await res.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed };
  };

  /** Fresh things for one route, made by the owner: valid values of its path parameters, and a share of its run. */
  async function fixture(route: RouteSpec): Promise<{ params: Record<string, string>; share: string }> {
    const id = ++n;
    const owner = (method: string, path: string, body?: unknown) => call(tokens.owner, method, path, body);
    const run = await owner('POST', '/runs', { name: `run-${id}`, folder: `/f${id}` });
    expect(run.status).toBe(201);
    const share = await owner('POST', '/shares', { run: run.body.id });
    expect(share.status).toBe(201);
    const params: Record<string, string> = { run: run.body.id, workspace: ws, '*': 'v1/metrics' };
    const wants = (name: string) => route.path.includes(`:${name}`);
    if (wants('folder')) params.folder = (await owner('GET', `/folders?path=/f${id}`)).body.items[0].id;
    if (wants('alert')) {
      const alert = await owner('POST', '/alerts', {
        name: `a-${id}`,
        metric: 'loss',
        rule: 'is above',
        threshold: 1,
      });
      params.alert = alert.body.id;
      await owner('POST', `/runs/${run.body.id}/alerts`, { alert: alert.body.id });
    }
    if (wants('invite')) params.invite = (await owner('POST', '/invites', {})).body.id;
    if (wants('share')) params.share = (await owner('POST', '/shares', { run: run.body.id })).body.id;
    if (wants('user'))
      params.user = (await makeMember(app, ADMIN_TOKEN, `extra-${backend}-${id}`, ws, 'viewer')).name;
    if (wants('dashboard')) {
      const dashboard = await owner('POST', '/dashboards', { name: `d-${id}`, layout: {} });
      params.dashboard = dashboard.body?.id ?? `d-${id}`;
    }
    for (const [, name] of route.path.matchAll(/:([A-Za-z]+)/g)) params[name as string] ??= `x-${id}`;
    return { params, share: share.body.token };
  }

  beforeAll(async () => {
    const opened = await openTestStore(backend);
    cleanup = opened.cleanup;
    await bootstrap(opened.store, Date.now() * 1000, ADMIN_TOKEN);
    app = await createApp({ store: opened.store, now: () => Date.now() * 1000, sinkRoute: true });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    const admin = (method: string, path: string, body?: unknown) => call(ADMIN_TOKEN, method, path, body);
    expect((await admin('POST', '/admin/workspaces', { name: ws })).status).toBe(201);
    expect((await admin('POST', '/admin/workspaces', { name: `${ws}-elsewhere` })).status).toBe(201);
    for (const role of ['owner', 'editor', 'viewer'] as const) {
      tokens[role] = (await makeMember(app, ADMIN_TOKEN, `${role}-${backend}`, ws, role)).token;
    }
    tokens['non-member'] = (
      await makeMember(app, ADMIN_TOKEN, `outsider-${backend}`, `${ws}-elsewhere`, 'owner')
    ).token;
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
  });

  it('answers every route as each role allows: 0 unexpected answers', async () => {
    const problems: string[] = [];
    let cases = 0;
    let writesRefusedToViewer = 0;
    for (const [name, route] of Object.entries(ROUTES) as [RouteName, RouteSpec][]) {
      const { params, share } = await fixture(route);
      const path = pathOf(route, params);
      const body = route.method === 'GET' ? undefined : {};
      for (const who of PRINCIPALS) {
        const token = who === 'share link' ? share : tokens[who];
        const res = await call(token, route.method, path, body);
        cases++;
        const problem = unexpected(route, who, res.status, res.body);
        if (problem)
          problems.push(
            `${name} (${route.method} ${route.path}, ${route.scope}) as ${who}: ${problem} ${JSON.stringify(res.body)?.slice(0, 200)}`,
          );
        if (who === 'viewer' && route.scope === 'write' && res.status === 403) writesRefusedToViewer++;
      }
    }
    const writeRoutes = Object.values(ROUTES).filter((r: RouteSpec) => r.scope === 'write').length;
    console.log(`role × route matrix (${backend}): ${cases} cases, ${problems.length} unexpected`);
    expect(problems).toEqual([]);
    expect(cases).toBe(Object.keys(ROUTES).length * PRINCIPALS.length);
    expect(writesRefusedToViewer).toBe(writeRoutes);
  });
});

import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, BACKENDS, openTestStore } from '../../../../test/fixtures.js';
import { bootstrap } from '../bootstrap.js';
import type { Store } from '../store/store.js';
import { createApp } from './app.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

type Headers = Record<string, string>;

describe.each(BACKENDS)('web sign-in and the device grant on %s', (backend) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let app: FastifyInstance;
  const clock = { now: 1_700_000_000_000_000 };
  let users = 0;

  const call = async (method: string, url: string, payload?: unknown, headers: Headers = admin) => {
    const res = await app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers,
      ...(payload === undefined ? {} : { payload: payload as string }),
    });
    return { status: res.statusCode, body: (res.body ? res.json() : undefined) as Record<string, any>, res };
  };
  const cookieOf = (res: LightMyRequestResponse): string => {
    const set = res.cookies.find((c) => c.name === 'simscope_session');
    if (!set) throw new Error('no session cookie');
    return `simscope_session=${set.value}`;
  };
  /** A new member of `default` with a password. */
  const newUser = async (password = 'correct horse battery') => {
    users += 1;
    const name = `${backend}-user-${users}`;
    expect((await call('POST', '/admin/users', { name })).status).toBe(201);
    expect((await call('POST', '/admin/workspaces/default/members', { user: name })).status).toBe(201);
    expect((await call('PUT', `/admin/users/${name}/password`, { password })).status).toBe(204);
    return { name, password };
  };
  /** Signs `user` in: the cookie header and the CSRF token. */
  const signIn = async (user: { name: string; password: string }, address = '10.0.0.1') => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/sign-in',
      payload: { user: user.name, password: user.password },
      remoteAddress: address,
    });
    expect(res.statusCode).toBe(200);
    return { cookie: cookieOf(res), csrf: (res.json() as { csrfToken: string }).csrfToken, res };
  };

  beforeAll(async () => {
    ({ store, cleanup } = await openTestStore(backend));
    await bootstrap(store, clock.now, ADMIN_TOKEN);
    app = await createApp({
      store,
      now: () => clock.now,
      signIn: {
        failedSignIns: { perUser: 3, perAddress: 6, windowSeconds: 60 },
        device: {
          intervalSeconds: 5,
          expiresSeconds: 300,
          codeGuesses: 3,
          startsPerAddress: 8,
          windowSeconds: 60,
        },
      },
    });
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
  });

  it('opens a session in an HttpOnly SameSite=Lax cookie that authenticates like a token', async () => {
    const user = await newUser();
    const { cookie, csrf, res } = await signIn(user);
    const set = res.cookies.find((c) => c.name === 'simscope_session');
    expect(set).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/', maxAge: 14 * 86_400 });
    expect(set?.secure).toBeUndefined();
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const me = await call('GET', '/me', undefined, { cookie });
    expect(me.status).toBe(200);
    expect(me.body.user.name).toBe(user.name);
    expect((await call('GET', '/auth/session', undefined, {})).status).toBe(204);
    const session = await call('GET', '/auth/session', undefined, { cookie });
    expect(session.body).toEqual({
      user: { id: me.body.user.id, name: user.name },
      csrfToken: csrf,
      expires: clock.now + 14 * 86_400e6,
    });
  });

  it('refuses a cookie-authenticated write without the CSRF token or from another origin', async () => {
    const { cookie, csrf } = await signIn(await newUser());
    const noToken = await call('POST', '/runs', { name: 'csrf-1' }, { cookie });
    expect(noToken.status).toBe(403);
    expect(noToken.body.error.code).toBe('forbidden');
    expect(noToken.body.error.details).toEqual({ field: 'header.x-simscope-csrf' });
    const wrong = await call(
      'POST',
      '/runs',
      { name: 'csrf-2' },
      { cookie, 'x-simscope-csrf': `${csrf.slice(1)}x` },
    );
    expect(wrong.status).toBe(403);
    const crossSite = await call(
      'POST',
      '/runs',
      { name: 'csrf-3' },
      { cookie, 'x-simscope-csrf': csrf, origin: 'https://evil.example', host: 'localhost:80' },
    );
    expect(crossSite.status).toBe(403);
    const sameSite = await call(
      'POST',
      '/runs',
      { name: 'csrf-4' },
      { cookie, 'x-simscope-csrf': csrf, origin: 'http://localhost:80', host: 'localhost:80' },
    );
    expect(sameSite.status).toBe(201);
    const runs = await call('GET', '/runs');
    const names = runs.body.items.map((r: { name: string }) => r.name);
    expect(names.filter((n: string) => n.startsWith('csrf-'))).toEqual(['csrf-4']);
  });

  it('limits failed sign-ins per user and per address, answering the same for unknown users', async () => {
    const user = await newUser();
    const other = await newUser();
    clock.now = 1_700_000_040_000_000;
    const attempt = (name: string, password: string, address: string) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/auth/sign-in',
        payload: { user: name, password },
        remoteAddress: address,
      });
    for (let i = 0; i < 3; i++) {
      const wrong = await attempt(user.name, 'wrong password', '10.1.0.1');
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json().error.message).toBe('wrong user name or password');
    }
    const locked = await attempt(user.name, user.password, '10.1.0.2');
    expect(locked.statusCode).toBe(429);
    expect(locked.json().error.message).toBe('too many failed sign-ins: try again in 60 s');
    expect((await attempt(other.name, other.password, '10.1.0.1')).statusCode).toBe(200);
    const unknown = await attempt('nobody-at-all', 'whatever1', '10.1.0.1');
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().error.message).toBe('wrong user name or password');
    // Three more failures from 10.1.0.1 (of other names) spend its six.
    for (const name of ['nobody-1', 'nobody-2'])
      expect((await attempt(name, 'x', '10.1.0.1')).statusCode).toBe(401);
    expect((await attempt(other.name, other.password, '10.1.0.1')).statusCode).toBe(429);
    clock.now += 60e6;
    expect((await attempt(user.name, user.password, '10.1.0.1')).statusCode).toBe(200);
  });

  it('signs out here and everywhere', async () => {
    const user = await newUser();
    const a = await signIn(user);
    const b = await signIn(user);
    const c = await signIn(user);
    const out = await call('POST', '/auth/sign-out', undefined, {
      cookie: a.cookie,
      'x-simscope-csrf': a.csrf,
    });
    expect(out.status).toBe(204);
    expect((await call('GET', '/me', undefined, { cookie: a.cookie })).status).toBe(401);
    expect((await call('GET', '/me', undefined, { cookie: b.cookie })).status).toBe(200);
    const sessions = await call('GET', '/me/sessions', undefined, { cookie: b.cookie });
    expect(sessions.body.items.map((s: { current: boolean }) => s.current).sort()).toEqual([false, true]);
    const all = await call('POST', '/auth/sign-out-everywhere', undefined, {
      cookie: b.cookie,
      'x-simscope-csrf': b.csrf,
    });
    expect(all.body).toEqual({ sessionsEnded: 2 });
    expect((await call('GET', '/me', undefined, { cookie: b.cookie })).status).toBe(401);
    expect((await call('GET', '/me', undefined, { cookie: c.cookie })).status).toBe(401);
  });

  it('changes a password: the user with the current one, an admin for anyone (ending their sessions)', async () => {
    const user = await newUser();
    const { cookie, csrf } = await signIn(user);
    const write = { cookie, 'x-simscope-csrf': csrf };
    const wrong = await call(
      'PUT',
      '/me/password',
      { current: 'not it at all', password: 'new password 1' },
      write,
    );
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.message).toBe('body.current: wrong current password');
    const short = await call('PUT', '/me/password', { current: user.password, password: 'short' }, write);
    expect(short.status).toBe(400);
    const changed = await call(
      'PUT',
      '/me/password',
      { current: user.password, password: 'new password 1' },
      write,
    );
    expect(changed.status).toBe(204);
    expect((await call('GET', '/me', undefined, { cookie })).status).toBe(200);
    const again = await signIn({ name: user.name, password: 'new password 1' });
    expect(
      (await call('PUT', `/admin/users/${user.name}/password`, { password: 'set by admin' })).status,
    ).toBe(204);
    expect((await call('GET', '/me', undefined, { cookie })).status).toBe(401);
    expect((await call('GET', '/me', undefined, { cookie: again.cookie })).status).toBe(401);
    await signIn({ name: user.name, password: 'set by admin' });
    expect((await call('PUT', '/admin/users/nobody-here/password', { password: 'whatever1' })).status).toBe(
      404,
    );
  });

  /** Starts a device sign-in as the CLI does: a form-encoded request. */
  const startDevice = async (scope = 'read write') => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/device',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ client_id: 'simscope-cli', scope }).toString(),
    });
    expect(res.statusCode).toBe(200);
    return res.json() as {
      device_code: string;
      user_code: string;
      verification_uri_complete: string;
      interval: number;
    };
  };
  const poll = async (deviceCode: string) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: DEVICE_GRANT,
        device_code: deviceCode,
        client_id: 'simscope-cli',
      }).toString(),
    });
    return { status: res.statusCode, body: res.json() as Record<string, any> };
  };

  it('issues a token once for an approved device code, with slow_down for early polls', async () => {
    const { cookie, csrf } = await signIn(await newUser());
    const started = await startDevice();
    expect(started.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(started.verification_uri_complete).toBe(`http://localhost:80/device?code=${started.user_code}`);
    expect(started.interval).toBe(5);
    expect((await poll(started.device_code)).body.error).toBe('authorization_pending');
    expect((await poll(started.device_code)).body.error).toBe('slow_down');
    clock.now += 10e6;
    expect((await poll(started.device_code)).body.error).toBe('authorization_pending');
    const code = started.user_code.toLowerCase().replace('-', ' ');
    const seen = await call('GET', `/auth/device/${encodeURIComponent(code)}`, undefined, { cookie });
    expect(seen.body).toMatchObject({
      userCode: started.user_code,
      clientId: 'simscope-cli',
      scopes: ['read', 'write'],
      status: 'pending',
    });
    const beyond = await call(
      'POST',
      `/auth/device/${started.user_code}`,
      { approve: true, scopes: ['admin'] },
      { cookie, 'x-simscope-csrf': csrf },
    );
    expect(beyond.status).toBe(403);
    const approved = await call(
      'POST',
      `/auth/device/${started.user_code}`,
      { approve: true, scopes: ['read'], expiresIn: '1h' },
      { cookie, 'x-simscope-csrf': csrf },
    );
    expect(approved.body.status).toBe('approved');
    clock.now += 10e6;
    const issued = await poll(started.device_code);
    expect(issued.status).toBe(200);
    expect(issued.body).toMatchObject({ token_type: 'Bearer', scope: 'read', expires_in: 3600 });
    const bearer = { authorization: `Bearer ${issued.body.access_token}` };
    expect((await call('GET', '/runs', undefined, bearer)).status).toBe(200);
    expect((await call('POST', '/runs', { name: 'device-read-only' }, bearer)).status).toBe(403);
    const again = await poll(started.device_code);
    expect(again).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'this device_code was already used' },
    });
    const own = await call('GET', '/me/tokens', undefined, { cookie });
    expect(own.body.items.map((t: { name: string }) => t.name)).toEqual(['device: simscope-cli']);
  });

  it('answers expired_token after expiry and access_denied after a denial', async () => {
    const { cookie, csrf } = await signIn(await newUser());
    const late = await startDevice();
    const denied = await startDevice();
    const deny = await call(
      'POST',
      `/auth/device/${denied.user_code}`,
      { approve: false },
      { cookie, 'x-simscope-csrf': csrf },
    );
    expect(deny.body.status).toBe('denied');
    expect((await poll(denied.device_code)).body.error).toBe('access_denied');
    clock.now += 301e6;
    expect((await poll(late.device_code)).body).toEqual({
      error: 'expired_token',
      error_description: 'the device code has expired',
    });
    expect((await call('GET', `/auth/device/${late.user_code}`, undefined, { cookie })).status).toBe(404);
  });

  it('bounds user code guesses per user', async () => {
    const { cookie } = await signIn(await newUser());
    clock.now += 120e6;
    const real = await startDevice();
    const guesses = ['BBBB-BBBB', 'CCCC-CCCC', 'short'];
    for (const guess of guesses)
      expect((await call('GET', `/auth/device/${guess}`, undefined, { cookie })).status).toBe(404);
    const locked = await call('GET', `/auth/device/${real.user_code}`, undefined, { cookie });
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('rate_limited');
  });

  it('bounds the device sign-ins one address may start', async () => {
    clock.now += 120e6;
    const start = (address: string) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/auth/device',
        payload: { client_id: 'flood' },
        remoteAddress: address,
      });
    for (let i = 0; i < 8; i++) expect((await start('10.9.0.1')).statusCode).toBe(200);
    const refused = await start('10.9.0.1');
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.message).toMatch(
      /^too many device sign-ins started from this address: try again in \d+ s$/,
    );
    expect((await start('10.9.0.2')).statusCode).toBe(200);
  });

  it('lets a user see and revoke only their own tokens and sessions', async () => {
    const user = await newUser();
    const { cookie, csrf } = await signIn(user);
    const mine = await call('POST', '/admin/tokens', { user: user.name, name: 'laptop' });
    const theirs = await call('POST', '/admin/tokens', { user: 'admin', name: 'not-yours' });
    const listed = await call('GET', '/me/tokens', undefined, { cookie });
    expect(listed.body.items.map((t: { name: string }) => t.name)).toEqual(['laptop']);
    const write = { cookie, 'x-simscope-csrf': csrf };
    expect((await call('DELETE', `/me/tokens/${theirs.body.id}`, undefined, write)).status).toBe(404);
    expect((await call('DELETE', `/me/tokens/${mine.body.id}`, undefined, write)).status).toBe(204);
    expect((await call('GET', '/me', undefined, { authorization: `Bearer ${mine.body.token}` })).status).toBe(
      401,
    );
    expect(
      (await call('GET', '/me', undefined, { authorization: `Bearer ${theirs.body.token}` })).status,
    ).toBe(200);
    const other = await signIn(user);
    const sessions = await call('GET', '/me/sessions', undefined, { cookie });
    const otherId = sessions.body.items.find((s: { current: boolean }) => !s.current).id;
    expect((await call('DELETE', `/me/sessions/${otherId}`, undefined, write)).status).toBe(204);
    expect((await call('GET', '/me', undefined, { cookie: other.cookie })).status).toBe(401);
    expect((await call('GET', '/me', undefined, { cookie })).status).toBe(200);
  });
});

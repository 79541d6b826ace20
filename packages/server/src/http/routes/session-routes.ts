import { apiRoute, type SignInView, SimscopeError } from '@simscope/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { tokenView } from '../../services/admin-service.js';
import { DeviceFlow } from '../../services/device-flow.js';
import { OidcSignIn } from '../../services/oidc.js';
import {
  csrfTokenOf,
  type OpenedSession,
  SESSION_COOKIE,
  SessionService,
} from '../../services/session-service.js';
import type { SignInConfig } from '../../services/sign-in-config.js';
import { clearSessionCookie, clientOf, setSessionCookie } from '../session-cookie.js';
import { registerDeviceRoutes } from './device-routes.js';
import type { RouteKit } from './kit.js';
import { registerOidcRoutes } from './oidc-routes.js';
import type { RouteRegistry } from './register.js';

export interface SignInRouteOptions {
  config?: SignInConfig | undefined;
  /** Called after a session or token is revoked, so cached tokens are dropped. */
  onAccessChange(): void;
}

function signInView({ secret, token, user }: OpenedSession): SignInView {
  return { user: { id: user.id, name: user.name }, csrfToken: csrfTokenOf(secret), expires: token.expiresAt };
}

function authOf(request: FastifyRequest) {
  if (!request.auth) throw new SimscopeError('unauthorized', 'sign in first');
  return request.auth;
}

/** Passwords, web sessions, self-service token and session lists; the device grant and single sign-on beside them. */
export async function registerSignInRoutes(
  app: FastifyInstance,
  kit: RouteKit,
  registry: RouteRegistry,
  options: SignInRouteOptions,
): Promise<void> {
  const { register, store, now } = kit;
  const sessions = new SessionService({
    store,
    now,
    config: options.config,
    onRevoke: options.onAccessChange,
  });
  const oidc = options.config?.oidc ? new OidcSignIn({ config: options.config.oidc, store, now }) : null;

  register(apiRoute('authConfig'), async () => ({ password: true, oidc: oidc ? { name: oidc.name } : null }));
  register(apiRoute('signIn'), async ({ input, request, reply }) => {
    const opened = await sessions.signIn(input.body, clientOf(request));
    setSessionCookie(request, reply, opened.secret, sessions.sessionSeconds);
    return signInView(opened);
  });
  register(apiRoute('currentSession'), async ({ request, reply }) => {
    const secret = request.cookies[SESSION_COOKIE];
    const found = secret ? await sessions.find(secret) : undefined;
    // No session is an ordinary answer here (the page asks before anyone signed in), not an error.
    if (!secret || !found) return reply.status(204).send();
    return signInView({ secret, ...found });
  });
  register(apiRoute('signOut'), async ({ request, reply }) => {
    const secret = request.cookies[SESSION_COOKIE];
    const found = secret ? await sessions.find(secret) : undefined;
    if (found) await sessions.end(found.user.id, found.token.id);
    clearSessionCookie(reply);
    return reply.status(204).send();
  });
  register(apiRoute('signOutEverywhere'), async ({ request, reply }) => {
    const ended = await sessions.end(authOf(request).user.id);
    clearSessionCookie(reply);
    return { sessionsEnded: ended };
  });
  register(apiRoute('changeOwnPassword'), async ({ input, request, reply }) => {
    await sessions.changeOwnPassword(authOf(request).user, input.body.current, input.body.password);
    return reply.status(204).send();
  });
  register(apiRoute('setUserPassword'), async ({ input, reply }) => {
    const user = await store.identity.getUser(input.params.user);
    if (!user) throw new SimscopeError('not_found', `user '${input.params.user}' not found`);
    await sessions.setPassword(user, input.body.password);
    return reply.status(204).send();
  });

  register(apiRoute('listOwnTokens'), async ({ request }) => {
    const { user } = authOf(request);
    const sessionIds = await store.signIn.sessionTokenIds(user.id);
    const tokens = await store.identity.listTokens(user.id);
    return { items: tokens.filter((t) => !sessionIds.has(t.id)).map(tokenView) };
  });
  register(apiRoute('revokeOwnToken'), async ({ input, request, reply }) => {
    const { user } = authOf(request);
    const own = (await store.identity.listTokens(user.id)).some((t) => t.id === input.params.token);
    if (!own || !(await store.identity.revokeToken(input.params.token, now()))) {
      throw new SimscopeError('not_found', `token '${input.params.token}' not found or already revoked`);
    }
    options.onAccessChange();
    return reply.status(204).send();
  });
  register(apiRoute('listOwnSessions'), async ({ request }) => {
    const { user, token } = authOf(request);
    const list = await store.signIn.listSessions(user.id, now());
    return {
      items: list.map((s) => ({
        id: s.tokenId,
        method: s.method,
        userAgent: s.userAgent,
        address: s.address,
        created: s.createdAt,
        expires: s.expiresAt,
        current: s.tokenId === token.id,
      })),
    };
  });
  register(apiRoute('revokeOwnSession'), async ({ input, request, reply }) => {
    if ((await sessions.end(authOf(request).user.id, input.params.session)) === 0) {
      throw new SimscopeError('not_found', `session '${input.params.session}' not found or already ended`);
    }
    return reply.status(204).send();
  });

  await registerDeviceRoutes(app, kit, registry, new DeviceFlow({ store, now, config: options.config }));
  registerOidcRoutes(kit, oidc, sessions);
}

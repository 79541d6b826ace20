import { API_PREFIX, apiRoute, SimscopeError } from '@simscope/protocol';
import type { FastifyRequest } from 'fastify';
import type { OidcPending, OidcSignIn } from '../../services/oidc.js';
import type { SessionService } from '../../services/session-service.js';
import { clientOf, setSessionCookie } from '../session-cookie.js';
import type { RouteKit } from './kit.js';

const PENDING_COOKIE = 'simscope_oidc';
const PENDING_PATH = `${API_PREFIX}/auth/oidc`;
const PENDING_SECONDS = 600;

function readPending(request: FastifyRequest): OidcPending | undefined {
  const raw = request.cookies[PENDING_COOKIE];
  if (!raw) return undefined;
  try {
    const value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<OidcPending>;
    const { state, nonce, verifier } = value;
    if (typeof state === 'string' && typeof nonce === 'string' && typeof verifier === 'string') {
      return { state, nonce, verifier };
    }
  } catch {}
  return undefined;
}

/** Single sign-on: the redirect to the provider and its return, which opens a web session and lands on the UI. */
export function registerOidcRoutes(kit: RouteKit, oidc: OidcSignIn | null, sessions: SessionService): void {
  const configured = (): OidcSignIn => {
    if (!oidc)
      throw new SimscopeError('not_found', 'single sign-on is not set up on this server (--oidc-issuer)');
    return oidc;
  };
  kit.register(apiRoute('oidcStart'), async ({ request, reply }) => {
    const { url, pending } = await configured().start();
    // The state, nonce and PKCE verifier wait in an HttpOnly cookie scoped to the callback: nothing in memory, so
    // any server process may take the return. SameSite=Lax still sends it on the provider's top-level redirect.
    reply.setCookie(PENDING_COOKIE, Buffer.from(JSON.stringify(pending)).toString('base64url'), {
      httpOnly: true,
      sameSite: 'lax',
      secure: request.protocol === 'https',
      path: PENDING_PATH,
      maxAge: PENDING_SECONDS,
    });
    return reply.redirect(url, 302);
  });
  kit.register(apiRoute('oidcCallback'), async ({ input, request, reply }) => {
    const provider = configured();
    reply.clearCookie(PENDING_COOKIE, { path: PENDING_PATH });
    if (input.query.error) {
      throw new SimscopeError('unauthorized', `single sign-on refused by the provider: ${input.query.error}`);
    }
    const callback = new URL(
      request.url,
      `${request.protocol}://${request.headers.host ?? request.hostname}`,
    );
    const user = await provider.finish(callback, readPending(request));
    const opened = await sessions.open(user, 'oidc', clientOf(request));
    setSessionCookie(request, reply, opened.secret, sessions.sessionSeconds);
    return reply.redirect('/', 302);
  });
}

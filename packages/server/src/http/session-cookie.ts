import cookie from '@fastify/cookie';
import { API_PREFIX, SimscopeError } from '@simscope/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CSRF_HEADER, csrfMatches, SESSION_COOKIE } from '../services/session-service.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Routes that take no session (they open one, or are the device's own): a stale cookie must not stop them. */
const SESSIONLESS = new Set(['/auth/sign-in', '/auth/device', '/auth/token'].map((p) => `${API_PREFIX}${p}`));

/** Whether the request's Origin, when it sends one, is this server (the Host it was sent to). */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === new URL(`${request.protocol}://${request.headers.host ?? ''}`).host;
  } catch {
    return false;
  }
}

/**
 * Web sessions: a request without an `Authorization` header that carries the session cookie is authenticated as
 * that session's token. A write so authenticated must send the session's CSRF token in `x-simscope-csrf` (a page
 * of another site can make the browser send the cookie, but cannot read the token) and, when the browser names
 * an Origin, come from this server's own.
 */
export async function registerSessionCookie(app: FastifyInstance): Promise<void> {
  await app.register(cookie);
  app.addHook('onRequest', async function sessionFromCookie(request: FastifyRequest) {
    if (request.headers.authorization !== undefined) return;
    const secret = request.cookies[SESSION_COOKIE];
    if (!secret || SESSIONLESS.has(request.routeOptions.url ?? '')) return;
    if (!SAFE_METHODS.has(request.method)) {
      const sent = request.headers[CSRF_HEADER];
      if (!sameOrigin(request) || !csrfMatches(secret, Array.isArray(sent) ? sent[0] : sent)) {
        throw new SimscopeError(
          'forbidden',
          `a write with the session cookie needs the session's CSRF token in the ${CSRF_HEADER} header, from this server's own pages`,
          { details: { field: `header.${CSRF_HEADER}` } },
        );
      }
    }
    request.headers.authorization = `Bearer ${secret}`;
  });
}

/** Sets the session cookie: HttpOnly, SameSite=Lax, Secure when the request came over https. */
export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  secret: string,
  seconds: number,
): void {
  reply.setCookie(SESSION_COOKIE, secret, {
    httpOnly: true,
    sameSite: 'lax',
    secure: request.protocol === 'https',
    path: '/',
    maxAge: seconds,
  });
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
}

/** Who a request comes from: its address and browser, kept with the session it opens. */
export function clientOf(request: FastifyRequest): { address: string; userAgent: string | undefined } {
  return { address: request.ip, userAgent: request.headers['user-agent'] };
}

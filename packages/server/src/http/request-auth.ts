import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../services/context.js';

/** The caller the route's authentication hook found; a route with a scope never runs without one. */
export function authOf(request: FastifyRequest): AuthContext {
  if (!request.auth) {
    throw new Error(
      `${request.method} ${request.routeOptions.url}: the handler ran without an authenticated caller`,
    );
  }
  return request.auth;
}

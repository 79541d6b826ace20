import { apiRoute, SimscopeError } from '@simscope/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type DeviceFlow, DeviceFlowError, deviceGrantView } from '../../services/device-flow.js';
import type { RouteKit } from './kit.js';
import type { RouteRegistry } from './register.js';

/** This server's own address as the client sees it, for the verification link. */
function originOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.headers.host ?? request.hostname}`;
}

function userOf(request: FastifyRequest) {
  if (!request.auth) throw new SimscopeError('unauthorized', 'sign in first');
  return request.auth.user;
}

/**
 * The device authorization grant (RFC 8628): its two endpoints take form-encoded bodies as the RFC says (and JSON),
 * in a scope of their own so that no other route accepts forms; the token endpoint answers the RFC's errors.
 */
export async function registerDeviceRoutes(
  app: FastifyInstance,
  kit: RouteKit,
  registry: RouteRegistry,
  flow: DeviceFlow,
): Promise<void> {
  await app.register(async function deviceScope(scope) {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      function parseForm(_request, body, done) {
        done(null, Object.fromEntries(new URLSearchParams(String(body))));
      },
    );
    const register = registry.on(scope);
    register(apiRoute('deviceAuthorization'), async ({ input, request, reply }) => {
      try {
        return await flow.authorize(input.body, originOf(request), request.ip);
      } catch (error) {
        if (!(error instanceof DeviceFlowError)) throw error;
        return reply.status(400).send({ error: error.error, error_description: error.message });
      }
    });
    register(apiRoute('deviceToken'), async ({ input, reply }) => {
      reply.header('cache-control', 'no-store');
      try {
        return await flow.token(input.body);
      } catch (error) {
        if (!(error instanceof DeviceFlowError)) throw error;
        return reply.status(400).send({ error: error.error, error_description: error.message });
      }
    });
  });
  kit.register(apiRoute('getDeviceGrant'), async ({ input, request }) =>
    deviceGrantView(await flow.find(userOf(request), input.params.code, request.ip)),
  );
  kit.register(apiRoute('decideDeviceGrant'), async ({ input, request }) => {
    const user = userOf(request);
    return flow.decide(user, await flow.find(user, input.params.code, request.ip), input.body);
  });
}

import {
  API_PREFIX,
  type ApiRoute,
  parseInput,
  type RouteInput,
  type RouteName,
  type RouteScope,
  type RouteSpec,
} from '@simscope/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** What a route's handler gets: its input parsed by the route's schemas, and the request and reply. */
interface RouteCall<R extends RouteName> {
  input: RouteInput<R>;
  request: FastifyRequest;
  reply: FastifyReply;
}

type RouteHandler<R extends RouteName> = (call: RouteCall<R>) => Promise<unknown>;
type Hook = (request: FastifyRequest) => Promise<void>;

/** Registers one route of the table: its scope checked before the body is read, its input parsed before `handler`. */
export type RegisterRoute = <R extends RouteName>(
  route: ApiRoute<R>,
  handler: RouteHandler<R>,
  options?: RouteOptions,
) => void;

interface RouteOptions {
  /** Runs instead of the scope check (telemetry ingest checks its own key). */
  onRequest?: Hook;
  /** Turns an error of the input or the handler into the one answered (uploads refused before their end). */
  mapError?: (error: unknown, request: FastifyRequest) => unknown;
}

/** Parses a request's params, query and body with the route's schemas (`invalid_field` names the field). */
function readInput<R extends RouteName>(route: ApiRoute<R>, request: FastifyRequest): RouteInput<R> {
  const query = route.querySchema
    ? parseInput(route.querySchema, request.query ?? {}, 'query')
    : request.query;
  let body = request.body;
  if (route.bodySchema) {
    body = parseInput(route.bodySchema, body === undefined && route.emptyBodyIsObject ? {} : body);
  }
  return { params: request.params, query, body } as RouteInput<R>;
}

/** The routes registered so far (for the OpenAPI document) and a `RegisterRoute` for any plugin scope. */
export class RouteRegistry {
  readonly routes: ApiRoute[] = [];
  readonly #authenticate: (scope: RouteScope, route: RouteSpec) => Hook;

  constructor(authenticate: (scope: RouteScope, route: RouteSpec) => Hook) {
    this.#authenticate = authenticate;
  }

  /** A `RegisterRoute` that adds routes to `scope` (the app or a plugin scope of its own). */
  on(scope: FastifyInstance): RegisterRoute {
    return (route, handler, options = {}) => {
      this.routes.push(route as ApiRoute);
      scope.route({
        method: route.method,
        url: `${API_PREFIX}${route.path}`,
        onRequest: options.onRequest ?? this.#authenticate(route.scope, route),
        handler: async function handleRoute(request, reply) {
          if (!options.mapError) return handler({ input: readInput(route, request), request, reply });
          try {
            return await handler({ input: readInput(route, request), request, reply });
          } catch (error) {
            throw options.mapError(error, request);
          }
        },
      });
    };
  }
}

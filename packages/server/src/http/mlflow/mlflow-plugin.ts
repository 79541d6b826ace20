import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ArtifactService } from '../../services/artifact-service.js';
import { mlflowArtifactScope } from './mlflow-artifacts.js';
import { MlflowError, mlflowAnswer } from './mlflow-errors.js';
import { type MlflowRoutesOptions, registerMlflowRoutes } from './mlflow-routes.js';

export interface MlflowPluginOptions extends MlflowRoutesOptions {
  artifacts: ArtifactService;
}

/** Where the MLflow API is served: `MLFLOW_TRACKING_URI=http://host:port/mlflow`. */
export const MLFLOW_PREFIX = '/mlflow';

/**
 * MLflow clients send `MLFLOW_TRACKING_USERNAME`/`PASSWORD` as basic auth: the password is read as a Simscope
 * token, so the one bearer check serves both.
 */
function basicToBearer(request: FastifyRequest): void {
  const header = request.headers.authorization;
  const match = header ? /^Basic\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) return;
  const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  request.headers.authorization = `Bearer ${colon < 0 ? decoded : decoded.slice(colon + 1)}`;
}

/**
 * MLflow's tracking REST API (2.0) under `/mlflow`, answering errors as MLflow does (`{ error_code, message }`).
 * Register with `app.register(mlflowPlugin, { prefix: MLFLOW_PREFIX, ... })`.
 */
export async function mlflowPlugin(app: FastifyInstance, options: MlflowPluginOptions): Promise<void> {
  app.addHook('onRequest', async function readBasicAuth(request) {
    basicToBearer(request);
  });
  app.setErrorHandler(function answerMlflowError(error, request, reply) {
    const answer = mlflowAnswer(error);
    if (answer.status >= 500) request.log.error({ err: error }, 'MLflow route failed');
    if (answer.retryAfter) reply.header('retry-after', answer.retryAfter);
    reply.status(answer.status).send(answer.body);
  });
  registerMlflowRoutes(app, options);
  // Artifact bodies arrive as streams, in a scope of their own (as the native artifact routes do).
  const { ctx, artifacts, authenticate } = options;
  await app.register(mlflowArtifactScope, { ctx, artifacts, authenticate });
  // Also keeps every other path under /mlflow away from the web UI's catch-all route.
  const endpointNotFound = async function mlflowEndpointNotFound(request: FastifyRequest) {
    throw new MlflowError(
      'ENDPOINT_NOT_FOUND',
      `No API endpoint ${request.method} ${request.url.split('?')[0]} in this server's MLflow API`,
    );
  };
  app.all('/', endpointNotFound);
  app.all('/*', endpointNotFound);
}

import { apiRoute, parseInput, type RouteScope } from '@simscope/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ArtifactService } from '../../services/artifact-service.js';
import type { ServiceContext } from '../../services/context.js';
import type { RunRecord } from '../../store/run-store.js';
import { acceptRawBodies, uploadError } from '../routes/artifacts-routes.js';
import { invalid, MlflowError, missing } from './mlflow-errors.js';
import { DEFAULT_EXPERIMENT_ID, experimentId } from './mlflow-views.js';

export interface MlflowArtifactOptions {
  ctx(request: FastifyRequest): ServiceContext;
  artifacts: ArtifactService;
  authenticate(scope: RouteScope): (request: FastifyRequest) => Promise<void>;
}

/** Files listed at most per directory listing (MLflow lists a directory whole, without pages). */
const LIST_LIMIT = 10_000;

/** The run and artifact name of an artifact path `<experiment>/<run>/artifacts/<name>`. */
async function locate(c: ServiceContext, path: string): Promise<{ run: RunRecord; name: string }> {
  const [, runId, root, ...rest] = path.split('/');
  if (!runId || root !== 'artifacts') {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Invalid artifact path '${path}': expected <experiment_id>/<run_id>/artifacts/<path>`,
    );
  }
  const run = await c.store.runs.getRun(c.auth.workspace.id, runId);
  if (!run || run.id !== runId) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run '${runId}' not found`);
  return { run, name: rest.join('/') };
}

type FileInfo = { path: string; is_dir: true } | { path: string; is_dir: false; file_size: number };

/** One directory level of a run's artifacts (`dir` is '' at the root): names under `dir`, in path order. */
async function listLevel(
  artifacts: ArtifactService,
  c: ServiceContext,
  run: RunRecord,
  dir: string,
): Promise<FileInfo[]> {
  const prefix = dir === '' ? '' : `${dir}/`;
  const { items } = await artifacts.list(c, run, {
    category: null,
    name: null,
    startsWith: prefix === '' ? null : prefix,
    contains: null,
    endsWith: null,
    limit: LIST_LIMIT,
  });
  const files: FileInfo[] = [];
  const dirs = new Set<string>();
  for (const item of items) {
    const rest = item.name.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash < 0) files.push({ path: rest, is_dir: false, file_size: item.size });
    else if (!dirs.has(rest.slice(0, slash))) {
      dirs.add(rest.slice(0, slash));
      files.push({ path: rest.slice(0, slash), is_dir: true });
    }
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** A query parameter given at most once. */
function queryText(request: FastifyRequest, key: string): string | undefined {
  const value = (request.query as Record<string, unknown>)[key];
  if (value === undefined || typeof value === 'string') return value;
  throw invalid(key, value, 'expected one value');
}

function pathOf(request: FastifyRequest): string {
  return (request.params as { '*': string })['*'];
}

/**
 * MLflow's artifact proxy (`mlflow-artifacts:` URIs resolve to `<tracking URI>/api/2.0/mlflow-artifacts/artifacts`)
 * onto Simscope artifacts of the run: upload (PUT), download (GET), list (GET with `path`) and delete.
 */
export async function mlflowArtifactScope(
  scope: FastifyInstance,
  options: MlflowArtifactOptions,
): Promise<void> {
  const { ctx, artifacts, authenticate } = options;
  const contentType = acceptRawBodies(scope);
  const saveQuery = apiRoute('saveArtifact').querySchema;
  for (const base of ['/api/2.0/mlflow-artifacts/artifacts', '/ajax-api/2.0/mlflow-artifacts/artifacts']) {
    scope.put(`${base}/*`, {
      onRequest: authenticate('write'),
      handler: async function uploadMlflowArtifact(request) {
        const c = ctx(request);
        try {
          const { run, name } = await locate(c, pathOf(request));
          const query = parseInput(saveQuery, { name, category: 'output' }, 'path');
          const type = contentType(request)?.split(';')[0]?.trim() || 'application/octet-stream';
          await artifacts.save(
            c,
            run,
            { ...query, mimeType: type },
            request.body as NodeJS.ReadableStream | undefined,
          );
          return {};
        } catch (error) {
          throw uploadError(error, request);
        }
      },
    });
    scope.get(`${base}/*`, {
      onRequest: authenticate('read'),
      handler: async function downloadMlflowArtifact(request, reply) {
        const c = ctx(request);
        const { run, name } = await locate(c, pathOf(request));
        const { artifact, stream } = await artifacts.open(c, run, name, { range: null });
        return reply
          .type(artifact.mimeType)
          .header('content-length', artifact.size)
          .header('x-content-type-options', 'nosniff')
          .header('content-security-policy', "default-src 'none'; sandbox")
          .send(stream);
      },
    });
    scope.delete(`${base}/*`, {
      onRequest: authenticate('write'),
      handler: async function deleteMlflowArtifact(request) {
        const c = ctx(request);
        const { run, name } = await locate(c, pathOf(request));
        await artifacts.delete(c, run, name);
        return {};
      },
    });
    scope.get(base, {
      onRequest: authenticate('read'),
      handler: async function listMlflowArtifacts(request) {
        const c = ctx(request);
        const path = queryText(request, 'path') ?? '';
        const { run, name: dir } = await locate(c, path.replace(/\/+$/, ''));
        return { files: await listLevel(artifacts, c, run, dir) };
      },
    });
  }
  // MLflow's ListArtifacts, which the MLflow UI and the npm `mlflow` client read: paths from the run's artifact
  // root, and the root itself.
  for (const base of ['/api/2.0/mlflow/artifacts/list', '/ajax-api/2.0/mlflow/artifacts/list']) {
    scope.get(base, {
      onRequest: authenticate('read'),
      handler: async function listRunArtifacts(request) {
        const c = ctx(request);
        const runId = queryText(request, 'run_id') || queryText(request, 'run_uuid');
        if (!runId) throw missing('run_id');
        const path = queryText(request, 'path') ?? '';
        const dir = path.replace(/\/+$/, '');
        if (dir.startsWith('/') || dir.split('/').some((part) => part === '..' || part === '.')) {
          throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid path: ${path}`);
        }
        const run = await c.store.runs.getRun(c.auth.workspace.id, runId);
        if (!run || run.id !== runId) {
          throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run '${runId}' not found`);
        }
        const folder = await c.store.folders.getFolder(c.auth.workspace.id, run.folder);
        const experiment = folder ? experimentId(folder) : DEFAULT_EXPERIMENT_ID;
        const files = await listLevel(artifacts, c, run, dir);
        return {
          root_uri: `mlflow-artifacts:/${experiment}/${run.id}/artifacts`,
          files: files.map((file) => ({ ...file, path: dir === '' ? file.path : `${dir}/${file.path}` })),
        };
      },
    });
  }
}

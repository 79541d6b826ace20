import type { FastifyRequest } from 'fastify';
import type { AdminService } from '../../services/admin-service.js';
import type { ArtifactService } from '../../services/artifact-service.js';
import type { ServiceContext } from '../../services/context.js';
import type { RunRecord, Store } from '../../store/store.js';
import type { RegisterRoute } from './register.js';

/** What every routes file borrows from `createApp`. */
export interface RouteKit {
  register: RegisterRoute;
  store: Store;
  now(): number;
  ctx(request: FastifyRequest): ServiceContext;
  /** The run named by the `:run` parameter, or `not_found`. */
  runOf(request: FastifyRequest): Promise<RunRecord>;
  admin: AdminService;
  artifacts: ArtifactService;
}

/**
 * The REST contract of Simscope, declared once: every route's method, path, scope, docs and answer type.
 *
 * This subpath (`@simscope/protocol/api`) does not import zod, so a browser bundle can use it; the schemas each
 * route's input is parsed with live beside it in `route-schemas.ts` (`apiRoute(name)`, from `@simscope/protocol`).
 * The server registers every route from this table; clients build paths with `pathOf` and type answers with
 * `RouteResponse`; listings page with `paginate`.
 *
 * @example
 * import { API_PREFIX, pathOf, ROUTES, type RouteResponse, paginate } from '@simscope/protocol/api';
 *
 * const route = ROUTES.getRun; // { method: 'GET', path: '/runs/:run', scope: 'read', summary: … }
 * const url = `${base}${API_PREFIX}${pathOf('getRun', { run: 'cavity-1' })}`;
 * const run = (await (await fetch(url, { method: route.method, headers })).json()) as RouteResponse<'getRun'>;
 *
 * for await (const page of paginate((next) => listRuns({ next }))) console.log(page.length);
 */
export { API_PREFIX, MSGPACK_TYPE, WORKSPACE_HEADER } from '../paths.js';
export { type PaginateOptions, paginate } from './paginate.js';
export type { RouteResponse, RouteResponses } from './responses.js';
export {
  type HttpMethod,
  type PathParams,
  pathOf,
  ROUTES,
  type RouteName,
  type RouteParams,
  type RouteScope,
  type RouteSpec,
  RUN_TABLE_PAGE,
} from './routes.js';
export {
  type AccessRouteResponses,
  type AuditEntryView,
  type InviteView,
  type MemberView,
  type ShareView,
  WORKSPACE_ROLES,
  type WorkspaceRole,
} from './routes-access.js';
export type { DeviceGrantView, SessionView, SignInView } from './routes-auth.js';
export type { RankedMetricView, RankSeriesView, SegmentView, StragglerView } from './routes-hpc.js';
export type * from './views.js';

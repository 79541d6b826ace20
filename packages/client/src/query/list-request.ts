import { API_PREFIX, type Page, ROUTES, type RouteName, type RouteResponse } from '@simscope/protocol';
import type { HttpTransport, RetryOptions } from '../http-transport.js';

/**
 * Longest path and query a listing sends as a GET. Servers and proxies refuse longer request lines (Node at
 * 16 KiB of headers, many proxies at 4 or 8 KiB), so a longer one goes to the listing's search route (`POST
 * PATH/search`) with the query as the JSON body.
 */
const MAX_QUERY_URL = 4096;

/** The routes of the table that answer a page of a listing. */
export type ListRouteName = {
  [R in RouteName]: RouteResponse<R> extends Page<unknown>
    ? (typeof ROUTES)[R]['method'] extends 'GET'
      ? R
      : never
    : never;
}[RouteName];

/** What one row of a listing is. */
export type ListItem<R extends ListRouteName> = RouteResponse<R> extends Page<infer T> ? T : never;

/** The listings that also answer a search route, the query in the body, for queries too long for a URL. */
const SEARCH_ROUTES: Partial<Record<ListRouteName, 'searchRuns'>> = { listRuns: 'searchRuns' };

export type PageQuery = Record<string, string | number | undefined>;

/** Path and query string of a GET, as the transport encodes them. */
function encodedLength(path: string, query: PageQuery): number {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  return API_PREFIX.length + path.length + 1 + params.toString().length;
}

/**
 * One page of a listing at `path` (the route's path with its parameters filled in): a GET, or, where the listing
 * has a search route and the query would make the URL longer than {@link MAX_QUERY_URL}, that route with the
 * query in the body. Both are reads and may be retried.
 */
export function requestPage<R extends ListRouteName>(
  transport: HttpTransport,
  route: R,
  path: string,
  query: PageQuery,
  retries?: Partial<RetryOptions>,
): Promise<Page<ListItem<R>>> {
  const search: 'searchRuns' | undefined = SEARCH_ROUTES[route as ListRouteName];
  if (search && encodedLength(path, query) > MAX_QUERY_URL) {
    const page: Promise<Page<unknown>> = transport.call(search, { body: query, idempotent: true, retries });
    return page as Promise<Page<ListItem<R>>>;
  }
  return transport.request(ROUTES[route].method, path, { query, retries });
}

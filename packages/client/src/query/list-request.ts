import { API_PREFIX } from '@simscope/protocol';
import type { HttpTransport, RetryOptions } from '../http-transport.js';

/**
 * Longest path and query a listing sends as a GET. Servers and proxies refuse longer request lines (Node at
 * 16 KiB of headers, many proxies at 4 or 8 KiB), so a longer one goes as `POST PATH/search` with the query as
 * the JSON body.
 */
export const MAX_QUERY_URL = 4096;

/** Path and query string of a GET, as the transport encodes them. */
function encodedLength(path: string, query: Record<string, string | number | undefined>): number {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  return API_PREFIX.length + path.length + 1 + params.toString().length;
}

/**
 * One page of a listing: a GET, or, where the list has a search route (`search`) and the query would make the
 * URL longer than {@link MAX_QUERY_URL}, `POST PATH/search` with the query in the body. Both are reads and may be
 * retried.
 */
export function requestPage<P>(
  transport: HttpTransport,
  path: string,
  query: Record<string, string | number | undefined>,
  options: { search?: boolean; retries?: Partial<RetryOptions> | undefined } = {},
): Promise<P> {
  if (options.search && encodedLength(path, query) > MAX_QUERY_URL) {
    return transport.request<P>('POST', `${path}/search`, {
      json: query,
      idempotent: true,
      retries: options.retries,
    });
  }
  return transport.request<P>('GET', path, { query, retries: options.retries });
}

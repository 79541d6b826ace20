import type { Page } from './views.js';

export interface PaginateOptions {
  /** The cursor to start from (a page's `next` from earlier); the first page when absent or null. */
  start?: string | null | undefined;
  /** Stop after this many pages. */
  maxPages?: number | undefined;
  /** Stop after this many items (the last page is cut to fit). */
  maxItems?: number | undefined;
}

/**
 * Walks a listing page by page: `fetchPage(next)` gets the page after cursor `next` (null for the first).
 * The one paginator of every listing of the API.
 * @example for await (const runs of paginate((next) => api.listRuns({ next }))) show(runs);
 */
export async function* paginate<T>(
  fetchPage: (next: string | null) => Promise<Page<T>>,
  options: PaginateOptions = {},
): AsyncGenerator<T[]> {
  let next: string | null = options.start ?? null;
  let pages = 0;
  let items = 0;
  do {
    if (options.maxPages !== undefined && pages >= options.maxPages) return;
    const page: Page<T> = await fetchPage(next);
    pages++;
    next = page.next;
    const room = options.maxItems === undefined ? page.items.length : options.maxItems - items;
    const kept = room < page.items.length ? page.items.slice(0, room) : page.items;
    items += kept.length;
    yield kept;
    if (options.maxItems !== undefined && items >= options.maxItems) return;
  } while (next !== null);
}

import { HttpTransport, type RequestOptions, type ResolvedConnection } from '@simscope/client';
import { CliError } from './errors.js';
import { PageProgress, type ProgressStream } from './progress.js';

interface Page<T> {
  items: T[];
  next: string | null;
}

export interface ListOptions {
  /** Most items to return; `Infinity` for all. */
  limit: number;
  /** Items per request, at most the route's maximum. */
  pageSize: number;
  /** What the progress line calls the items. */
  label: string;
}

/** `encodeURIComponent` for one path segment: a run, folder, user, workspace or token. */
export const seg = encodeURIComponent;

/** The REST API as the commands use it: one transport, and listings paged with a progress line. */
export class Api {
  readonly url: string;
  readonly #transport: HttpTransport;
  readonly #progress: ProgressStream;

  /** `progress` is where multi-page listings report, when it is a terminal (default: stderr). */
  constructor(connection: ResolvedConnection, progress: ProgressStream = process.stderr) {
    if (!connection.token) {
      throw new CliError(
        'unauthorized',
        `no token for ${connection.url}: run 'simscope login --url URL --token TOKEN', set SIMSCOPE_TOKEN, or start the server once (it saves one to the user config)`,
      );
    }
    this.url = connection.url;
    this.#progress = progress;
    this.#transport = new HttpTransport(connection);
  }

  request<T>(method: string, path: string, options?: RequestOptions): Promise<T> {
    return this.#transport.request<T>(method, path, options);
  }

  get<T>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.#transport.request<T>('GET', path, { query });
  }

  /** Yields a listing page by page until it ends or `limit` items came. */
  async *pages<T>(
    path: string,
    query: Record<string, string | number | undefined>,
    options: ListOptions,
  ): AsyncGenerator<T[]> {
    const progress = new PageProgress(options.label, this.#progress);
    let count = 0;
    let next: string | undefined;
    try {
      do {
        const page = await this.#transport.request<Page<T>>('GET', path, {
          query: { ...query, limit: Math.min(options.pageSize, options.limit - count), next },
        });
        const items = page.items.slice(0, options.limit - count);
        count += items.length;
        next = page.next ?? undefined;
        progress.page(items.length, next !== undefined && count < options.limit);
        yield items;
      } while (next !== undefined && count < options.limit);
    } finally {
      progress.done();
    }
  }

  /** Every item of a listing, up to `limit`. */
  async list<T>(
    path: string,
    query: Record<string, string | number | undefined>,
    options: ListOptions,
  ): Promise<T[]> {
    const out: T[] = [];
    for await (const items of this.pages<T>(path, query, options)) out.push(...items);
    return out;
  }
}

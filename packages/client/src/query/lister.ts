import {
  type ListDefinition,
  type ListQuery,
  type Page,
  paginate,
  parseInput,
  SimscopeError,
} from '@simscope/protocol';
import { ClientError } from '../errors.js';
import type { HttpTransport, RetryOptions } from '../http-transport.js';
import type { ColumnSpec } from './columns.js';
import { type ListRouteName, requestPage } from './list-request.js';
import { ListResult, type ListState, sameQuery } from './list-result.js';
import { type ProgressOptions, progressReporter } from './progress.js';

/** A list of the API as the client pages it: the protocol's definition and the columns of its rows. */
export interface ListSpec<In, Out, T> extends ListDefinition<In, Out> {
  columns: readonly ColumnSpec<T>[];
}

/** A list whose rows have an id (or a key of a few parts) and a route that reads one row by it. */
export interface KeyedListSpec<In, Out, T, Key, One = T> extends ListSpec<In, Out, T> {
  get(transport: HttpTransport, key: Key, retries?: Partial<RetryOptions>): Promise<One>;
}

export interface GetOptions {
  /** This call's retries. */
  retries?: Partial<RetryOptions>;
}

export interface ListOptions {
  /** Page size (the server's default when absent). */
  limit?: number;
  /** Cursor from a previous page's `next`. */
  next?: string | null;
  /** This call's retries. */
  retries?: Partial<RetryOptions>;
}

export interface ListAllOptions<T> extends ProgressOptions {
  /** Rows per request; default the largest the server gives. */
  pageSize?: number;
  /** Stop after this many pages (in this call); the result then has `complete: false` and a cursor. */
  maxPages?: number;
  /** On an error, return what was fetched with the error and the cursor, instead of throwing. */
  keepFailed?: boolean;
  /** Carry on from a result (or its JSON) of the same listing, without fetching its pages again. */
  resumeFrom?: ListResult<T> | ListState<T>;
  retries?: Partial<RetryOptions>;
}

/**
 * `list` (one page) and `listAll` (every page) over one list of the API, with typed filters the server applies.
 *
 * @example
 * const failed = await client.runs.listAll({ status__in: ['failed', 'lost'], created__gte: '24h' }, { maxPages: 5 });
 */
export class Lister<In, T, Out = unknown> {
  readonly #transport: HttpTransport;
  readonly #spec: ListSpec<In, Out, T>;
  readonly #defaults: ProgressOptions;

  constructor(transport: HttpTransport, spec: ListSpec<In, Out, T>, defaults: ProgressOptions = {}) {
    this.#transport = transport;
    this.#spec = spec;
    this.#defaults = defaults;
  }

  #request(filters: In): { path: string; query: ListQuery } {
    const parsed = parseInput(this.#spec.filters, filters ?? {}, 'filters');
    return { path: this.#spec.path(parsed), query: this.#spec.query(parsed) };
  }

  #page(
    path: string,
    query: ListQuery,
    limit: number | undefined,
    next: string | null,
    retries?: Partial<RetryOptions>,
  ): Promise<Page<T>> {
    const route = this.#spec.route as ListRouteName;
    return requestPage(
      this.#transport,
      route,
      path,
      { ...query, limit, next: next ?? undefined },
      retries,
    ) as Promise<Page<T>>;
  }

  /** One page of rows. */
  async list(filters: In, options: ListOptions = {}): Promise<ListResult<T>> {
    const { path, query } = this.#request(filters);
    const page = await this.#page(path, query, options.limit, options.next ?? null, options.retries);
    return new ListResult(
      {
        list: this.#spec.name,
        path,
        query,
        items: page.items,
        next: page.next,
        complete: page.next === null,
        pages: 1,
        error: null,
      },
      this.#spec.columns,
    );
  }

  /** Pages as they arrive, for listings too large to hold at once. */
  pages(
    filters: In,
    options: Omit<ListAllOptions<T>, 'keepFailed' | 'resumeFrom'> = {},
  ): AsyncGenerator<T[]> {
    const { path, query } = this.#request(filters);
    const limit = options.pageSize ?? this.#spec.pageMax;
    return paginate((next) => this.#page(path, query, limit, next, options.retries), {
      maxPages: options.maxPages,
    });
  }

  /** Every page (up to `maxPages`), as one result; draws a progress bar on stderr when it is a terminal. */
  async listAll(filters: In, options: ListAllOptions<T> = {}): Promise<ListResult<T>> {
    const { path, query } = this.#request(filters);
    const from = options.resumeFrom;
    const state = {
      list: this.#spec.name,
      path,
      query,
      items: [] as T[],
      next: null as string | null,
      complete: false,
      pages: 0,
    };
    if (from) {
      if (from.list !== state.list || from.path !== path || !sameQuery(from.query, query)) {
        throw new SimscopeError(
          'invalid_cursor',
          `resumeFrom: that result lists ${from.list} at ${from.path} with ${JSON.stringify(from.query)}, not ${path} with ${JSON.stringify(query)}; pass the same filters`,
        );
      }
      state.items = [...from.items];
      state.next = from.next;
      state.pages = from.pages;
      state.complete = from.complete;
    }
    const report = progressReporter({
      onProgress: options.onProgress ?? this.#defaults.onProgress,
      progress: options.progress ?? this.#defaults.progress,
    });
    const start = Date.now();
    const pagesBefore = state.pages;
    const progress = (done: boolean) => {
      const more = state.complete ? 0 : 1;
      let total = state.pages + more;
      if (options.maxPages !== undefined) total = Math.min(total, pagesBefore + options.maxPages);
      report?.({
        list: state.list,
        pages: state.pages,
        totalPages: Math.max(total, state.pages),
        items: state.items.length,
        done,
        elapsedMs: Date.now() - start,
      });
    };
    const limit = options.pageSize ?? this.#spec.pageMax;
    let error: ClientError | null = null;
    const fetchPage = async (next: string | null) => {
      const page = await this.#page(path, query, limit, next, options.retries);
      state.next = page.next;
      state.complete = page.next === null;
      return page;
    };
    try {
      if (!state.complete) {
        for await (const items of paginate(fetchPage, { start: state.next, maxPages: options.maxPages })) {
          for (const item of items) state.items.push(item);
          state.pages++;
          progress(false);
        }
      }
    } catch (caught) {
      if (!options.keepFailed) throw caught;
      error =
        caught instanceof ClientError
          ? caught
          : new ClientError('internal', (caught as Error).message ?? String(caught), 0, { cause: caught });
    }
    progress(true);
    return new ListResult({ ...state, error }, this.#spec.columns);
  }
}

/**
 * A {@link Lister} whose rows can also be read one at a time, as DIALS's `dials.run.get(...)`: by id (or name),
 * or by the parts of its key (`{ run, name }`). A missing one rejects with a `ClientError`, status 404.
 *
 * @example
 * const run = await client.runs.get('cavity-re100');
 * const loss = await client.metricNames.get({ run: run.id, name: 'loss' });
 */
export class KeyedLister<In, T, Key, One = T> extends Lister<In, T> {
  readonly #transport: HttpTransport;
  readonly #get: KeyedListSpec<In, unknown, T, Key, One>['get'];

  constructor(
    transport: HttpTransport,
    spec: KeyedListSpec<In, unknown, T, Key, One>,
    defaults: ProgressOptions = {},
  ) {
    super(transport, spec, defaults);
    this.#transport = transport;
    this.#get = spec.get;
  }

  /** One row by its id or key. */
  async get(key: Key, options: GetOptions = {}): Promise<One> {
    return this.#get(this.#transport, key, options.retries);
  }
}

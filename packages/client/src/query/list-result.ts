import type { ErrorCode, ListQuery } from '@simscope/protocol';
import type { ClientError } from '../errors.js';
import { type ArrowTable, loadArrow, tableOf } from './arrow.js';
import { type ColumnSpec, columnsOf } from './columns.js';
import { csvLines, joinLines, jsonLines, type WriteTarget, writeLines } from './writers.js';

/** A listing as plain JSON: what `JSON.stringify(result)` writes and `resumeFrom` takes back, in any process. */
export interface ListState<T> {
  list: string;
  path: string;
  query: ListQuery;
  items: T[];
  /** Cursor of the next page; null with `complete: false` means from the first page. */
  next: string | null;
  complete: boolean;
  pages: number;
  error?: { code: ErrorCode; message: string; status: number } | null;
}

/**
 * Rows of a list, fetched page by page: the items, the cursor to carry on from, and the error that stopped
 * the listing when `keepFailed` was set. Converts to an Arrow table, CSV or JSON lines.
 */
export class ListResult<T> {
  readonly list: string;
  readonly path: string;
  readonly query: ListQuery;
  readonly items: T[];
  /** Cursor of the next page, for `resumeFrom` (null once complete, or before the first page arrived). */
  readonly next: string | null;
  /** True when every page was fetched. */
  readonly complete: boolean;
  /** Pages fetched, those of the listings this one resumed included. */
  readonly pages: number;
  /** What stopped the listing (with `keepFailed`), else null. */
  readonly error: ClientError | null;
  readonly #columns: readonly ColumnSpec<T>[];

  constructor(
    state: Omit<ListState<T>, 'error'> & { error: ClientError | null },
    columns: readonly ColumnSpec<T>[],
  ) {
    this.list = state.list;
    this.path = state.path;
    this.query = state.query;
    this.items = state.items;
    this.next = state.next;
    this.complete = state.complete;
    this.pages = state.pages;
    this.error = state.error;
    this.#columns = columns;
  }

  get length(): number {
    return this.items.length;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.items[Symbol.iterator]();
  }

  /** The items as an Apache Arrow table (needs the optional `apache-arrow` package). */
  async toArrow(): Promise<ArrowTable> {
    return tableOf(await loadArrow(), columnsOf(this.items, this.#columns));
  }

  /** The items as CSV: one column per field, metadata spread into `metadata.KEY` columns. */
  toCsv(): string {
    return joinLines(csvLines(columnsOf(this.items, this.#columns), this.items.length));
  }

  async writeCsv(target: WriteTarget): Promise<void> {
    await writeLines(target, csvLines(columnsOf(this.items, this.#columns), this.items.length));
  }

  /** The items as JSON lines, exactly as the API returns them. */
  toJsonl(): string {
    return joinLines(jsonLines(this.items));
  }

  async writeJsonl(target: WriteTarget): Promise<void> {
    await writeLines(target, jsonLines(this.items));
  }

  toJSON(): ListState<T> {
    return {
      list: this.list,
      path: this.path,
      query: this.query,
      items: this.items,
      next: this.next,
      complete: this.complete,
      pages: this.pages,
      error: this.error && { code: this.error.code, message: this.error.message, status: this.error.status },
    };
  }
}

/** Whether two wire queries ask for the same rows (absent and undefined parameters alike). */
export function sameQuery(a: ListQuery, b: ListQuery): boolean {
  const norm = (q: ListQuery) =>
    JSON.stringify(
      Object.entries(q)
        .filter(([, v]) => v !== undefined)
        .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
    );
  return norm(a) === norm(b);
}

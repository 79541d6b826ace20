/** Parameters of one SQL statement, written with `?` placeholders. */
export type SqlParam = string | number | bigint | boolean | null | Uint8Array;

/** A row as the driver returns it. */
export type SqlRow = Record<string, unknown>;

/** The few operations the SQL store needs from a database driver; one class per backend. */
export interface SqlDriver {
  readonly dialect: Dialect;
  all<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
  get<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlParam[]): Promise<T | undefined>;
  run(sql: string, params?: readonly SqlParam[]): Promise<number>;
  exec(sql: string): Promise<void>;
  /** Runs `fn` in one transaction; no other statement of this driver interleaves with it. */
  transaction<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** Connections open and idle, and callers waiting for one (or for SQLite's write lock); for metrics. */
  usage?(): { open: number; idle: number; waiting: number };
}

/** What differs between the SQL the backends speak. */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** DDL types: auto-increment key, 64-bit int, double, text, bytes, JSON. */
  readonly types: { pk: string; int: string; real: string; text: string; bytes: string; json: string };
  /** JSON value at `path` of `column` as a number, NULL when it is not a number. */
  jsonNumber(column: string, path: readonly string[]): string;
  /** JSON value at `path` as text, NULL when it is not a string. */
  jsonString(column: string, path: readonly string[]): string;
  /** JSON value at `path` as a boolean (1/0 or true/false), NULL when it is not a boolean. */
  jsonBoolean(column: string, path: readonly string[]): string;
  /** True when `path` exists in the JSON of `column` (even as null). */
  jsonExists(column: string, path: readonly string[]): string;
  /** True when the JSON string array in `column` holds the parameter that follows. */
  jsonArrayHas(column: string): string;
  /** Case-insensitive substring test of `expr` against the next parameter (already wrapped in %). */
  ilike(expr: string): string;
  /** True when `expr` matches the regular expression in the next parameter (NULL when `expr` is NULL). */
  regex(expr: string): string;
  /** Expression that turns a bound JSON text parameter into the column's JSON type. */
  jsonParam(): string;
  /** Expression that reads a JSON column back as JSON text. */
  jsonOut(column: string): string;
  /** A JSON column as a JSON value (not a string) inside `jsonArrayAgg`. */
  jsonElement(column: string): string;
  /** A number column as a JSON value inside `jsonArrayAgg`: NaN and infinities as the strings 'NaN', 'Infinity'. */
  jsonNumberElement(expr: string): string;
  /**
   * Aggregate of `expr` over the rows of a subquery as JSON array text ('[]' when none), in `orderBy` order:
   * the subquery must already be sorted by it (SQLite keeps a sorted subquery's order; PostgreSQL is told again).
   */
  jsonArrayAgg(expr: string, orderBy: string): string;
  /** Suffix of a SELECT that locks the rows it reads until the transaction ends ('' where writes are serial). */
  readonly forUpdate: string;
}

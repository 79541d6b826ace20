import type { SqlDriver } from './sql-driver.js';

/** A column value as a number (the drivers return bigint, string or number). */
export const num = (v: unknown): number => Number(v);

export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** A JSON column's value, or `fallback` when it is NULL. */
export function parseJson<T>(v: unknown, fallback: T): T {
  if (v === null || v === undefined) return fallback;
  return JSON.parse(String(v)) as T;
}

/** The last element of a JSON array of numbers (no need to parse the rest). */
export const lastNumber = (array: string): number =>
  Number(array.slice(Math.max(array.lastIndexOf(','), 0) + 1, -1));

/** Escapes `%`, `_` and `\` for a LIKE pattern that contains `text`. */
export const containsPattern = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** True for a unique-constraint violation from either backend. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** True for a foreign-key violation from either backend. */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** Claims (run, writer, kind, seq) for an ingest batch inside `tx`; false when it was stored before. */
export async function claimBatch(
  tx: SqlDriver,
  runPk: number,
  kind: 'metrics' | 'events',
  key: { writer: string; seq: number },
): Promise<boolean> {
  const inserted = await tx.run(
    'INSERT INTO ingest_batches (run_pk, writer, kind, seq) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    [runPk, key.writer, kind, key.seq],
  );
  return inserted > 0;
}

import { SimscopeError } from '@simscope/protocol';

/** An opaque, stateless page position: the sort key of the last row, as base64url JSON. */
export function encodeCursor(position: unknown[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** What one entry of a cursor holds: text without NUL, or a whole number within ±(2^53 − 1). */
export type CursorPart = 'string' | 'integer';

type CursorValue<P> = P extends 'integer' ? number : string;
type CursorValues<S extends readonly CursorPart[]> = { -readonly [K in keyof S]: CursorValue<S[K]> };

const CURSOR_TYPES: Record<CursorPart, (value: unknown) => boolean> = {
  string: (v) => typeof v === 'string' && !v.includes('\u0000'),
  integer: (v) => Number.isSafeInteger(v),
};

/**
 * Reads a cursor written by `encodeCursor` whose entries are of the types in `shape`; anything else (a crafted or
 * damaged cursor) is an `invalid_cursor` error, so no value of a type the listing does not expect reaches a query.
 *
 * @example
 * const [timestamp, pk] = decodeCursor(query.next, ['integer', 'integer']);
 */
export function decodeCursor<const S extends readonly CursorPart[]>(
  cursor: string,
  shape: S,
): CursorValues<S> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (
    Array.isArray(value) &&
    value.length === shape.length &&
    shape.every((part, i) => CURSOR_TYPES[part](value[i]))
  ) {
    return value as CursorValues<S>;
  }
  throw new SimscopeError(
    'invalid_cursor',
    "query.next: not a cursor this listing returned; pass 'next' as given",
  );
}

/**
 * One page of a listing read with `limit + 1` rows: the first `limit` as items, and the cursor at the last of
 * them when a further row shows there is more (null on the last page).
 */
export function pageOf<R, V>(
  rows: R[],
  limit: number,
  view: (row: R) => V,
  position: (last: R) => unknown[],
): { items: V[]; next: string | null } {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page.at(-1);
  return { items: page.map((row) => view(row)), next: more && last ? encodeCursor(position(last)) : null };
}

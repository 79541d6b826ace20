import { SimscopeError } from '@simscope/protocol';

/** An opaque, stateless page position: the sort key of the last row, as base64url JSON. */
export function encodeCursor(position: unknown[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** Reads a cursor written by `encodeCursor`, checking it has `length` entries. */
export function decodeCursor(cursor: string, length: number): unknown[] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === length) return value;
  } catch {
    // reported below
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

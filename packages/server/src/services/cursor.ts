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

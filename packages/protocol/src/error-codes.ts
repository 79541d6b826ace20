/** Stable error codes carried by every Simscope error, on the wire and in code. */
export const ERROR_CODES = [
  'bad_request',
  'invalid_body',
  'invalid_field',
  'invalid_filter',
  'invalid_cursor',
  'payload_too_large',
  'unsupported_media_type',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'invalid_transition',
  'checksum_mismatch',
  'range_not_satisfiable',
  'quota_exceeded',
  'rate_limited',
  'internal',
  'unavailable',
  'database_busy',
  'storage_full',
  'header_too_large',
  'missing_dependency',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** HTTP status that each error code is answered with. */
export const ERROR_STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  invalid_body: 400,
  invalid_field: 400,
  invalid_filter: 400,
  invalid_cursor: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  invalid_transition: 409,
  checksum_mismatch: 400,
  range_not_satisfiable: 416,
  quota_exceeded: 413,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
  /** Another process holds the SQLite write lock; retry after the Retry-After seconds. */
  database_busy: 503,
  /** The disk (or the database's storage) is full; nothing was stored, retry after Retry-After seconds. */
  storage_full: 507,
  header_too_large: 431,
  /** Client side only: an optional package (such as apache-arrow) is not installed. */
  missing_dependency: 500,
};

/** Body of every error response: `{ "error": { code, message, details? } }`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** Stable codes carried by every recorder error; safe to branch on. */
export const RECORDER_ERROR_CODES = [
  'invalid_key',
  'invalid_value',
  'invalid_option',
  'key_not_found',
  'key_conflict',
  'dtype_mismatch',
  'shape_mismatch',
  'out_of_range',
  'read_only',
  'file_not_found',
  'file_invalid',
  'hdf5_error',
  'redis_unreachable',
  'redis_auth_failed',
  'redis_error',
  'module_missing',
  'unsupported',
  'closed',
] as const;

export type RecorderErrorCode = (typeof RECORDER_ERROR_CODES)[number];

/** Base of every error the recorder throws; `code` is stable, `message` is for people. */
export class RecorderError extends Error {
  readonly code: RecorderErrorCode;

  constructor(code: RecorderErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RecorderError';
    this.code = code;
  }
}

/** A value whose dtype, kind or shape differs from what the key already holds. */
export class TypeMismatchError extends RecorderError {
  constructor(code: 'dtype_mismatch' | 'shape_mismatch', message: string) {
    super(code, message);
    this.name = 'TypeMismatchError';
  }
}

/** A datastore that cannot be reached or opened (missing file, Redis down, bad password). */
export class DatastoreUnavailableError extends RecorderError {
  constructor(
    code: 'file_not_found' | 'file_invalid' | 'redis_unreachable' | 'redis_auth_failed',
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(code, message, options);
    this.name = 'DatastoreUnavailableError';
  }
}

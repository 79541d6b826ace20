import type { ErrorCode } from './error-codes.js';

/** Base of every Simscope error; `code` is stable and safe to branch on. */
export class SimscopeError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SimscopeError';
    this.code = code;
    this.details = options.details;
  }
}

/** A filter string that does not parse or names an unknown field; `position` is a 0-based column. */
export class FilterError extends SimscopeError {
  readonly position: number;

  constructor(message: string, position: number) {
    super('invalid_filter', `${message} (at column ${position + 1})`, { details: { position } });
    this.name = 'FilterError';
    this.position = position;
  }
}

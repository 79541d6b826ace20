import { type ErrorCode, SimscopeError } from '@simscope/protocol';

/** An error answered by the server (or met on the way to it); `status` is the HTTP status, 0 for none. */
export class ClientError extends SimscopeError {
  readonly status: number;

  constructor(
    code: ErrorCode,
    message: string,
    status: number,
    options: { cause?: unknown; details?: unknown } = {},
  ) {
    super(code, message, options);
    this.name = 'ClientError';
    this.status = status;
  }
}

export { SimscopeError };

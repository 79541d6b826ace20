import { type ErrorCode, SimscopeError } from '@simscope/protocol';

/** A mistake in how the command was called: a bad flag value, a missing argument. Exits with code 2. */
export class UsageError extends SimscopeError {
  readonly exitCode = 2;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super('invalid_field', message, options);
    this.name = 'UsageError';
  }
}

/** A failure with a chosen exit code. */
export class CliError extends SimscopeError {
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, exitCode = 1, options: { cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

import type { ErrorCode } from '@simscope/protocol';

/**
 * An error of the telemetry package, with a stable `code` as every Simscope error has. Thrown only for mistakes
 * in setting telemetry up (an unknown service, a bad registry); sending never throws into the caller.
 */
export class TelemetryError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TelemetryError';
    this.code = code;
    this.details = options.details;
  }
}

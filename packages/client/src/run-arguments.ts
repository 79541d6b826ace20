import { parseDuration } from '@simscope/protocol';
import type { SaveManyOptions, SaveOptions } from './artifacts.js';
import { ClientError } from './errors.js';
import { DEFAULT_HEARTBEAT_TIMEOUT, type InitOptions } from './run-options.js';

/** Seconds to send as a run's heartbeat timeout: the default unless given (at least 4 beats), null when asked. */
export function heartbeatTimeoutOf(
  given: InitOptions['heartbeatTimeout'],
  intervalMs: number,
): number | null {
  if (given === null) return null;
  if (given === undefined) return Math.max(DEFAULT_HEARTBEAT_TIMEOUT, (4 * intervalMs) / 1000);
  const seconds = typeof given === 'string' ? parseDuration(given) : given;
  if (!(Number.isFinite(seconds) && seconds > 0)) {
    throw new ClientError('invalid_field', `heartbeatTimeout: must be more than 0 seconds, got ${given}`, 0);
  }
  return seconds;
}

/** The message of an event given as text or an `Error`; throws on anything else. */
export function eventText(message: unknown): string {
  if (typeof message === 'string') return message;
  if (message instanceof Error) return errorText(message);
  throw new ClientError(
    'invalid_field',
    `logEvent message: expected text or an Error, got ${message === null ? 'null' : typeof message}`,
    0,
  );
}

/** An error as an event message: its stack, which V8 starts with its name and message, or those alone. */
function errorText(error: Error): string {
  const head = `${error.name}: ${error.message}`;
  const stack = typeof error.stack === 'string' ? error.stack : '';
  return stack.startsWith(head) ? stack : stack ? `${head}\n${stack}` : head;
}

/**
 * The options of a save call given as an object, or Simvue's way as (MIME type, preserve path); throws on
 * anything JavaScript would otherwise ignore.
 */
export function saveOptions<T extends SaveManyOptions | SaveOptions>(
  method: string,
  options: T | string,
  preservePath: boolean | undefined,
  count: number,
): T {
  const usage = `run.${method}(path, category, { mimeType, preservePath, … }) or (path, category, mimeType, preservePath)`;
  if (count > 4) {
    throw new ClientError(
      'invalid_field',
      `run.${method}: takes at most 4 arguments, got ${count}; use ${usage}`,
      0,
    );
  }
  if (preservePath !== undefined && typeof preservePath !== 'boolean') {
    throw new ClientError(
      'invalid_field',
      `run.${method} preservePath: expected true or false, got ${typeof preservePath}; use ${usage}`,
      0,
    );
  }
  if (typeof options === 'string')
    return { mimeType: options, ...(preservePath ? { preservePath } : {}) } as T;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ClientError(
      'invalid_field',
      `run.${method} options: expected an object or a MIME type, got ${options === null ? 'null' : typeof options}; use ${usage}`,
      0,
    );
  }
  if (preservePath !== undefined) {
    throw new ClientError(
      'invalid_field',
      `run.${method}: preservePath goes in the options object when options are an object; use ${usage}`,
      0,
    );
  }
  return options;
}

import { SimscopeError } from '@simscope/protocol';

interface DomainErrorOptions {
  details?: unknown;
  cause?: unknown;
}

/**
 * Something named does not exist in the caller's workspace: `<entity> '<id>' not found`, or `how` in place of
 * `not found` for a missing relation (`alert 'a' is not attached to run 'r'`). Answered as `not_found` (404).
 *
 * @example throw new NotFoundError('run', idOrName);
 */
export class NotFoundError extends SimscopeError {
  readonly entity: string;
  readonly id: string;

  constructor(entity: string, id: string, how = 'not found', options: DomainErrorOptions = {}) {
    super('not_found', `${entity} '${id}' ${how}`, options);
    this.name = 'NotFoundError';
    this.entity = entity;
    this.id = id;
  }
}

/** The request contradicts what is stored (a different definition under the same name, a folder not empty). */
export class ConflictError extends SimscopeError {
  constructor(message: string, options: DomainErrorOptions = {}) {
    super('conflict', message, options);
    this.name = 'ConflictError';
  }
}

/** The change is not allowed from the current state (an ended run, a state set on an evaluated alert). */
export class InvalidTransitionError extends SimscopeError {
  constructor(message: string, options: DomainErrorOptions = {}) {
    super('invalid_transition', message, options);
    this.name = 'InvalidTransitionError';
  }
}

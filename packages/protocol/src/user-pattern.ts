import { RE2JS, RE2JSSyntaxException } from 're2js';
import type { ErrorCode } from './error-codes.js';
import { SimscopeError } from './errors.js';

/**
 * Most instructions a user pattern may compile to: enough for any literal within the length limits (one
 * instruction a character). Matching is linear in the text, but each character can visit every instruction
 * once the automaton's cache overflows, so large counted repetitions (`(ab|ba){1,500}`) are refused: past a
 * few thousand a 64 KiB text takes seconds, and PostgreSQL, which compiles the pattern its own way, too.
 */
export const USER_PATTERN_PROGRAM_SIZE = 1200;

/** A compiled user pattern: an RE2 regular expression, matched in time linear in the text. */
export interface UserPattern {
  readonly source: string;
  /** True when the pattern matches anywhere in `text`, as `RegExp.prototype.test` without flags. */
  test(text: string): boolean;
}

function explain(error: unknown): string {
  if (!(error instanceof RE2JSSyntaxException)) return (error as Error).message;
  const fragment = error.getPattern() ?? '';
  if (/^\\([1-9]|k)/.test(fragment)) {
    return `backreferences such as ${fragment.slice(0, 2)} are not supported (patterns are RE2 syntax, matched in linear time)`;
  }
  if (/^\(\?<?[=!]/.test(fragment)) {
    return 'lookahead and lookbehind such as (?= or (?<! are not supported (patterns are RE2 syntax, matched in linear time)';
  }
  if (error.getDescription() === 'expression too large') {
    return `the pattern is too large; write smaller counted repetitions such as {1,100}`;
  }
  return error.message.replace(/^error parsing regexp: /, '');
}

function compile(pattern: string): RE2JS | string {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (error) {
    return explain(error);
  }
  const size = re.programSize();
  if (size > USER_PATTERN_PROGRAM_SIZE) {
    return `the pattern is too large: it compiles to ${size} instructions, at most ${USER_PATTERN_PROGRAM_SIZE}; write smaller counted repetitions such as {1,100}`;
  }
  return re;
}

/** Why `pattern` cannot run as a user pattern (RE2 syntax, bounded size), or null when it can. */
export function userPatternProblem(pattern: string): string | null {
  const compiled = compile(pattern);
  return typeof compiled === 'string' ? compiled : null;
}

/**
 * Compiles a pattern a user supplied; a pattern RE2 cannot express (backreferences, lookaround) or too
 * large is a `code` error whose message starts with `field`.
 *
 * @example
 * compileUserPattern('^cavity-[0-9]+$', 'query.regex').test('cavity-12'); // true
 */
export function compileUserPattern(
  pattern: string,
  field: string,
  code: ErrorCode = 'invalid_field',
): UserPattern {
  const compiled = compile(pattern);
  if (typeof compiled === 'string') {
    throw new SimscopeError(code, `${field}: invalid regular expression: ${compiled}`, {
      details: { field, pattern },
    });
  }
  return { source: pattern, test: (text) => compiled.test(text) };
}

/** Compiled user patterns by source, the least recently used dropped past `max`. */
export class UserPatternCache {
  readonly #max: number;
  readonly #field: string;
  readonly #code: ErrorCode;
  readonly #patterns = new Map<string, UserPattern>();

  /** Errors name `field` with `code`, as in `compileUserPattern`. */
  constructor(options: { max?: number; field: string; code?: ErrorCode }) {
    this.#max = options.max ?? 64;
    this.#field = options.field;
    this.#code = options.code ?? 'invalid_field';
  }

  get size(): number {
    return this.#patterns.size;
  }

  get(pattern: string): UserPattern {
    const found = this.#patterns.get(pattern);
    if (found) {
      this.#patterns.delete(pattern);
      this.#patterns.set(pattern, found);
      return found;
    }
    const compiled = compileUserPattern(pattern, this.#field, this.#code);
    if (this.#patterns.size >= this.#max) {
      const oldest = this.#patterns.keys().next();
      if (!oldest.done) this.#patterns.delete(oldest.value);
    }
    this.#patterns.set(pattern, compiled);
    return compiled;
  }
}

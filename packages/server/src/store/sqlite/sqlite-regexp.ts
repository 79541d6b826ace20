import { UserPatternCache } from '@simscope/protocol';
import type { Database } from 'better-sqlite3';

/**
 * Gives SQLite the `REGEXP` operator over user patterns (RE2 syntax, linear time): `X REGEXP Y` calls
 * `regexp(Y, X)`. Patterns are checked where they enter (filters, `query.regex`); one that is not still
 * fails the statement with a 400 rather than running.
 */
export function registerRegexp(db: Database): void {
  const patterns = new UserPatternCache({ field: 'regular expression', code: 'invalid_filter' });
  db.function('regexp', { deterministic: true }, (pattern: unknown, value: unknown) => {
    if (pattern === null || value === null) return null;
    return patterns.get(String(pattern)).test(String(value)) ? 1 : 0;
  });
}

import type { Database } from 'better-sqlite3';

const CACHE_MAX = 256;

/**
 * Gives SQLite the `REGEXP` operator, with JavaScript regular expressions (`u` flag): `X REGEXP Y` calls
 * `regexp(Y, X)`. Patterns are checked where they enter (filters), so a bad one never reaches here.
 */
export function registerRegexp(db: Database): void {
  const compiled = new Map<string, RegExp>();
  db.function('regexp', { deterministic: true }, (pattern: unknown, value: unknown) => {
    if (pattern === null || value === null) return null;
    const source = String(pattern);
    let re = compiled.get(source);
    if (re === undefined) {
      re = new RegExp(source, 'u');
      if (compiled.size >= CACHE_MAX) compiled.clear();
      compiled.set(source, re);
    }
    return re.test(String(value)) ? 1 : 0;
  });
}

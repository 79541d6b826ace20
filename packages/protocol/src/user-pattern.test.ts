import { describe, expect, it } from 'vitest';
import { ALERT_PATTERN_LENGTH } from './alerts.js';
import { SimscopeError } from './errors.js';
import { escapeRegex } from './query/lookups.js';
import {
  compileUserPattern,
  USER_PATTERN_PROGRAM_SIZE,
  UserPatternCache,
  userPatternProblem,
} from './user-pattern.js';

/** Milliseconds `fn` takes. */
function timed(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

describe('user patterns', () => {
  it('matches like an unanchored RegExp test, by code point', () => {
    const cases: [string, string, boolean][] = [
      ['^cavity-[0-9]+$', 'cavity-12', true],
      ['^cavity-[0-9]+$', 'cavity-12x', false],
      ['loss', 'train/loss', true],
      ['Courant number (\\d+\\.\\d+) above', 'Courant number 0.91 above limit', true],
      ['^.$', '😀', true],
      ['^re-(?<kind>step)$', 're-step', true],
      ['(?i)^NAN', 'nan detected', true],
      ['a.b', 'a\nb', false],
      ['^b', 'a\nb', false],
    ];
    for (const [pattern, text, expected] of cases) {
      expect(compileUserPattern(pattern, 'f').test(text), `${pattern} on ${text}`).toBe(expected);
    }
  });

  it('runs the patterns that stall a backtracking engine in linear time', () => {
    const hostile: [string, string][] = [
      ['^(.|.)*Z', 'a'.repeat(27)],
      ['^(a+)+$', `${'a'.repeat(40)}!`],
      ['(x+x+)+y', 'x'.repeat(10_000)],
      ['^(.|.)*Z', 'ab'.repeat(32 * 1024)],
      ['(?i)(AB|BA){1,120}Z', 'ab'.repeat(32 * 1024)],
    ];
    for (const [pattern, text] of hostile) {
      const re = compileUserPattern(pattern, 'f');
      expect(
        timed(() => expect(re.test(text)).toBe(false)),
        pattern,
      ).toBeLessThan(250);
    }
  });

  it('refuses what RE2 cannot express, naming the field and the feature', () => {
    const refused: [string, string][] = [
      ['(a)\\1', 'backreferences such as \\1 are not supported'],
      ['(?<n>a)\\k<n>', 'backreferences such as \\k are not supported'],
      ['foo(?=bar)', 'lookahead and lookbehind such as (?= or (?<! are not supported'],
      ['foo(?!bar)', 'lookahead and lookbehind such as (?= or (?<! are not supported'],
      ['(?<=a)b', 'lookahead and lookbehind such as (?= or (?<! are not supported'],
      ['(?<!a)b', 'lookahead and lookbehind such as (?= or (?<! are not supported'],
      ['(a', 'missing closing ): `(a`'],
      ['[a', 'missing closing ]: `[a`'],
      ['a++', 'invalid nested repetition operator: `++`'],
      ['a{1001}', 'invalid repeat count: `{1001}`'],
      ['(?:a{0,1000}){0,1000}', 'the pattern is too large'],
      [
        '(?i)(AB|BA){1,250}Z',
        `the pattern is too large: it compiles to 2002 instructions, at most ${USER_PATTERN_PROGRAM_SIZE}`,
      ],
    ];
    for (const [pattern, message] of refused) {
      expect(userPatternProblem(pattern), pattern).toContain(message);
      let caught: unknown;
      try {
        compileUserPattern(pattern, 'query.regex');
      } catch (error) {
        caught = error;
      }
      expect(caught, pattern).toBeInstanceOf(SimscopeError);
      expect((caught as SimscopeError).code).toBe('invalid_field');
      expect((caught as SimscopeError).message).toContain(
        `query.regex: invalid regular expression: ${message}`,
      );
    }
    expect(userPatternProblem('^ok$')).toBe(null);
  });

  it('takes any literal within the length limits, and every escaped text', () => {
    expect(userPatternProblem('x'.repeat(ALERT_PATTERN_LENGTH))).toBe(null);
    const text = 'a.b*c+d?e(f)g[h]i{j}k|l^m$n\\o/p-q';
    const re = compileUserPattern(`^${escapeRegex(text)}$`, 'f');
    expect(re.test(text)).toBe(true);
    expect(re.test(text.replace('.', 'x'))).toBe(false);
  });

  it('keeps at most max compiled patterns, dropping the least recently used', () => {
    const cache = new UserPatternCache({ max: 2, field: 'filter', code: 'invalid_filter' });
    const a = cache.get('a');
    cache.get('b');
    expect(cache.get('a')).toBe(a);
    cache.get('c');
    expect(cache.size).toBe(2);
    expect(cache.get('a')).toBe(a);
    expect(() => cache.get('(a)\\1')).toThrow(
      'filter: invalid regular expression: backreferences such as \\1 are not supported',
    );
    expect(cache.size).toBe(2);
  });
});

import { describe, expect, it } from 'vitest';
import {
  compileMetricPattern,
  matchMetricPattern,
  parseNumber,
  parseProtocolLine,
  parseStep,
  pythonToJsPattern,
} from './metric-parser.js';

describe('parseNumber', () => {
  it('reads numbers as simulation codes print them', () => {
    expect(parseNumber('42')).toBe(42);
    expect(parseNumber('-3.25')).toBe(-3.25);
    expect(parseNumber('+.5')).toBe(0.5);
    expect(parseNumber('1e-6')).toBe(1e-6);
    expect(parseNumber('2.5E+3')).toBe(2500);
    expect(parseNumber('1.0D-03')).toBe(0.001);
    expect(parseNumber('-4.5d2')).toBe(-450);
    expect(parseNumber('0.1234-100')).toBe(0.1234e-100);
    expect(parseNumber('7.5+120')).toBe(7.5e120);
    expect(parseNumber(' 12 ')).toBe(12);
    expect(parseNumber('NaN')).toBeNaN();
    expect(parseNumber('nan')).toBeNaN();
    expect(parseNumber('inf')).toBe(Number.POSITIVE_INFINITY);
    expect(parseNumber('-Infinity')).toBe(Number.NEGATIVE_INFINITY);
    expect(parseNumber('+INF')).toBe(Number.POSITIVE_INFINITY);
  });

  it('refuses what is not a number', () => {
    for (const text of ['', 'abc', '1.2.3', '********', '0x10', '1e', '--1', '12abc', '1-2']) {
      expect(parseNumber(text), text).toBeUndefined();
    }
  });

  it('takes whole non-negative steps only', () => {
    expect(parseStep('12')).toBe(12);
    expect(parseStep('0')).toBe(0);
    expect(parseStep('1e3')).toBe(1000);
    expect(parseStep('-1')).toBeUndefined();
    expect(parseStep('1.5')).toBeUndefined();
    expect(parseStep('nan')).toBeUndefined();
  });
});

describe('parseProtocolLine', () => {
  it('reads the step and every other pair as a metric', () => {
    expect(parseProtocolLine('@simscope step=12 energy=-3.2 residual=1e-6')).toEqual({
      step: 12,
      values: { energy: -3.2, residual: 1e-6 },
    });
    expect(parseProtocolLine('  \t@simscope   residual/p=0.5\tcfl=0.41  ')).toEqual({
      values: { 'residual/p': 0.5, cfl: 0.41 },
    });
  });

  it('ignores other lines', () => {
    expect(parseProtocolLine('iteration 12 energy=-3.2')).toBeNull();
    expect(parseProtocolLine('@simscopex step=1')).toBeNull();
    expect(parseProtocolLine('x @simscope step=1')).toBeNull();
  });

  it('keeps the good pairs and reports the bad ones', () => {
    expect(parseProtocolLine('@simscope step=1.5 a=1 b=oops =3 c')).toEqual({
      values: { a: 1 },
      invalid: ['step=1.5', 'b=oops', '=3', 'c'],
    });
    expect(parseProtocolLine('@simscope')).toEqual({ values: {} });
  });
});

describe('metric patterns', () => {
  it("turns Python's named groups into JavaScript's", () => {
    expect(pythonToJsPattern('it=(?P<step>\\d+) e=(?P<energy>\\S+)')).toBe(
      'it=(?<step>\\d+) e=(?<energy>\\S+)',
    );
    expect(pythonToJsPattern('(?P<a>x)(?P=a)')).toBe('(?<a>x)\\k<a>');
    expect(pythonToJsPattern('\\(?P<a>x)')).toBe('\\(?P<a>x)');
    expect(pythonToJsPattern('[(?P<]a')).toBe('[(?P<]a');
    expect(pythonToJsPattern('[]](?P<a>x)')).toBe('[]](?<a>x)');
    expect(pythonToJsPattern('(?<b>y)')).toBe('(?<b>y)');
  });

  it('matches a line: step, metrics, and __ as /', () => {
    const re = compileMetricPattern('iter (?P<step>\\d+): res=(?P<residual__p>\\S+) cfl=(?<cfl>\\S+)');
    expect(matchMetricPattern(re, 'iter 7: res=1.0D-04 cfl=0.45')).toEqual({
      step: 7,
      values: { 'residual/p': 1e-4, cfl: 0.45 },
    });
    expect(matchMetricPattern(re, 'no match here')).toBeNull();
    expect(matchMetricPattern(re, 'iter 8: res=****** cfl=0.5')).toEqual({
      step: 8,
      values: { cfl: 0.5 },
      invalid: ['residual/p=******'],
    });
  });

  it('skips groups that took no part in the match', () => {
    const re = compileMetricPattern('(?:a=(?<a>\\d+)|b=(?<b>\\d+))');
    expect(matchMetricPattern(re, 'b=5')).toEqual({ values: { b: 5 } });
  });

  it('refuses a pattern without a metric group, or one that does not compile', () => {
    expect(() => compileMetricPattern('step (?<step>\\d+)')).toThrow(
      "--metrics-regex 'step (?<step>\\d+)': needs a named group for a metric",
    );
    expect(() => compileMetricPattern('(\\d+)')).toThrow('needs a named group');
    expect(() => compileMetricPattern('(?<a>[')).toThrow(
      "--metrics-regex '(?<a>[': Invalid regular expression",
    );
  });
});

import { describe, expect, it } from 'vitest';
import { parseMetadataArgs, parseMetadataValue } from './metadata-args.js';

describe('metadata arguments', () => {
  it('types numbers and booleans, keeps the rest as text', () => {
    expect(
      parseMetadataArgs([
        're=1000',
        'dt=5e-3',
        'neg=-2.5',
        'ok=true',
        'bad=false',
        'solver=piso',
        'v=1.2.3',
        'e=',
        'eq=a=b',
      ]),
    ).toEqual({
      re: 1000,
      dt: 0.005,
      neg: -2.5,
      ok: true,
      bad: false,
      solver: 'piso',
      v: '1.2.3',
      e: '',
      eq: 'a=b',
    });
    expect(parseMetadataValue('True')).toBe('True');
    expect(parseMetadataValue('0x10')).toBe('0x10');
    expect(parseMetadataValue('Infinity')).toBe('Infinity');
    expect(parseMetadataArgs(['a=1', 'a=2'])).toEqual({ a: 2 });
  });

  it('refuses a pair without a key', () => {
    expect(() => parseMetadataArgs(['=1'])).toThrow("--metadata '=1': expected KEY=VALUE");
    expect(() => parseMetadataArgs(['novalue'])).toThrow("--metadata 'novalue': expected KEY=VALUE");
  });
});

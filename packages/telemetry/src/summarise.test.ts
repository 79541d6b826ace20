import { describe, expect, it } from 'vitest';
import { isPlainObject, Summariser } from './summarise.js';

describe('Summariser', () => {
  it('keeps JSON values and tags the rest', () => {
    const s = new Summariser();
    class Mesh {}
    expect(
      s.call(
        [
          'a',
          1,
          true,
          null,
          undefined,
          -0.5,
          Infinity,
          2n,
          Symbol('s'),
          new Date(0),
          /x+/g,
          new Error('bad'),
        ],
        { mesh: new Mesh(), map: new Map([[1, 2]]), set: new Set([1]), bytes: new Uint8Array(3).buffer },
      ),
    ).toEqual({
      args: [
        'a',
        1,
        true,
        null,
        null,
        -0.5,
        'Infinity',
        '2',
        '<Symbol(s)>',
        '1970-01-01T00:00:00.000Z',
        '/x+/g',
        '<Error: bad>',
      ],
      kwargs: { mesh: '<Mesh>', map: '<Map(1)>', set: '<Set(1)>', bytes: '<ArrayBuffer(3)>' },
    });
  });

  it('cuts long strings, long lists, many keys, and stops at its value budget', () => {
    const s = new Summariser({ stringLength: 3, items: 2, values: 5 });
    expect(s.value('abcdef')).toBe('abc…');
    expect(s.value([1, 2, 3, 4])).toEqual([1, 2, '… 2 more']);
    expect(s.value({ a: 1, b: 2, c: 3 })).toEqual({ a: 1, b: 2, '…': '1 more' });
    expect(
      s.call(
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        {},
      ),
    ).toEqual({ args: [[1, 2], [3, '… 1 more'], '… 1 more'], kwargs: {} });
  });

  it('never throws on odd objects', () => {
    const s = new Summariser();
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no');
        },
      },
    );
    const getter = {
      get boom() {
        throw new Error('no');
      },
    };
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(s.value(getter)).toBe('<unreadable>');
    expect(s.call([circular], {}).args).toEqual([{ self: { self: { self: '<Object>' } } }]);
    expect(s.call([], hostile as Record<string, unknown>)).toEqual({ args: ['<unreadable>'], kwargs: {} });
  });

  it('sees named options in plain objects only', () => {
    expect(isPlainObject({ a: 1 })).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
    expect(isPlainObject([])).toBe(false);
    expect(isPlainObject(new Date())).toBe(false);
    expect(isPlainObject(null)).toBe(false);
  });
});

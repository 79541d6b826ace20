import { describe, expect, it } from 'vitest';
import { cleanLine, LineSplitter } from './line-splitter.js';

function split(chunks: (string | Buffer)[], maxLength?: number): string[] {
  return splitInBatches(chunks, maxLength).flat();
}

/** The lines as handed on: one array per chunk that completed a line, one more for the unfinished end. */
function splitInBatches(chunks: (string | Buffer)[], maxLength?: number): string[][] {
  const batches: string[][] = [];
  const splitter = new LineSplitter((lines) => batches.push(lines), maxLength);
  for (const c of chunks) splitter.push(typeof c === 'string' ? Buffer.from(c) : c);
  splitter.end();
  return batches;
}

describe('LineSplitter', () => {
  it('cuts lines across chunks and hands on the last one without a newline', () => {
    expect(split(['a\nb', 'c\n\nd'])).toEqual(['a', 'bc', '', 'd']);
    expect(split(['x\n'])).toEqual(['x']);
    expect(split([])).toEqual([]);
  });

  it('hands on the lines of a chunk together, and nothing for a chunk that ends no line', () => {
    expect(splitInBatches(['a\nb\nc', 'd', 'e\nf\n', 'g'])).toEqual([['a', 'b'], ['cde', 'f'], ['g']]);
  });

  it('with a needle, counts the lines of chunks without it and cuts out those of chunks with it', () => {
    const calls: [string[], number][] = [];
    const splitter = new LineSplitter((lines, skipped) => calls.push([lines, skipped]), 4, '@sim');
    for (const c of ['a\nb\n@s', 'im x\nc\n', 'd\nefghij', 'k\n']) splitter.push(Buffer.from(c));
    splitter.end();
    // 'efghijk' is longer than 4: counted as the pieces 'efgh' and 'ijk', as they would be cut.
    expect(calls).toEqual([
      [[], 2],
      [['@sim', ' x', 'c'], 0],
      [[], 2],
      [[], 1],
    ]);
  });

  it('keeps a UTF-8 character split between chunks whole', () => {
    const bytes = Buffer.from('énergie=−3\n');
    expect(split([bytes.subarray(0, 1), bytes.subarray(1, 9), bytes.subarray(9)])).toEqual(['énergie=−3']);
  });

  it('cuts a line longer than the limit into pieces', () => {
    expect(split(['abcdefg\nhi\n'], 3)).toEqual(['abc', 'def', 'g', 'hi']);
  });
});

describe('cleanLine', () => {
  it('drops escape sequences, a CRLF ending, and all but the last redraw', () => {
    expect(cleanLine('\x1b[1;31merror\x1b[0m: bad')).toBe('error: bad');
    expect(cleanLine('\x1b]0;title\x07text')).toBe('text');
    expect(cleanLine('line\r')).toBe('line');
    expect(cleanLine(' 10%\r 50%\r100%')).toBe('100%');
    expect(cleanLine('plain')).toBe('plain');
  });
});

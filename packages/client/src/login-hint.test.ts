import { describe, expect, it } from 'vitest';
import { suggestLogin } from './config.js';

describe('suggestLogin', () => {
  const url = 'http://127.0.0.1:9';
  const collect = () => {
    const lines: string[] = [];
    return { lines, out: { write: (text: string) => lines.push(text) } };
  };

  it('suggests simscope login to a person at a terminal when no token was found', () => {
    const { lines, out } = collect();
    expect(suggestLogin({ url, token: undefined, workspace: undefined }, out, true)).toBe(true);
    expect(lines).toEqual([
      `simscope: no saved credentials for ${url}; sign in with: simscope login --url ${url}\n`,
    ]);
  });

  it('says nothing without a terminal or with a token', () => {
    const { lines, out } = collect();
    expect(suggestLogin({ url, token: undefined, workspace: undefined }, out, false)).toBe(false);
    expect(suggestLogin({ url, token: 'ssk_x', workspace: undefined }, out, true)).toBe(false);
    expect(lines).toEqual([]);
  });
});

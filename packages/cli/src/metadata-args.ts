import type { Json } from '@simscope/protocol';
import { UsageError } from './errors.js';

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** A metadata value from the command line: a number or `true` / `false` when it reads as one, else text. */
export function parseMetadataValue(text: string): Json {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (NUMBER.test(text)) {
    const n = Number(text);
    if (Number.isFinite(n)) return n;
  }
  return text;
}

/** `['re=1000', 'solver=piso']` → `{ re: 1000, solver: 'piso' }`; a later key wins. */
export function parseMetadataArgs(pairs: readonly string[]): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--metadata '${pair}': expected KEY=VALUE`);
    out[pair.slice(0, eq)] = parseMetadataValue(pair.slice(eq + 1));
  }
  return out;
}
